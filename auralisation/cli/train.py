"""``auralisation train``: train, save and score a model (:mod:`auralisation.training`).

A run killed part-way resumes from its last epoch when the same command is run again.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..choices import ARCHITECTURE_NAMES, STRATEGIES
from ..paths import project_paths
from .options import add_quiet_argument

__all__: list[str] = []

EXAMPLE = "auralisation train --data data/generated --out models/choi2016 --arch choi2016"


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation train``."""
    parser.add_argument("--data", required=True, type=Path, help="dataset folder: one sub-folder of audio per class")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write, e.g. models/choi2016")
    parser.add_argument(
        "--arch", choices=ARCHITECTURE_NAMES, default="choi2016",
        help="choi2016: the paper's network on the linear STFT; choi2017: the compact convnet on 96 log-mel bands",
    )
    parser.add_argument("--epochs", type=int, help="most epochs (early stopping may end sooner)")
    parser.add_argument("--fast", action="store_true", help="a narrow model, 15 short epochs: to try the pipeline out")
    parser.add_argument(
        "--scaling", choices=("log", "linear", "db"),
        help="magnitude compression in the model (default: the architecture's, linear for choi2016, db for choi2017)",
    )
    parser.add_argument("--width", type=int, help="filters per convolution (64 in the paper)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, shuffle and split")
    parser.add_argument("--cache", type=Path, help="spectrogram cache folder (default: the project's cache)")
    parser.add_argument(
        "--evaluate-only", action="store_true", help="score the model already in --out on the data's test split"
    )
    parser.add_argument("--deterministic", action="store_true",
                        help="make TensorFlow's ops deterministic (can be slower): the same seed gives the same weights")
    parser.add_argument("--strategy", choices=STRATEGIES, default="none",
                        help="tf.distribute: mirrored trains one replica per local device (every GPU), gradients "
                             "all-reduced at each step")
    add_quiet_argument(parser)


def run_train(args: argparse.Namespace) -> int:
    """Run ``auralisation train``: train, save and score a model, printing its accuracy and the baseline's."""
    from ..evaluate import format_scores
    from ..io import load_model
    from ..training import (
        ARCH_CONFIGS,
        TrainSettings,
        enable_determinism,
        evaluate_trained,
        make_strategy,
        prepare_data,
        train_and_evaluate,
    )

    if args.deterministic:
        enable_determinism(args.seed)
    strategy = make_strategy(args.strategy)
    settings = TrainSettings.for_mode(args.fast, args.arch)
    overrides = {"epochs": args.epochs, "width": args.width, "seed": args.seed}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    cache = args.cache if args.cache is not None else project_paths().cache
    trained = load_model(args.out) if args.evaluate_only else None
    if trained is not None:
        config = trained.config
    else:
        config = ARCH_CONFIGS[args.arch]
        config = config if args.scaling is None else dataclasses.replace(config, scaling=args.scaling)
    data = prepare_data(args.data, config, cache, hop=settings.hop, fractions=settings.fractions, seed=settings.seed)
    if trained is not None:
        scores = {"model": evaluate_trained(trained, data, batch_size=settings.batch_size)}
    else:
        result = train_and_evaluate(data, args.out, settings, verbose=0 if args.quiet else 1, strategy=strategy)
        print(f"saved the model to {result.folder}")
        scores = {"CNN": result.evaluation, "baseline": result.baseline}
    test = next(iter(scores.values()))
    print(
        f"test accuracy on {len(test.labels)} excerpts of {len(test.track_level().labels)} tracks "
        "(baseline: MFCC means and deviations, logistic regression):"
    )
    print(format_scores(scores))
    return 0

