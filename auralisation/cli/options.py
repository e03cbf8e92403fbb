"""Options that several subcommands share, so that each means the same thing everywhere.

``--model`` (a folder or a ``.keras`` file with its audio settings), ``--layers`` (block numbers, ranges and
layer names: ``1-5``, ``1,3``, ``2,pool4``), ``--features`` (feature indices from 0: ``3,17``, ``0-7``, ``all``),
``--n-features`` (a count), ``--method`` (the attribution method or rule), ``--seeding`` and ``--quiet``. Nothing
here imports TensorFlow: the model is loaded when a command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..audio import AudioConfig
from ..choices import SEEDINGS
from ..errors import ModelError

if TYPE_CHECKING:
    from ..io import TrainedModel

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
        Audio settings given with a model folder, or anything :func:`~auralisation.io.load_model` refuses.
    """
    from ..io import load_model

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


def _items(text: str, what: str) -> list[int | str]:
    """``"1-3,5,pool2"`` -> ``[1, 2, 3, 5, "pool2"]``."""
    items: list[int | str] = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if match:
            first, last = int(match[1]), int(match[2])
            if first > last:
                raise argparse.ArgumentTypeError(f"{what} range {part!r} runs backwards; write it as {last}-{first}")
            items.extend(range(first, last + 1))
        elif part.isdigit():
            items.append(int(part))
        elif part:
            items.append(part)
        else:
            raise argparse.ArgumentTypeError(f"empty item in the {what} list {text!r}")
    return items


def parse_layers(text: str) -> list[int | str]:
    """``--layers``: block numbers, ranges and layer names.

    Examples
    --------
    >>> parse_layers("1-3,pool5")
    [1, 2, 3, 'pool5']
    """
    return _items(text, "layer")


def parse_features(text: str) -> list[int] | None:
    """``--features``: ``"all"`` (None) or feature indices and ranges from 0.

    Examples
    --------
    >>> parse_features("0-2,17"), parse_features("all")
    ([0, 1, 2, 17], None)
    """
    if text.strip().lower() == "all":
        return None
    features = _items(text, "feature")
    bad = [item for item in features if isinstance(item, str)]
    if bad:
        raise argparse.ArgumentTypeError(f"features are 'all' or indices from 0 (like 3,17 or 0-7); got {bad[0]!r}")
    return [int(item) for item in features]


def add_layers_argument(parser: argparse.ArgumentParser, default: str | None = "1-5") -> None:
    """``--layers``: block numbers, ranges and layer names (:func:`parse_layers`); ``None`` means all blocks."""
    parser.add_argument("--layers", type=parse_layers, default=default, metavar="LAYERS",
                        help="block numbers or layer names, e.g. 1-5, 1,3 or 2,pool4"
                        + ("" if default is not None else " (default: all blocks)"))


def add_features_argument(parser: argparse.ArgumentParser) -> None:
    """``--features``: feature indices from 0 (:func:`parse_features`), ``all`` by default."""
    parser.add_argument("--features", type=parse_features, default=None, metavar="FEATURES",
                        help="feature indices from 0, e.g. 3,17 or 0-7, or all (default: all)")


def add_method_argument(parser: argparse.ArgumentParser, choices: Sequence[str], default: str = "deconvnet") -> None:
    """``--method``: the attribution method (or rule) among ``choices``."""
    parser.add_argument("--method", choices=choices, default=default,
                        help="attribution method: deconvnet (the paper), guided or gradient (ReLU backward rules)"
                        + (", gradcam or occlusion (one feature at a time, slower)" if "gradcam" in choices else ""))


def add_seeding_argument(parser: argparse.ArgumentParser) -> None:
    """``--seeding map|max``: where deconvolution starts."""
    parser.add_argument("--seeding", choices=SEEDINGS, default="map",
                        help="start deconvolution from the whole activation map (the authors) or its maximum "
                             "(Zeiler & Fergus)")


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bars."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
