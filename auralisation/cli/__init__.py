"""The ``auralisation`` command line: thin over the modules.

Each subcommand lives in the module that owns its work, as a pair of functions ``add_<name>_arguments(parser)``
and ``run_<name>(args) -> int``; this file only registers them, so that importing the CLI stays fast and a
subcommand's heavy dependencies (TensorFlow) load only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import AuralisationError

__all__ = ["main"]

#: subcommand -> (module that implements it, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("auralisation.synth", "render the bundled default dataset or the paper's 124 stimuli"),
    "train": ("auralisation.cli.train", "train the paper's CNN on a GTZAN-style folder and evaluate it"),
    "auralise": ("auralisation.cli.auralise", "deconvolve and auralise features of a trained model on a clip"),
    "report": ("auralisation.ui.report", "write a static HTML page to see and hear a model's features (no server)"),
    "analyse": ("auralisation.analysis", "correlations across the paper's stimuli, layer by layer"),
    "explore": ("auralisation.app", "serve the explorer as a web app (Voila) on this machine, for use without Jupyter"),
    "lmac": ("auralisation.cli.lmac", "train an L-MAC decoder (listenable masks) for a trained model"),
    "benchmark": ("auralisation.cli.benchmark", "score every method's masks: AI, AD, AG, FF, Fid-In, SPS, COMP"),
    "study": ("auralisation.cli.study", "the paper's findings across architectures and seeds, by fixed criteria"),
    "predict": ("auralisation.cli.predict", "the top classes (tags) of an audio file, whole and clip by clip"),
    "atlas": ("auralisation.atlas.build", "for every feature, the excerpts of a corpus that excite it most, as a static site"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand.

    Parameters
    ----------
    only : str or None
        Import the module of this subcommand alone (the others are listed, not loaded); ``None`` loads all.
    """
    parser = argparse.ArgumentParser(
        prog="auralisation",
        description="See and hear what a convolutional network learned from spectrograms.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        getattr(module, f"add_{name}_arguments")(sub)
        sub.set_defaults(_run=getattr(module, f"run_{name}"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for bad input, with a one-line message)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((word for word in argv if word in SUBCOMMANDS), "")
    args = build_parser(only=chosen).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (AuralisationError, FileNotFoundError) as error:
        print(f"auralisation {args.command}: error: {error}", file=sys.stderr)
        return 2
