"""``auralisation report``: a static HTML page to see and hear a model's features (:mod:`auralisation.ui.report`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import LOUDNESS, RULES
from .options import (
    add_layers_argument,
    add_method_argument,
    add_model_arguments,
    add_quiet_argument,
    add_seeding_argument,
    model_from_arguments,
)

__all__: list[str] = []

EXAMPLE = "auralisation report --model models/choi2016 --audio a.wav b.wav --out results/report --n-features 4"


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation report``."""
    add_model_arguments(parser)
    parser.add_argument("--audio", required=True, nargs="+", type=Path, metavar="FILE", help="audio files")
    parser.add_argument("--out", required=True, type=Path, help="output folder; the page is OUT/index.html")
    add_layers_argument(parser, default=None)
    parser.add_argument("--n-features", type=int, default=4, metavar="N",
                        help="features per layer: the N most active on each clip")
    add_seeding_argument(parser)
    parser.add_argument("--loudness", choices=LOUDNESS, default="comparable",
                        help="keep features' relative loudness (comparable) or normalize each file (peak)")
    add_method_argument(parser, RULES)
    add_quiet_argument(parser)


def run_report(args: argparse.Namespace) -> int:
    """Run ``auralisation report``: build the page and print its path."""
    from ..ui.report import build_report

    page = build_report(
        model_from_arguments(args),
        args.audio,
        args.out,
        layers=args.layers,
        n_features=args.n_features,
        seeding=args.seeding,
        loudness=args.loudness,
        rule=args.method,
        progress=not args.quiet,
    )
    print(f"report: {page}")
    return 0
