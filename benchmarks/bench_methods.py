"""Cost of each attribution method per clip, relative to deconvolution, on the paper's network and input size.

Uses the trained model in ``models/choi2016`` when it exists (else a randomly initialised ``choi2016``, 10
classes, seed 0; the output says which) and one 257 x 173 spectrogram (the first clip of the bundled dataset, else
a synthetic chord with clicks). For a class and for one feature of a block, every method's map is computed once
to trace it, then ``--repeats`` times; the median is reported, with its ratio to the deconvnet map of the same
target. Occlusion is timed at the default patch (16 x 8, stride 8 x 4) and at the fast mode's (32 x 16). Then the
faithfulness curves of one map and one stage of the randomisation check are timed.

Usage: ``python benchmarks/bench_methods.py [--repeats 3] [--block 3] [--feature 0] [--steps 20]``
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from auralisation.audio import AudioConfig, load_clip, magnitude  # noqa: E402
from auralisation.methods import METHODS, Attributor, faithfulness, randomise  # noqa: E402
from auralisation.methods.sanity import clone  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402
from auralisation.io import load_model  # noqa: E402

#: Occlusion settings timed: name -> options.
OCCLUSIONS = {"occlusion": {}, "occlusion 32x16": {"patch": (32, 16)}}


def model_and_clip() -> tuple[object, np.ndarray, str]:
    """The trained model if saved, else a random one; a clip's magnitude; a line saying which."""
    paths = project_paths(fast=False)
    folder = paths.models / "choi2016"
    if folder.is_dir():
        trained = load_model(folder)
        model, config, which = trained.model, trained.config, f"trained model {folder}"
    else:
        config = AudioConfig()
        model, which = choi2016(config, n_classes=10, seed=0), f"random choi2016 (no {folder})"
    clips = sorted(paths.data.glob("*/*.wav")) if paths.data.is_dir() else []
    if clips:
        y, source = load_clip(clips[0], config), str(clips[0])
    else:
        t = np.arange(config.n_samples) / config.sr
        y = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)).astype(np.float32)
        y[:: config.sr // 2] += 0.9
        source = "synthetic chord with clicks"
    return model, magnitude(y, config), f"{which}; clip: {source}"


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``run`` over ``repeats`` calls, after one untimed call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per method (occlusion: 1)")
    parser.add_argument("--block", type=int, default=3, help="block of the feature target")
    parser.add_argument("--feature", type=int, default=0, help="feature index of the feature target")
    parser.add_argument("--steps", type=int, default=20, help="faithfulness curve steps")
    args = parser.parse_args()

    model, S, which = model_and_clip()
    print(which)
    print(f"input {S.shape[0]} x {S.shape[1]}, {os.cpu_count()} CPU cores visible")
    attributor = Attributor(model)
    targets = {
        "class 0": attributor.target(class_index=0),
        f"feature {args.feature} of block {args.block}": attributor.target(layer=args.block, feature=args.feature),
    }
    runs = {m: {} for m in METHODS if m != "occlusion"} | OCCLUSIONS
    print(f"\n{'method':<18}" + "".join(f"{name:>34}" for name in targets))
    costs: dict[str, dict[str, float]] = {}
    for name, options in runs.items():
        method = "occlusion" if name.startswith("occlusion") else name
        repeats = 1 if method == "occlusion" else args.repeats
        costs[name] = {
            label: median_seconds(lambda: attributor.attribute(S, method, target, **options), repeats)
            for label, target in targets.items()
        }
        cells = [
            f"{costs[name][label]:10.3f} s ({costs[name][label] / costs['deconvnet'][label]:7.1f} x deconv)"
            for label in targets
        ]
        print(f"{name:<18}" + "".join(f"{cell:>34}" for cell in cells))

    target = targets["class 0"]
    maps = {"gradient": attributor.attribute(S, "gradient", target)}
    seconds = median_seconds(lambda: faithfulness(model, S, maps, class_index=0, steps=args.steps), 1)
    forwards = 2 * (args.steps + 1) * (len(maps) + 3)
    print(f"\nfaithfulness, one map + 3 random draws, {args.steps} steps ({forwards} forward passes): {seconds:.2f} s")
    copy = clone(model)
    stage = Attributor(copy)
    stage_target = stage.target(class_index=0)
    quick = [m for m in METHODS if m != "occlusion"]

    def one_stage() -> None:
        randomise(copy.get_layer("output"), 0)
        for m in quick:
            stage.attribute(S, m, stage_target)

    print(f"randomisation, one stage ({', '.join(quick)}): {median_seconds(one_stage, 1):.2f} s "
          f"(+ occlusion's cost per stage when it is included)")


if __name__ == "__main__":
    main()
