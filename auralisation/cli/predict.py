"""``auralisation predict``: the top classes (tags) of an audio file, for the whole file and for each clip."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .options import add_model_arguments, model_from_arguments

__all__: list[str] = []

EXAMPLE = "auralisation predict --model musicnn:MTT_vgg --audio song.mp3 --top 5"


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation predict``."""
    add_model_arguments(parser)
    parser.add_argument("--audio", required=True, help="audio file to tag")
    parser.add_argument("--top", type=int, default=5, help="classes (tags) printed per line")


def _line(probabilities: Sequence[float], classes: list[str], top: int) -> str:
    from ..tagging import top_classes

    return ", ".join(f"{name} {p:.2f}" for name, p in top_classes(probabilities, classes, top))


def run_predict(args: argparse.Namespace) -> int:
    """Run ``auralisation predict``: print the top classes of the file's mean probabilities, then each clip's."""
    from ..tagging import load_recording, predict

    trained = model_from_arguments(args)
    y = load_recording(args.audio, trained)
    probabilities = predict(trained, y)
    seconds = trained.config.duration
    print(f"{args.audio}: {len(probabilities)} clips of {seconds:g} s, model {args.model}")
    print(f"whole file: {_line(probabilities.mean(axis=0), trained.classes, args.top)}")
    for i, row in enumerate(probabilities):
        print(f"{i * seconds:7.2f}-{(i + 1) * seconds:7.2f} s: {_line(row, trained.classes, args.top)}")
    return 0
