"""``auralisation analyse``: the correlation analysis of a trained model (and its untrained control) from the shell.

Writes ``<label>_correlations.csv``, ``<label>_lines.csv``, ``<label>_onsets.csv`` for the model (label
``trained``) and, unless ``--no-control``, for its untrained copy (label ``untrained``), and ``summary.txt``; prints
the summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..fileio import atomic_write_text
from ..paths import project_paths
from .options import add_quiet_argument

__all__: list[str] = []

EXAMPLE = "auralisation analyse --model models/choi2016 --stimuli data/stimuli --out results/analysis --n-features 8"


def add_analyse_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``auralisation analyse``."""
    paths = project_paths()
    parser.add_argument("--model", type=Path, default=paths.models / "choi2016", help="trained model folder")
    parser.add_argument("--stimuli", type=Path, default=paths.stimuli,
                        help="stimulus folder (rendered there first if it has no manifest)")
    parser.add_argument("--out", type=Path, default=paths.results / "analysis", help="folder for the tables")
    parser.add_argument("--n-layers", type=int, default=None, metavar="N", help="the first N blocks (default: all)")
    parser.add_argument("--n-features", type=int, default=None, metavar="N",
                        help="the first N features of each layer (default: all)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--no-control", action="store_true", help="skip the untrained control")
    add_quiet_argument(parser)


def run_analyse(args: argparse.Namespace) -> int:
    """Run the analysis as the options say; return 0."""
    from .. import synth
    from ..analysis import analyse, compute_responses, summarise_findings, untrained_copy
    from ..io import load_model

    trained = load_model(args.model)
    if not (args.stimuli / "manifest.json").exists():
        synth.generate_stimuli(args.stimuli, progress=not args.quiet)
    stimuli = synth.load_stimuli(args.stimuli)
    models = {"trained": trained.model}
    if not args.no_control:
        models["untrained"] = untrained_copy(trained.model)
    layers = None if args.n_layers is None else list(range(1, args.n_layers + 1))
    results = {
        label: analyse(
            compute_responses(model, stimuli, trained.config, label=label, layers=layers,
                              n_features=args.n_features, progress=not args.quiet),
            n_boot=args.n_boot,
            seed=args.seed,
        )
        for label, model in models.items()
    }
    for result in results.values():
        result.write(args.out)
    summary = summarise_findings(results["trained"], results.get("untrained"))
    atomic_write_text(args.out / "summary.txt", summary + "\n")
    print(summary)
    return 0
