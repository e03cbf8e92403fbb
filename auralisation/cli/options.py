"""Command-line options that several subcommands share: the model (a folder or a .keras file), layers and features."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

from ..audio import AudioConfig
from ..errors import ModelError, ParameterError
from ..io import TrainedModel, load_model

__all__: list[str] = []


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` (a model folder or a ``.keras`` file) and the audio settings of a lone ``.keras`` file."""
    parser.add_argument("--model", required=True, type=Path,
                        help="a saved model folder (train --out), your own .keras file, or a pretrained tagger "
                             "musicnn:NAME (MSD_vgg, MTT_vgg, MSD_musicnn, MTT_musicnn)")
    settings = parser.add_argument_group("audio settings of a lone .keras file (a model folder carries its own)")
    settings.add_argument("--config", type=Path, help="an AudioConfig JSON file")
    settings.add_argument("--sr", type=int, help=f"sample rate, Hz (default {AudioConfig.sr})")
    settings.add_argument("--n-fft", type=int, help=f"FFT size (default {AudioConfig.n_fft})")
    settings.add_argument("--hop-length", type=int, help=f"STFT hop, samples (default {AudioConfig.hop_length})")
    settings.add_argument("--duration", type=float, help=f"clip length, seconds (default {AudioConfig.duration})")


def model_from_arguments(args: argparse.Namespace) -> TrainedModel:
    """The model named by :func:`add_model_arguments`'s options.

    Raises
    ------
    ModelError
        Audio settings given with a model folder, or anything :func:`load_model` refuses.
    """
    given = {name: getattr(args, name) for name in ("sr", "n_fft", "hop_length", "duration")}
    given = {name: value for name, value in given.items() if value is not None}
    if not (given or args.config):
        return load_model(args.model)
    if args.model.is_dir():
        raise ModelError(
            f"{args.model} is a model folder, which carries its own audio settings; --config, --sr, --n-fft, "
            "--hop-length and --duration are for a lone .keras file"
        )
    try:
        base = AudioConfig.load(args.config) if args.config else AudioConfig()
        config = dataclasses.replace(base, **given)
    except ValueError as error:
        raise ModelError(str(error)) from error
    return load_model(args.model, config=config)


def _numbers(text: str, what: str) -> list[int | str]:
    """``"1-3,5,pool2"`` -> ``[1, 2, 3, 5, "pool2"]``."""
    items: list[int | str] = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if match:
            first, last = int(match[1]), int(match[2])
            if first > last:
                raise ParameterError(f"{what} range {part!r} runs backwards; write it as {last}-{first}")
            items.extend(range(first, last + 1))
        elif part.isdigit():
            items.append(int(part))
        elif part:
            items.append(part)
        else:
            raise ParameterError(f"empty item in {what} list {text!r}")
    return items


def parse_layers(text: str) -> list[int | str]:
    """Layers from the command line: block numbers, ranges and layer names, e.g. ``"1-5"`` or ``"2,pool4"``."""
    return _numbers(text, "layer")


def parse_features(text: str) -> list[int] | None:
    """Features from the command line: ``"all"`` (None) or numbers and ranges from 0, e.g. ``"3,17"``, ``"0-7"``."""
    if text.strip().lower() == "all":
        return None
    features = _numbers(text, "feature")
    bad = [item for item in features if isinstance(item, str)]
    if bad:
        raise ParameterError(f"features must be 'all' or numbers from 0 (like 3,17 or 0-7); got {bad[0]!r}")
    return [int(item) for item in features]
