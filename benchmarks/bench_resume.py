"""Resumable training: how repeatable training is here, with and without TF's op determinism, and what resuming costs.

Four training runs of the same seed, each in its own process (op determinism holds for a whole process): two with
TensorFlow's defaults, two with ``--deterministic`` (:func:`auralisation.training.enable_determinism`). For each
pair it prints the largest weight difference and whether the histories are equal, and the seconds per epoch of
each setting (their ratio is the price of determinism). A resumed run can only equal the uninterrupted one where
two uninterrupted runs equal each other. Then it times :class:`auralisation.training.Resume`'s state write after an
epoch for the paper's model (64 filters) and prints the file's size.

Usage::

    python benchmarks/bench_resume.py [--width 16] [--epochs 3] [--tracks 4]

The data is tones in noise written to a temporary folder (three classes, 8 s tracks, 4 s excerpts).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]

_RUN = """
import json, sys
from auralisation import training
from auralisation.io import load_model
root, out, cache, deterministic, width, epochs = sys.argv[1:7]
if deterministic == "1":
    training.enable_determinism(0)
settings = training.TrainSettings(epochs=int(epochs), batch_size=8, width=int(width), learning_rate=1e-3,
                                  patience=100, seed=0)
data = training.prepare_data(root, training.ARCH_CONFIGS["choi2016"], cache, seed=0)
training.train_and_evaluate(data, out, settings, verbose=0)
"""


def write_tones(root: Path, tracks: int, sr: int = 11025, seconds: float = 8.0) -> Path:
    """Three classes of tones in noise, ``tracks`` tracks each."""
    rng = np.random.default_rng(0)
    t = np.arange(int(sr * seconds)) / sr
    for label, (low, high) in {"low": (150, 300), "mid": (900, 1400), "high": (3000, 4000)}.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for k in range(tracks):
            y = 0.4 * np.sin(2 * np.pi * rng.uniform(low, high) * t) + 0.05 * rng.standard_normal(len(t))
            sf.write(root / label / f"{label}.{k:05d}.wav", y.astype(np.float32), sr, subtype="PCM_16")
    return root


def train(root: Path, out: Path, cache: Path, deterministic: bool, width: int, epochs: int) -> dict:
    """One run in a fresh process; its history and weights."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", _RUN, str(root), str(out), str(cache), "1" if deterministic else "0",
                    str(width), str(epochs)], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from auralisation.io import load_model

    history = json.loads((out / "history.json").read_text())
    return {"seconds": history.pop("seconds"), "history": history,
            "weights": load_model(out).model.get_weights()}


def state_write_seconds() -> tuple[float, int]:
    """Seconds and bytes of one Resume state write for the paper's model (64 filters, 10 classes, RMSprop)."""
    import keras

    from auralisation.audio import AudioConfig
    from auralisation.models import choi2016
    from auralisation.training import HistoryWriter, Resume, TrainSettings, compile_model

    settings = TrainSettings()
    model = compile_model(choi2016(AudioConfig(), 10, width=64, seed=0), settings)
    model.optimizer.build(model.trainable_variables)
    folder = Path(tempfile.mkdtemp())
    stopping = keras.callbacks.EarlyStopping(restore_best_weights=True)
    stopping.set_model(model)
    stopping.on_train_begin()
    stopping.best_weights = model.get_weights()
    resume = Resume(folder / "resume.npz", settings, "data", stopping, None, HistoryWriter(None))
    resume.set_model(model)
    times = []
    for epoch in range(3):
        tic = time.perf_counter()
        resume.on_epoch_end(epoch)
        times.append(time.perf_counter() - tic)
    return float(np.median(times)), (folder / "resume.npz").stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tracks", type=int, default=4, help="tracks per class")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = write_tones(Path(folder) / "tones", args.tracks)
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for repeat in range(2):
            for deterministic in (False, True):  # alternating, so that both settings see the same machine load
                out = Path(folder) / f"run-{int(deterministic)}-{repeat}"
                runs[deterministic].append(train(root, out, Path(folder) / "cache", deterministic, args.width,
                                                 args.epochs))
    print(f"choi2016, width {args.width}, {args.epochs} epochs, batch 8, {3 * args.tracks * 2} excerpts")
    per_epoch = {}
    for deterministic, (first, second) in runs.items():
        name = "op determinism" if deterministic else "TF defaults   "
        largest = max(float(np.max(np.abs(a - b))) for a, b in zip(first["weights"], second["weights"]))
        per_epoch[deterministic] = float(np.median(first["seconds"][1:] + second["seconds"][1:]))
        print(f"{name}: two runs' largest weight difference {largest:.3g}, histories equal: "
              f"{first['history'] == second['history']}, {per_epoch[deterministic]:.2f} s per epoch (median after "
              "the first)")
    print(f"op determinism / defaults, seconds per epoch: {per_epoch[True] / per_epoch[False]:.2f}")
    seconds, size = state_write_seconds()
    print(f"resume state of the paper's model (64 filters): {size / 1e6:.1f} MB, written in {seconds:.2f} s per epoch")


if __name__ == "__main__":
    main()
