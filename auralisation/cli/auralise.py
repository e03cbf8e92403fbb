"""``auralisation auralise``: explain and auralise the features of a trained model on one clip."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import LOUDNESS, METHODS
from .options import (
    add_features_argument,
    add_layers_argument,
    add_method_argument,
    add_model_arguments,
    add_quiet_argument,
    add_seeding_argument,
    model_from_arguments,
)

__all__: list[str] = []

EXAMPLE = ("auralisation auralise --model models/choi2016 --audio song.wav --layers 1-5 --features 0-7 "
           "--out results/auralised")


def add_auralise_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation auralise``."""
    add_model_arguments(parser)
    parser.add_argument("--audio", required=True, help="audio file to explain")
    parser.add_argument("--offset", type=float, default=0.0, help="start of the clip in the file, seconds")
    add_layers_argument(parser)
    add_features_argument(parser)
    add_seeding_argument(parser)
    add_method_argument(parser, METHODS)
    parser.add_argument("--route", choices=("transpose", "pinv"), default="transpose",
                        help="for a model with a filterbank: bring maps back to the STFT bins through its transpose "
                             "(the gradient) or its pseudo-inverse")
    parser.add_argument("--compression", choices=("identity", "gradient"), default="identity",
                        help="backward pass of the log/dB compression: identity (the authors) or its true gradient")
    parser.add_argument("--loudness", choices=LOUDNESS, default="comparable",
                        help="one gain per layer (comparable) or every file normalised (peak, as the authors)")
    parser.add_argument("--no-images", action="store_true", help="write the WAV files only")
    parser.add_argument("--out", required=True, help="export folder; files go to OUT/<audio stem>/<layer>/")
    add_quiet_argument(parser)


def run_auralise(args: argparse.Namespace) -> int:
    """Explain and auralise the chosen features of one clip by ``--method``
    (:func:`auralisation.features.feature_maps`); write them with :func:`auralisation.auralise.export` and, unless
    ``--no-images``, their pictures with :func:`auralisation.plotting.export_pictures`."""
    from ..audio import load_clip, stft
    from ..auralise import export
    from ..features import feature_maps
    from ..frontends import model_input

    trained = model_from_arguments(args)
    config = trained.config
    y = load_clip(args.audio, config, args.offset)
    X = stft(y, config)
    maps, description = feature_maps(trained.model, model_input(y, config), config, args.layers, args.features,
                                     args.method, seeding=args.seeding, route=args.route,
                                     compression=args.compression, progress=not args.quiet)
    if description:
        print(description)
    stem = Path(args.audio).stem
    written = export(args.out, stem, X, maps, config, loudness=args.loudness, progress=not args.quiet)
    if not args.no_images:
        from ..plotting import export_pictures

        export_pictures(args.out, stem, X, maps, config)
    wavs = sum(1 for path in written if path.suffix == ".wav") - 1
    print(f"wrote {wavs} auralisations of {Path(args.audio).name} ({', '.join(maps)}; {args.method}) to "
          f"{Path(args.out) / stem}")
    return 0
