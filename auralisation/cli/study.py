"""``auralisation study``: every architecture x seed, trained and untrained, held to the criteria (``make study``).

Renders the dataset and the stimuli where they are missing, runs :func:`auralisation.study.run_study`,
writes the reports to ``--out`` and, with ``--update-readme``, the table into the README between its study markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from ..errors import DatasetError, ParameterError
from ..paths import fast_mode, project_paths, project_root
from .options import add_quiet_argument

__all__: list[str] = []

EXAMPLE = "auralisation study --archs choi2016 --seeds 0,1 --update-readme"


def _integers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from error


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``auralisation study`` (defaults from :meth:`StudySettings.for_mode`, fast with
    ``AURALISATION_FAST=1``)."""
    paths = project_paths()
    parser.add_argument("--data", type=Path, default=paths.data, help="dataset folder (rendered there if missing)")
    parser.add_argument("--stimuli", type=Path, default=paths.stimuli,
                        help="stimulus folder (rendered there if it has no manifest)")
    parser.add_argument("--models", type=Path, default=paths.models / "study", help="folder of the runs' models")
    parser.add_argument("--out", type=Path, default=paths.results / "study", help="folder of the analyses and tables")
    parser.add_argument("--earlier", type=Path, default=paths.models,
                        help="models trained before, one folder per architecture (notebook 01's): a run trained with "
                             "the same settings on the same split is used instead of trained again")
    parser.add_argument("--no-earlier", dest="earlier", action="store_const", const=None,
                        help="train every run, whatever --earlier holds")
    parser.add_argument("--archs", type=_names, help="architectures, comma-separated (default choi2016,choi2017)")
    parser.add_argument("--seeds", type=_integers, help="training seeds, comma-separated (default 0,1,2; fast 0,1)")
    parser.add_argument("--split-seed", type=int, help="seed of the train/validation/test split (default 0)")
    parser.add_argument("--epochs", type=int, help="most epochs per run (default the architecture's)")
    parser.add_argument("--n-layers", type=int, metavar="N", help="the first N blocks analysed (default: all)")
    parser.add_argument("--n-features", type=int, metavar="N",
                        help="the first N features of each layer analysed (default: all; fast 8)")
    parser.add_argument("--n-boot", type=int, help="bootstrap resamples (default 1000; fast 300)")
    parser.add_argument("--pretrained", type=_names, help="networks trained elsewhere (model folders, .keras files), "
                        "comma-separated: each a row of its own, with its untrained copy as the control")
    parser.add_argument("--pretrained-features", type=int, metavar="N",
                        help="the first N features of each block of a --pretrained network analysed (default 8, as "
                             "notebook 07; all 640 of a musicnn VGG would take over an hour per tagger on 2 cores)")
    parser.add_argument("--update-readme", nargs="?", type=Path, const=project_root() / "README.md", default=None,
                        metavar="README", help="write the table into this README between its study markers (without "
                        "a path: the project's README.md); by default no README is touched")
    add_quiet_argument(parser)


def run_study(args: argparse.Namespace) -> int:
    """Run the study as the options say, print the table, return 0."""
    from .. import synth
    from ..records import publish, study_record
    from ..study import StudySettings, replace_block, write_reports
    from ..study import run_study as study

    fast = fast_mode()
    overrides = {"archs": args.archs, "seeds": args.seeds, "split_seed": args.split_seed, "epochs": args.epochs,
                 "layers": args.n_layers, "features": args.n_features, "n_boot": args.n_boot,
                 "pretrained": args.pretrained, "pretrained_features": args.pretrained_features}
    settings = dataclasses.replace(StudySettings.for_mode(fast),
                                   **{name: value for name, value in overrides.items() if value is not None})
    settings.check()
    readme = args.update_readme
    if readme is not None and not Path(readme).is_file():
        raise ParameterError(f"{readme}: no such README to write the study's table into; give --update-readme PATH")
    if readme is not None:
        replace_block(Path(readme).read_text(encoding="utf-8"), "")  # its markers checked before an hour of work
    if not args.data.exists():
        if os.environ.get("AURALISATION_DATA"):
            raise DatasetError(f"AURALISATION_DATA points at {args.data}, which does not exist")
        sizes = {"tracks_per_style": 4, "seconds": 8.0} if fast else {}
        synth.generate_default(args.data, progress=not args.quiet, **sizes)
    if not (args.stimuli / "manifest.json").exists():
        synth.generate_stimuli(args.stimuli, progress=not args.quiet)
    started = time.perf_counter()
    runs, rows = study(settings, data=args.data, stimuli=synth.load_stimuli(args.stimuli), models=args.models,
                       results=args.out, cache=project_paths().cache, progress=not args.quiet,
                       earlier=args.earlier)
    written = write_reports(args.out, runs, rows, readme=readme, settings=settings)
    if readme is not None:  # the record the README's block is checked against (auralisation.records)
        written["record"] = publish("study", study_record(written["json"]))
    print(written["markdown"].read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(path) for path in written.values()))
    print(f"the study took {time.perf_counter() - started:.0f} s (runs already done were not redone)")
    return 0
