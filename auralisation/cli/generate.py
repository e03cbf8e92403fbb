"""``auralisation generate``: render the default dataset or the paper's stimuli (:mod:`auralisation.synth`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..synth.styles import DEFAULT_STYLES, STYLES
from .options import add_quiet_argument

__all__: list[str] = []

EXAMPLE = "auralisation generate default --out data/generated --stems --workers 2"


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``generate``'s arguments: ``default|stimuli [--out DIR] [--seed N] [--tracks-per-style N] ...``."""
    parser.add_argument("what", choices=("default", "stimuli"),
                        help="'default': the bundled genre dataset (GTZAN layout); 'stimuli': the paper's 124 clips")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: the project's data folder, or its stimuli folder)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--tracks-per-style", type=int, default=40, metavar="N",
                        help="default dataset: tracks per style")
    parser.add_argument("--seconds", type=float, default=12.0, metavar="S",
                        help="default dataset: length of each track in seconds")
    parser.add_argument("--styles", nargs="+", choices=tuple(STYLES), default=list(DEFAULT_STYLES), metavar="STYLE",
                        help=f"default dataset: the styles to render (default all: {' '.join(DEFAULT_STYLES)})")
    parser.add_argument("--stems", action="store_true",
                        help="default dataset: also write each track's drums, bass, harmony and melody to "
                             "OUT-stems/<style>/<track>/<stem>.wav (they add up to the track); a rerun keeps "
                             "tracks already written")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="default dataset: processes rendering at once (the files are the same)")
    add_quiet_argument(parser)


def run_generate(args: argparse.Namespace) -> int:
    """Run ``generate``; print where the files went and return 0."""
    from ..paths import project_paths
    from ..synth import generate_default, generate_stimuli, stems_folder

    progress = not args.quiet
    if args.what == "stimuli":
        out = args.out if args.out is not None else project_paths().stimuli
        manifest = generate_stimuli(out, seed=args.seed, progress=progress)
        print(f"wrote the stimuli and {manifest}")
    else:
        out = args.out if args.out is not None else project_paths().data
        paths = generate_default(out, tracks_per_style=args.tracks_per_style, seconds=args.seconds, seed=args.seed,
                                 styles=args.styles, stems=args.stems, workers=args.workers,
                                 progress=progress)
        stems = f" and their stems under {stems_folder(paths[0]).parent.parent}" if args.stems else ""
        print(f"wrote {len(paths)} tracks under {out}{stems}")
    return 0
