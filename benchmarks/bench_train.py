"""Training throughput: the spectrogram cache's ``tf.data`` pipeline against the same data held in memory.

Both sides train one :func:`auralisation.models.choi2016` model (the paper's size by default) on the same excerpts,
in alternating rounds of ``--steps`` steps after a warm-up round that fills the cache and traces the training
step. The goal is a pipeline within 10% of the in-memory figure: reading the cache must not starve the model.

Usage::

    python benchmarks/bench_train.py [--steps 20] [--rounds 2] [--batch-size 32] [--width 64]

The audio is random noise written to a temporary folder (only the pipeline's speed matters here).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import soundfile as sf
import tensorflow as tf

from auralisation.audio import AudioConfig
from auralisation.data import SpectrogramCache, make_dataset, scan_folder, to_arrays
from auralisation.models import choi2016
from auralisation.training import TrainSettings, compile_model

CLASSES = 4


def write_noise_dataset(root: Path, config: AudioConfig, excerpts: int) -> None:
    """``CLASSES`` folders of noise tracks, four excerpts long each, ``excerpts`` excerpts in all."""
    rng = np.random.default_rng(0)
    per_track = 4
    tracks = -(-excerpts // per_track)
    for k in range(tracks):
        label = f"class{k % CLASSES}"
        (root / label).mkdir(parents=True, exist_ok=True)
        y = 0.1 * rng.standard_normal(per_track * config.n_samples).astype(np.float32)
        sf.write(root / label / f"{label}.{k:05d}.wav", y, config.sr, subtype="PCM_16")


class StepClock(keras.callbacks.Callback):
    """Time from the start of the first training step to the end of the last (waits for input included)."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if batch == 0:
            self.started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.seconds = time.perf_counter() - self.started


def timed_fit(model: keras.Model, dataset: tf.data.Dataset, steps: int) -> float:
    """Seconds spent in ``steps`` training steps from ``dataset``.

    Measured between the steps rather than around ``fit``: ``fit``'s own set-up and tear-down occasionally stalls
    for seconds on this machine, whatever the input, which would swamp the difference between the pipelines.
    """
    clock = StepClock()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[clock])
    return clock.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per round and side")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds per side (alternating)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=64, help="filters per convolution")
    args = parser.parse_args()

    config = AudioConfig()
    examples = args.steps * args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        root, cache_dir = Path(tmp) / "data", Path(tmp) / "cache"
        write_noise_dataset(root, config, examples)
        classes, excerpts = scan_folder(root, config)
        excerpts = excerpts[:examples]
        cache = SpectrogramCache(cache_dir, config)

        started = time.perf_counter()
        x, y = to_arrays(excerpts, classes, cache)
        print(f"filled the cache: {len(excerpts)} excerpts decoded in {time.perf_counter() - started:.1f} s")

        def from_cache() -> tf.data.Dataset:
            return make_dataset(excerpts, classes, cache, batch_size=args.batch_size, shuffle=True).repeat()

        tensors = tf.data.Dataset.from_tensor_slices((tf.constant(x), tf.constant(y)))

        def from_memory() -> tf.data.Dataset:
            return tensors.shuffle(len(y), seed=0).batch(args.batch_size).prefetch(tf.data.AUTOTUNE).repeat()

        model = compile_model(choi2016(config, len(classes), width=args.width, seed=0), TrainSettings())
        timed_fit(model, from_memory(), 2)  # trace the training step
        timed_fit(model, from_cache(), 2)
        seconds: dict[str, list[float]] = {"cache (make_dataset)": [], "memory (tensors)": []}
        for _ in range(args.rounds):
            seconds["cache (make_dataset)"].append(timed_fit(model, from_cache(), args.steps))
            seconds["memory (tensors)"].append(timed_fit(model, from_memory(), args.steps))

    print(
        f"training throughput, choi2016 width {args.width}, batch {args.batch_size}, "
        f"{args.rounds} x {args.steps} steps per side, {os.cpu_count()} CPU cores:"
    )
    rates = {}
    for name, values in seconds.items():
        rates[name] = args.steps * args.batch_size * len(values) / sum(values)
        rounds = ", ".join(f"{s:.2f} s" for s in values)
        print(f"  {name:22s} {rates[name]:7.1f} examples/s  (rounds of {args.steps} steps: {rounds})")
    ratio = rates["cache (make_dataset)"] / rates["memory (tensors)"]
    print(f"  cache / memory: {ratio:.3f} (goal: at least 0.90)")


if __name__ == "__main__":
    main()
