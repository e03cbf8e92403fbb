"""The ``auralisation`` command line: one module per subcommand, each thin over the library.

``auralisation/cli/<name>.py`` holds ``add_<name>_arguments(parser)``, ``run_<name>(args) -> int`` and
``EXAMPLE`` (the last line of its help). This file registers them and keeps the conventions in one place:

* ``auralisation --version``; defaults shown in every help, which ends with an example;
* exit status 0 on success, 1 for a domain error (one line on stderr: what is wrong and what to do), 2 for a
  usage error (argparse's), 130 when interrupted (Ctrl-C, one line);
* ``--help`` loads only the chosen subcommand's module, which imports TensorFlow only when it runs.

Nothing outside this package imports it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import AuralisationError

__all__ = ["main"]

#: subcommand -> one-line help; the subcommand is the module ``auralisation.cli.<name>``.
SUBCOMMANDS: dict[str, str] = {
    "generate": "render the bundled default dataset or the paper's 124 stimuli",
    "train": "train the paper's CNN on a GTZAN-style folder and evaluate it",
    "auralise": "deconvolve and auralise features of a trained model on a clip",
    "report": "write a static HTML page to see and hear a model's features (no server)",
    "analyse": "correlations across the paper's stimuli, layer by layer",
    "explore": "serve the explorer as a web app (Voila) on this machine, for use without Jupyter",
    "lmac": "train an L-MAC decoder (listenable masks) for a trained model",
    "benchmark": "score every method's masks: AI, AD, AG, FF, Fid-In, SPS, COMP",
    "study": "the paper's findings across architectures and seeds, by fixed criteria",
    "atlas": "for every feature, the excerpts of a corpus that excite it most, as a static site",
    "predict": "the top classes (tags) of an audio file, whole and clip by clip",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless the help already says it, or there is none to show) and keeps the
    example at the end of a subcommand's help as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "default" in text
            or default is None
            or default is False
            or default == argparse.SUPPRESS
            or not action.option_strings
            or isinstance(action, (argparse._HelpAction, argparse._VersionAction))
        ):
            return action.help
        return text + " (default: %(default)s)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand.

    Parameters
    ----------
    only : str or None
        Import the module of this subcommand alone (the others are listed, not loaded); ``None`` loads all.

    Examples
    --------
    >>> build_parser("generate").parse_args(["generate", "stimuli", "--quiet"]).quiet
    True
    """
    parser = argparse.ArgumentParser(
        prog="auralisation",
        description="See and hear what a convolutional network learned from spectrograms.",
        epilog="example:\n  auralisation auralise --help",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in SUBCOMMANDS.items():
        if only is not None and name != only:
            commands.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        sub = commands.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter,
                                  epilog=f"example:\n  {module.EXAMPLE}")
        getattr(module, f"add_{name}_arguments")(sub)
        sub.set_defaults(_run=getattr(module, f"run_{name}"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 1 a domain error, 2 bad usage, 130 interrupted)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((word for word in argv if word in SUBCOMMANDS), "")
    args = build_parser(only=chosen).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (AuralisationError, FileNotFoundError) as error:
        message = " ".join(str(error).split())
        print(f"auralisation {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"auralisation {args.command}: interrupted", file=sys.stderr)
        return 130
