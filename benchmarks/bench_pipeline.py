"""Throughput of the training input pipeline: cold spectrogram cache, warm cache, and arrays in memory.

Reads the bundled dataset (``data/generated``, or ``--data DIR``) when it exists; otherwise writes synthetic
tracks (tones and noise, 40 tracks of 12 s by default) into a temporary folder. The cache always lives in a fresh
temporary folder, so the cold pass really decodes every excerpt.

Usage: ``python benchmarks/bench_pipeline.py [--data DIR] [--tracks 40] [--seconds 12] [--batch-size 32]``
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from auralisation.audio import AudioConfig, magnitude  # noqa: E402
from auralisation.data import SpectrogramCache, make_dataset, scan_folder, to_arrays  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402

LABELS = ("blues", "classical", "jazz", "rock")


def write_synthetic(root: Path, tracks: int, seconds: float, sr: int, seed: int = 0) -> Path:
    """``tracks`` tracks spread over four labels: a label's tone plus noise, GTZAN naming, WAV."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    for n in range(tracks):
        label = LABELS[n % len(LABELS)]
        y = 0.4 * np.sin(2 * np.pi * 110.0 * (2 + n % len(LABELS)) * t) + 0.05 * rng.standard_normal(len(t))
        path = root / label / f"{label}.{n // len(LABELS):05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y.astype(np.float32), sr)
    return root


def seconds_per_pass(batches: Iterable) -> float:
    start = time.perf_counter()
    for _ in batches:
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder (default: data/generated)")
    parser.add_argument("--tracks", type=int, default=40, help="synthetic tracks when there is no dataset")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each synthetic track")
    parser.add_argument("--sr", type=int, default=11025, help="sample rate of the synthetic tracks (GTZAN: 22050)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3, help="warm passes (the median is reported)")
    args = parser.parse_args()

    config = AudioConfig()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.data or project_paths(fast=False).data
        if not root.is_dir():
            print(f"dataset: {args.tracks} synthetic tracks of {args.seconds:g} s at {args.sr} Hz (no {root})")
            root = write_synthetic(Path(scratch) / "audio", args.tracks, args.seconds, args.sr)
        else:
            print(f"dataset: {root}")
        classes, excerpts = scan_folder(root, config)
        print(f"{len(classes)} classes, {len(excerpts)} excerpts of {config.duration:g} s, batch {args.batch_size}")
        magnitude(np.zeros(config.n_samples, np.float32), config)  # librosa's one-off warm-up, not the pipeline's

        cache = SpectrogramCache(Path(scratch) / "cache", config)
        dataset = make_dataset(excerpts, classes, cache, batch_size=args.batch_size, shuffle=True)
        cold = seconds_per_pass(dataset)
        decoded = cache.decodes
        warm = statistics.median(seconds_per_pass(dataset) for _ in range(args.epochs))
        rerun = SpectrogramCache(Path(scratch) / "cache", config)  # a second run: new object, same folder
        second_run = seconds_per_pass(make_dataset(excerpts, classes, rerun, batch_size=args.batch_size))

        import tensorflow as tf

        x, y = to_arrays(excerpts, classes, cache)
        in_memory = tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
        memory = statistics.median(seconds_per_pass(in_memory) for _ in range(args.epochs))

    n = len(excerpts)
    print(f"cold cache : {n / cold:9.1f} examples/s  ({cold:.2f} s, {decoded} decodes)")
    print(f"warm cache : {n / warm:9.1f} examples/s  ({warm:.2f} s, median of {args.epochs} epochs, "
          f"{cache.decodes - decoded} decodes)")
    print(f"second run : {n / second_run:9.1f} examples/s  ({second_run:.2f} s, {rerun.decodes} decodes)")
    print(f"in memory  : {n / memory:9.1f} examples/s  ({memory:.2f} s)")
    print(f"warm/cold  : {cold / warm:9.1f} x")


if __name__ == "__main__":
    main()
