"""How fast is deconvolution? All 5 x 64 features of one 4 s clip, four ways, in one run.

(a) as shipped: :meth:`Deconvolver.deconvolve` with ``features=None`` per layer (one shared forward pass per
    call, the features batched);
(b) the definition: a Python loop of one GradientTape call per feature (``engine="tape"``, one feature at a time);
(c) the authors' way: a per-feature, per-channel numpy/scipy loop (``tests/reference_deconv.py``), timed on a few
    features per layer and extrapolated to 64;
(d) the compute limit: the multiply-adds of the backward pass counted from the layer shapes (the top block's
    transposed convolution from one channel, every block below it dense), divided by the convolution throughput
    of this machine measured in the same run on a large ``tf.nn.conv2d`` (just before and just after (a); the
    better of the two).

Then, for each model of :mod:`auralisation.zoo` (the architectures users bring: a compact mel convnet with BN and
ELU, a short-chunk ResNet, a musicnn-like front end, a VGGish-like net with a nested backbone, a waveform model with
an STFT layer), all features of every block of the same clip, by the shared forward against one GradientTape call
per feature.

Times are the best of ``--repeats`` runs (wall clock) after one warm-up run that compiles the functions; the
machine may be shared, so the best run is the least disturbed. The model is ``models/choi2016`` when it exists (the
trained one), else a randomly initialised ``choi2016``; the output says which.

Run: ``python benchmarks/bench_deconv.py [--repeats 3] [--reference-features 1] [--no-zoo]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import reference_deconv as reference  # noqa: E402
from auralisation import zoo  # noqa: E402
from auralisation.audio import AudioConfig, magnitude  # noqa: E402
from auralisation.deconv import Deconvolver  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402


#: CPU time spent by the process, shared by all its threads, is divided by this to estimate an unloaded wall time.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

#: Best CPU time (divided by :data:`CORES`) of each measurement, by name: less disturbed by other processes.
CPU_TIMES: dict[str, float] = {}


def best_time(run: Callable[[], object], repeats: int, name: str = "") -> float:
    """Best wall-clock time of ``repeats`` calls, after one warm-up call (and the best CPU time under ``name``)."""
    run()
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu.append((time.process_time() - start_cpu) / CORES)
    if name:
        CPU_TIMES[name] = min(CPU_TIMES.get(name, np.inf), min(cpu))
    return min(times)


def load_benchmark_model() -> tuple[keras.Model, AudioConfig, str]:
    """The trained model if there is one, else a random choi2016; and a description."""
    folder = project_paths(fast=False).models / "choi2016"
    if (folder / "model.keras").is_file():
        from auralisation.io import load_model

        trained = load_model(folder)
        return trained.model, trained.config, f"trained model {folder}"
    config = AudioConfig()
    return choi2016(config, n_classes=10, seed=0), config, "randomly initialised choi2016 (no models/choi2016 yet)"


def test_clip(config: AudioConfig) -> np.ndarray:
    """A 4 s clip with harmonics, onsets and noise, as samples."""
    rng = np.random.default_rng(0)
    t = np.arange(config.n_samples) / config.sr
    y = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((220.0, 440.0, 660.0, 1320.0)))
    y = y * (0.6 + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0)) + 0.05 * rng.standard_normal(len(t))
    return (0.2 * y).astype(np.float32)


def reference_blocks(model: keras.Model, n_blocks: int) -> list[reference.Block]:
    """The first ``n_blocks`` blocks of a choi2016 model as reference blocks."""
    blocks = []
    for i in range(1, n_blocks + 1):
        kernel, bias = model.get_layer(f"conv{i}").get_weights()
        blocks.append(reference.Block(kernel.astype(np.float64), bias.astype(np.float64)))
    return blocks


def backward_flops(model: keras.Model, deconvolver: Deconvolver) -> int:
    """Multiply-adds x 2 of deconvolving every feature of every block, from the layer shapes.

    For a feature of block ``L``: the transposed convolution of block ``L`` from the feature's one channel, then
    the dense transposed convolution of every block below. Unpooling and rectification are not counted.
    """
    convs = [model.get_layer(f"conv{i}") for i in range(1, len(deconvolver.layer_names) + 1)]
    per_block = []
    for conv in convs:
        height, width = conv.output.shape[1:3]
        kh, kw, cin, cout = conv.kernel.shape
        per_block.append((height * width * kh * kw * cin, cout))
    total = 0
    for top in range(len(convs)):
        macs = per_block[top][0] + sum(m * c for m, c in per_block[:top])
        total += per_block[top][1] * macs
    return 2 * total


def conv_throughput(repeats: int) -> float:
    """FLOP/s of a large 3x3, 64-to-64-channel ``tf.nn.conv2d`` (the conv2 shape, batch 32)."""
    x = tf.random.normal((32, 128, 86, 64), seed=0)
    kernel = tf.random.normal((3, 3, 64, 64), seed=1)
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    seconds = best_time(lambda: conv(x).numpy(), repeats, "conv")
    return 2 * 32 * 128 * 86 * 64 * 64 * 9 / seconds


def zoo_figures(config: AudioConfig, S: np.ndarray, y: np.ndarray, repeats: int) -> None:
    """Shared forward against the per-feature tape, all features of every block of each zoo model."""
    for name in zoo.ZOO:
        at = zoo.spectrogram_layer(name)
        model = zoo.build(name, config, n_classes=10)
        inputs = y[:, None] if at else S
        deconvolver = Deconvolver(model, at=at)
        layers = deconvolver.layer_names
        counts = [deconvolver.n_features(layer) for layer in layers]

        def shared() -> None:
            for layer in layers:
                deconvolver.deconvolve(inputs, layer)

        def per_feature() -> None:
            for layer, count in zip(layers, counts):
                for k in range(count):
                    deconvolver.deconvolve(inputs, layer, [k], engine="tape")

        fast = best_time(shared, repeats)
        tape = best_time(per_feature, 1)
        print(f"zoo {name:9s} {len(layers)} blocks, {sum(counts):4d} features: shared forward {fast:7.3f} s, tape per "
              f"feature {tape:7.3f} s ({tape / fast:.1f}x); walk fell back to the tape on: "
              f"{', '.join(sorted(deconvolver._tape_only)) or 'nothing'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (best is kept)")
    parser.add_argument("--reference-features", type=int, default=1, help="features per layer timed for (c)")
    parser.add_argument("--no-zoo", action="store_true", help="skip the zoo models")
    args = parser.parse_args(argv)

    model, config, which = load_benchmark_model()
    deconvolver = Deconvolver(model)
    y = test_clip(config)
    S = magnitude(y, config)
    layers = range(1, len(deconvolver.layer_names) + 1)
    counts = [deconvolver.n_features(layer) for layer in layers]
    total = sum(counts)
    print(f"model: {which}; clip {config.duration:g} s, spectrogram {S.shape[0]} x {S.shape[1]}; "
          f"{total} deconvolutions ({' + '.join(map(str, counts))}); TensorFlow threads: intra "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default'}, {os.cpu_count()} CPUs")

    throughput = conv_throughput(args.repeats)
    start = time.perf_counter()
    for layer in layers:
        deconvolver.deconvolve(S, layer)
    first = time.perf_counter() - start
    per_layer = [
        best_time(lambda layer=layer: deconvolver.deconvolve(S, layer), args.repeats, f"layer {layer}")
        for layer in layers
    ]
    a = sum(per_layer)
    throughput = max(throughput, conv_throughput(args.repeats))  # measured around (a), in the same conditions
    print(f"(a) as shipped:             {a:8.3f} s  (per layer {', '.join(f'{t:.3f}' for t in per_layer)}; "
          f"first call with compilation {first:.2f} s)")

    tape = Deconvolver(model)
    def loop() -> None:
        for layer, count in zip(layers, counts):
            for k in range(count):
                tape.deconvolve(S, layer, [k], engine="tape")
    b = best_time(loop, 1)
    print(f"(b) GradientTape per feature:{b:8.3f} s  ({1e3 * b / total:.1f} ms per feature)")

    c = 0.0
    blocks = reference_blocks(model, len(deconvolver.layer_names))
    for layer, count in zip(layers, counts):
        start = time.perf_counter()
        for k in range(args.reference_features):
            reference.deconvolve(S if model.get_layer("scaling").scaling == "linear" else np.log1p(S), blocks[:layer], k)
        c += (time.perf_counter() - start) / args.reference_features * count
    print(f"(c) numpy/scipy per feature: {c:8.1f} s  (extrapolated from {args.reference_features} feature(s) per "
          "layer)")

    flops = backward_flops(model, deconvolver)
    d = flops / throughput
    print(f"(d) compute limit:          {d:8.3f} s  ({flops / 1e9:.0f} GFLOP at {throughput / 1e9:.0f} GFLOP/s)")
    print(f"a/d = {a / d:.2f} (goal <= 1.5); b/a = {b / a:.1f}; c/a = {c / a:.0f} (goal >= 20)")
    a_cpu = sum(CPU_TIMES[f"layer {layer}"] for layer in layers)
    d_cpu = flops / (2 * 32 * 128 * 86 * 64 * 64 * 9 / CPU_TIMES["conv"])
    print(f"by CPU time / {CORES} cores (less sensitive to other processes on the machine): a = {a_cpu:.3f} s, "
          f"d = {d_cpu:.3f} s, a/d = {a_cpu / d_cpu:.2f}; load average now {os.getloadavg()[0]:.1f}")
    if not args.no_zoo:
        zoo_figures(config, S, y, args.repeats)


if __name__ == "__main__":
    main()
