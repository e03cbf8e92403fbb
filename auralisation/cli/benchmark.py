"""``auralisation benchmark``: score every method's listenable masks on a test split
(:mod:`auralisation.methods.benchmark`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import LISTENABLE_METHODS
from ..errors import ParameterError
from ..fileio import atomic_write_text
from ..paths import project_paths
from .options import add_quiet_argument

__all__: list[str] = []

EXAMPLE = "auralisation benchmark --model models/choi2016 --data data/generated --out results/benchmark --clips 16"


def add_benchmark_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation benchmark``."""
    parser.add_argument("--model", required=True, type=Path, help="model folder (an lmac.keras beside it is used)")
    parser.add_argument("--data", required=True, type=Path, help="the dataset folder the model was trained on")
    parser.add_argument("--out", required=True, type=Path, help="folder for scores.json and table.md (resumable)")
    parser.add_argument(
        "--methods", default=",".join(LISTENABLE_METHODS),
        help="comma-separated, among " + ", ".join(LISTENABLE_METHODS)
    )
    parser.add_argument("--clips", type=int, help="score only N test clips, spread over the split")
    parser.add_argument("--patch", default="64,32", help="occlusion patch, bins,frames")
    parser.add_argument("--seed", type=int, default=0, help="the split's seed (the model's) and the mixtures'")
    parser.add_argument("--cache", type=Path, help="spectrogram cache folder (default: the project's cache)")
    parser.add_argument("--publish", action="store_true",
                        help="write the tables as the listenable block of docs/listenable-maps.md, with its record "
                             "in docs/results/ (the whole test split and every method only; make listenable)")
    add_quiet_argument(parser)


def run_benchmark(args: argparse.Namespace) -> int:
    """Run ``auralisation benchmark``: score every method's masks on the test split and write the tables."""
    from ..io import check_compatible, load_model
    from ..methods.benchmark import (
        format_benchmark,
        format_sparsity,
        listenable_benchmark,
        spread,
        summarise_benchmark,
    )
    from ..methods.lmac import load_lmac
    from ..provenance import record_environment
    from ..training import prepare_data

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.publish and (args.clips is not None or sorted(methods) != sorted(LISTENABLE_METHODS)):
        raise ParameterError("--publish writes the documentation's table: it scores the whole test split with every "
                             "method; drop --clips and --methods")
    trained = load_model(args.model)
    lmac = load_lmac(args.model, trained.model) if "lmac" in methods else None
    cache = args.cache if args.cache is not None else project_paths().cache
    data = prepare_data(args.data, trained.config, cache, seed=args.seed)
    check_compatible(trained, data.classes, data.config)
    try:
        patch = tuple(int(v) for v in args.patch.split(","))
    except ValueError:
        raise ParameterError(f"--patch takes two integers, bins,frames; got {args.patch!r}") from None
    test = data.splits.test
    args.out.mkdir(parents=True, exist_ok=True)
    result = listenable_benchmark(
        trained.model,
        test,
        data.classes,
        trained.config,
        methods=methods,
        clips=spread(len(test), args.clips),
        lmac=lmac,
        options={"occlusion": {"patch": patch}},
        out=args.out / "scores.json",
        seed=args.seed,
        progress=not args.quiet,
    )
    tables = "\n\n".join(
        f"### {masking} masks\n\n" + format_benchmark(result, masking=masking) + "\n"
        + summarise_benchmark(result, masking=masking) for masking in result.scores[next(iter(result.scores))]
    ) + "\n\n### Equal sparsity\n\n" + format_sparsity(result)
    atomic_write_text(args.out / "table.md", tables)
    record_environment(args.out)
    print(tables)
    if args.publish:
        from ..records import listenable_record, publish

        print(f"published: {publish('listenable', listenable_record(args.out / 'scores.json'))}")
    return 0
