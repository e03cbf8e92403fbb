"""``auralisation lmac``: train an L-MAC decoder (listenable masks) for a saved model
(:mod:`auralisation.methods.lmac`)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..paths import project_paths
from .options import add_quiet_argument

__all__: list[str] = []

EXAMPLE = "auralisation lmac --model models/choi2016 --data data/generated"


def add_lmac_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation lmac``."""
    parser.add_argument("--model", required=True, type=Path, help="model folder (from auralisation train)")
    parser.add_argument("--data", required=True, type=Path, help="the dataset folder the model was trained on")
    parser.add_argument("--fast", action="store_true", help="a narrow decoder, 2 steps: to try the pipeline out")
    parser.add_argument("--epochs", type=int, help="passes over the training split")
    parser.add_argument("--seed", type=int, default=0, help="the split's seed (the model's) and the decoder's")
    parser.add_argument("--cache", type=Path, help="spectrogram cache folder (default: the project's cache)")
    add_quiet_argument(parser)


def run_lmac(args: argparse.Namespace) -> int:
    """Run ``auralisation lmac``: train an L-MAC decoder for a saved model and save it beside the model."""
    from ..io import check_compatible, load_model
    from ..methods.lmac import LMACSettings, load_or_train_lmac
    from ..training import prepare_data

    trained = load_model(args.model)
    settings = LMACSettings.for_mode(args.fast)
    settings = dataclasses.replace(settings, seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    cache = args.cache if args.cache is not None else project_paths().cache
    data = prepare_data(args.data, trained.config, cache, seed=args.seed)
    check_compatible(trained, data.classes, data.config)
    _, note = load_or_train_lmac(args.model, trained.model, data, settings, retrain=True,
                                 verbose=0 if args.quiet else 1)
    print(note)
    return 0
