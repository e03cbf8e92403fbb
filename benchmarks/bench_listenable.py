"""Cost of the listenable-maps benchmark: scoring each method on test clips, and training the L-MAC decoder.

Uses the trained model in ``models/choi2016`` and the bundled dataset when they exist (else a randomly initialised
``choi2016`` and a small tone dataset written to a temporary folder; the output says which). Trains an L-MAC
decoder (full-mode settings) for ``--steps`` steps and reports seconds per step and per epoch of the training split;
then scores every method on ``--clips`` test clips in the three conditions and reports each method's seconds per
clip and condition, with its ratio to deconvolution's (measured side by side in this run), and the whole run's time.

Usage: ``python benchmarks/bench_listenable.py [--clips 4] [--steps 4] [--patch 64,32]``
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from auralisation.audio import AudioConfig  # noqa: E402
from auralisation.methods import LMACSettings, format_benchmark, listenable_benchmark, train_lmac  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402
from auralisation.io import load_model  # noqa: E402
from auralisation.training import prepare_data  # noqa: E402


def tone_dataset(root: Path, config: AudioConfig, classes: int = 4, tracks: int = 4) -> Path:
    """``root/<class>/<class>.000NN.wav``: 12 s tones at 220 (i + 1) Hz with a little noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(12 * config.sr)) / config.sr
    for i in range(classes):
        for n in range(tracks):
            y = 0.4 * np.sin(2 * np.pi * 220.0 * (i + 1) * t + rng.uniform(0, np.pi))
            y += 0.05 * rng.standard_normal(len(t))
            path = root / f"c{i}" / f"c{i}.{n:05d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, y.astype(np.float32), config.sr)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4, help="test clips scored")
    parser.add_argument("--steps", type=int, default=4, help="L-MAC training steps timed")
    parser.add_argument("--patch", default="64,32", help="occlusion patch, bins,frames (the notebook's)")
    args = parser.parse_args()

    paths = project_paths(fast=False)
    folder = paths.models / "choi2016"
    scratch = Path(tempfile.mkdtemp(prefix="bench_listenable-"))
    if folder.is_dir() and paths.data.is_dir():
        trained = load_model(folder)
        model, config, root, cache = trained.model, trained.config, paths.data, paths.cache
        print(f"trained model {folder}; data {root}")
    else:
        config = AudioConfig()
        root, cache = tone_dataset(scratch / "data", config), scratch / "cache"
        print(f"random choi2016 (no {folder} or no {paths.data}); a tone dataset in {root}")
    data = prepare_data(root, config, cache)
    if not folder.is_dir() or not paths.data.is_dir():
        model = choi2016(config, n_classes=len(data.classes), seed=0)
    print(f"{os.cpu_count()} CPU cores visible; test split {len(data.splits.test)} clips")

    settings = dataclasses.replace(LMACSettings.for_mode(False), epochs=1, steps_per_epoch=args.steps)
    train_lmac(model, data.splits.train, data.classes, data.cache, dataclasses.replace(settings, steps_per_epoch=1),
               verbose=0)  # trace once
    started = time.perf_counter()
    lmac, _ = train_lmac(model, data.splits.train, data.classes, data.cache, settings, verbose=0)
    per_step = (time.perf_counter() - started) / args.steps
    full = LMACSettings()
    print(
        f"L-MAC training: {per_step:.2f} s per step of {settings.batch_size} clips; one pass over the "
        f"{len(data.splits.train)} training clips about {per_step * math.ceil(len(data.splits.train) / 8):.0f} s; "
        f"full mode ({full.epochs} x {full.steps_per_epoch} steps) about "
        f"{per_step * full.epochs * full.steps_per_epoch:.0f} s"
    )

    patch = tuple(int(v) for v in args.patch.split(","))
    clips = range(min(args.clips, len(data.splits.test)))
    started = time.perf_counter()
    result = listenable_benchmark(
        model, data.splits.test, data.classes, config, clips=clips, lmac=lmac, options={"occlusion": {"patch": patch}},
        progress=False,
    )
    total = time.perf_counter() - started
    runs = len(result.clips) * len(result.scores)
    reference = result.seconds["deconvnet"] / runs
    print(f"scoring {len(result.clips)} clips x {len(result.scores)} conditions: {total:.1f} s in all")
    for method, seconds in result.seconds.items():
        ratio = seconds / runs / reference
        print(f"  {method:10s} {seconds / runs:7.3f} s per clip and condition ({ratio:5.1f}x deconvnet)")
    print(
        f"the whole test split ({len(data.splits.test)} clips) would take about "
        f"{total / len(result.clips) * len(data.splits.test) / 60:.1f} min"
    )
    print(format_benchmark(result, conditions=["clean"]))


if __name__ == "__main__":
    main()
