"""``auralisation predict``: the top classes (tags) of an audio file, for the whole file and for each clip."""

from __future__ import annotations

import argparse

import numpy as np

from ..tagging import load_recording, predict, top_classes
from .options import add_model_arguments, model_from_arguments

__all__: list[str] = []


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation predict``."""
    add_model_arguments(parser)
    parser.add_argument("--audio", required=True, help="audio file to tag")
    parser.add_argument("--top", type=int, default=5, help="classes (tags) to print per line (default 5)")


def _line(probabilities: np.ndarray, classes: list[str], top: int) -> str:
    return ", ".join(f"{name} {p:.2f}" for name, p in top_classes(probabilities, classes, top))


def run_predict(args: argparse.Namespace) -> int:
    """Run ``auralisation predict``: print the file's mean probabilities' top classes, then each clip's."""
    trained = model_from_arguments(args)
    y = load_recording(args.audio, trained)
    probabilities = predict(trained, y)
    seconds = trained.config.duration
    print(f"{args.audio}: {len(probabilities)} clips of {seconds:g} s, model {args.model}")
    print(f"whole file: {_line(probabilities.mean(axis=0), trained.classes, args.top)}")
    for i, row in enumerate(probabilities):
        print(f"{i * seconds:7.2f}-{(i + 1) * seconds:7.2f} s: {_line(row, trained.classes, args.top)}")
    return 0
