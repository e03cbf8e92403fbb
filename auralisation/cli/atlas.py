"""``auralisation atlas``: for every feature, the excerpts of a corpus that excite it most, as a static site
(:func:`auralisation.atlas.build_atlas`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import ENGINES, STATISTICS
from .options import add_layers_argument, add_quiet_argument, add_seeding_argument

__all__: list[str] = []

EXAMPLE = "auralisation atlas --model models/choi2016 --data data/generated --out results/atlas --top 9"


def add_atlas_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation atlas``."""
    parser.add_argument("--model", required=True, type=Path, help="folder of a saved model (train --out), or musicnn:NAME")
    parser.add_argument("--data", required=True, nargs="+", type=Path, metavar="DIR_OR_FILE",
                        help="a GTZAN-style folder (root/<label>/<track>), or folders and audio files")
    parser.add_argument("--out", required=True, type=Path, help="the site's folder; the entry page is OUT/index.html")
    parser.add_argument("--top", type=int, default=9, help="excerpts per feature")
    add_layers_argument(parser, default=None)
    parser.add_argument("--statistic", choices=STATISTICS, default="max",
                        help="rank excerpts by the max or the mean of a feature's map")
    add_seeding_argument(parser)
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="run in this process or on Ray (pip install 'auralisation[ray]')")
    parser.add_argument("--address", help="with --engine ray: an existing Ray cluster (default: start a local one)")
    parser.add_argument("--workers", type=int,
                        help="with --engine ray: actors (default: 2 locally, as many as a cluster's CPUs hold)")
    parser.add_argument("--threads", type=int,
                        help="with --engine ray: CPUs and TensorFlow threads per actor (default: 1)")
    parser.add_argument("--hop", type=float, help="seconds between excerpt starts (default: the model's duration)")
    parser.add_argument("--cache", type=Path, help="spectrogram cache folder shared with training (default: none)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted atlas in OUT")
    parser.add_argument("--force", action="store_true", help="replace the atlas already in OUT")
    add_quiet_argument(parser)


def run_atlas(args: argparse.Namespace) -> int:
    """Run ``auralisation atlas``: build the site and print its entry page."""
    from ..atlas import build_atlas

    index = build_atlas(
        args.model, args.data, args.out, top=args.top, layers=args.layers, statistic=args.statistic,
        seeding=args.seeding, engine=args.engine, address=args.address, workers=args.workers,
        threads=args.threads, hop=args.hop,
        cache=args.cache, resume=args.resume, force=args.force, progress=not args.quiet,
    )
    print(f"atlas: {index}")
    return 0
