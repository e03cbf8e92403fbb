"""How fast are the musicnn taggers explained and run? And how much does the STFT's padding change their tags?

(1) **Deconvolution**, for ``musicnn:MSD_vgg`` (5 blocks x 128 = 640 features) and ``musicnn:MSD_musicnn`` (its 5
    front-end blocks: 204 + 204 + 3 x 51 = 561 features): all features of every block of one 2.976 s patch by the
    shared-forward engine, against the compute limit measured in the same run: the multiply-adds of the backward
    pass counted from the layer shapes (for a feature of a block, the transposed convolution of its block from its
    one channel, every convolution below it dense, and the mel filterbank's transpose back to the 257 STFT bins),
    divided by this machine's convolution throughput measured before and after (the better of the two), both on
    ``bench_deconv.conv_throughput``'s shape (3x3, 64 to 64 channels on 128 x 86) and on the VGG's own conv2
    shape (3x3, 128 to 128 channels on 48 x 92), which runs at fewer FLOP/s here; also by CPU time (less sensitive
    to other processes on a shared machine). Goal: within 1.5x.
(2) **Tagging**: :func:`auralisation.predict` on one minute of audio (STFT, front end, network), per model, in
    seconds per minute of audio.
(3) **Padding**: the port computes each clip's STFT with zero padding at its ends (today's librosa and this
    package's STFT); musicnn's librosa 0.7 padded by reflection, once for the whole file. On the clips of a folder
    (``--audio DIR``; default: a minute of synthetic chords and clicks), the tags (sigmoids) of each patch by
    (a) the port as shipped, (b) the port on reflection-padded clips, (c) musicnn's own way (the whole file's
    reflection-padded STFT cut into 187-frame patches): largest and mean absolute difference of a tag's
    probability, and how often the top tag and the top 5 agree.

Times are the best of ``--repeats`` runs after a warm-up (the machine may be shared: compare ratios).

Run: ``python benchmarks/bench_pretrained.py [--repeats 3] [--audio DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_deconv import CORES, CPU_TIMES, best_time, conv_throughput, test_clip  # noqa: E402

from auralisation import predict  # noqa: E402
from auralisation.audio import AUDIO_EXTENSIONS, magnitude  # noqa: E402
from auralisation.deconv import Deconvolver  # noqa: E402
from auralisation.io import load_model  # noqa: E402
from auralisation.models import TrainedModel  # noqa: E402
from auralisation.tagging import clips_of, load_recording  # noqa: E402


def backward_flops(model: keras.Model, deconvolver: Deconvolver) -> int:
    """FLOPs (2 x multiply-adds) of deconvolving every feature of every block down to the linear STFT."""
    bank = model.get_layer("filterbank").matrix
    to_bins = bank.shape[0] * bank.shape[1] * model.get_layer("filterbank").output.shape[2]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    total = 0
    for block in deconvolver.layer_names:
        # the convolutions between the block and the input: those whose output it depends on
        below = [conv for conv in convs if _feeds(model, conv.name, block)]
        top, rest = below[-1], below[:-1]
        macs = _macs(top) // top.filters + sum(_macs(conv) for conv in rest) + to_bins
        total += deconvolver.n_features(block) * macs
    return 2 * total


def _macs(conv: keras.layers.Conv2D) -> int:
    height, width = conv.output.shape[1:3]
    kh, kw, cin, cout = conv.kernel.shape
    return int(height * width * kh * kw * cin * cout)


def _feeds(model: keras.Model, source: str, target: str) -> bool:
    """Whether layer ``source``'s output reaches layer ``target``."""
    seen, todo = set(), [model.get_layer(target)]
    while todo:
        layer = todo.pop()
        if layer.name == source:
            return True
        for node in layer._inbound_nodes:
            for parent in node.parent_nodes:
                if parent.operation.name not in seen:
                    seen.add(parent.operation.name)
                    todo.append(parent.operation)
    return False


#: The VGG's conv2 shape: batch, height, width, channels in and out.
VGG_CONV = (32, 48, 92, 128, 128)


def vgg_conv_throughput(repeats: int) -> float:
    """FLOP/s of a 3x3 ``tf.nn.conv2d`` of the VGG's conv2 shape (batch 32); its CPU time under ``"vgg conv"``."""
    n, h, w, cin, cout = VGG_CONV
    x = tf.random.normal((n, h, w, cin), seed=0)
    kernel = tf.random.normal((3, 3, cin, cout), seed=1)
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    return 2 * n * h * w * cin * cout * 9 / best_time(lambda: conv(x).numpy(), repeats, "vgg conv")


def deconvolution(name: str, S: np.ndarray, repeats: int) -> dict[str, float]:
    """Deconvolve every feature of every block of one patch; print the figures and return them."""
    trained = load_model(f"musicnn:{name}")
    deconvolver = Deconvolver(trained.model)
    layers = deconvolver.layer_names
    counts = [deconvolver.n_features(layer) for layer in layers]
    generic, own = conv_throughput(repeats), vgg_conv_throughput(repeats)
    per_layer = [best_time(lambda layer=layer: deconvolver.deconvolve(S, layer), repeats, f"{name} {layer}")
                 for layer in layers]
    generic, own = max(generic, conv_throughput(repeats)), max(own, vgg_conv_throughput(repeats))
    a = sum(per_layer)
    flops = backward_flops(trained.model, deconvolver)
    n, h, w, cin, cout = VGG_CONV
    a_cpu = sum(CPU_TIMES[f"{name} {layer}"] for layer in layers)
    d_cpu = flops / (2 * n * h * w * cin * cout * 9 / CPU_TIMES["vgg conv"])
    print(f"{name}: {sum(counts)} features ({' + '.join(map(str, counts))}) of one patch: shared forward {a:.3f} s "
          f"(per block {', '.join(f'{t:.3f}' for t in per_layer)}); {flops / 1e9:.1f} GFLOP; compute limit "
          f"{flops / own:.3f} s at the VGG conv's {own / 1e9:.0f} GFLOP/s (ratio {a * own / flops:.2f}), "
          f"{flops / generic:.3f} s at bench_deconv's {generic / 1e9:.0f} GFLOP/s (ratio {a * generic / flops:.2f}); "
          f"by CPU time / {CORES} cores: {a_cpu:.3f} s against {d_cpu:.3f} s (ratio {a_cpu / d_cpu:.2f}); goal "
          f"<= 1.5; fell back to the tape on: {', '.join(sorted(deconvolver._tape_only)) or 'nothing'}")
    return {"features": sum(counts), "seconds": a, "gflop": flops / 1e9, "limit": flops / own,
            "ratio": a * own / flops, "cpu_ratio": a_cpu / d_cpu}


def tagging(name: str, minute: np.ndarray, repeats: int) -> float:
    """Seconds :func:`auralisation.predict` takes on a minute of audio (printed)."""
    trained = load_model(f"musicnn:{name}")
    seconds = best_time(lambda: predict(trained, minute), repeats)
    print(f"{name}: tagging {seconds:.2f} s per minute of audio ({len(clips_of(minute, trained.config.n_samples))} "
          "patches)")
    return seconds


def speed_markdown(deconvolved: dict[str, dict[str, float]], tagged: dict[str, float], load: float) -> str:
    """The ``tagger-speed`` block (:mod:`auralisation.records`) of one run's figures."""
    import datetime

    from auralisation.provenance import cpu

    lines = ["| tagger | tagging: s per minute of audio | deconvolution of every feature of one patch | its compute "
             "limit | ratio (wall; CPU time) |", "|---|---|---|---|---|"]
    for name, seconds in tagged.items():
        d = deconvolved.get(name)
        cells = ("", "", "")
        if d:
            cells = (f"{d['features']:.0f} features in {d['seconds']:.2f} s",
                     f"{d['limit']:.2f} s ({d['gflop']:.0f} GFLOP)", f"{d['ratio']:.2f}; {d['cpu_ratio']:.2f}")
        lines.append(f"| {name} | {seconds:.2f} | " + " | ".join(cells) + " |")
    return ("Generated by `python benchmarks/bench_pretrained.py --publish`; do not edit by hand. Measured on "
            f"{datetime.date.today().isoformat()}, {cpu()}, load average {load:.1f} at the start. Tagging is `auralisation.predict` (STFT, mel front end, "
            "network) on a minute of audio; the deconvolution is every feature of every block of one 2.976 s patch "
            "(the VGG's 5 x 128, the musicnn front end's 561), the limit its multiply-adds at the convolution "
            "throughput measured in the same run, the ratio the time over the limit (goal 1.5; the musicnn front "
            "end's limit is tiny, so its per-layer overhead dominates).\n\n" + "\n".join(lines))


def reflected(trained: TrainedModel, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tags of each clip with reflection padding per clip, and musicnn's way (the whole file padded once)."""
    config = trained.config
    probabilities = trained.model.predict

    def spectrogram(signal: np.ndarray) -> np.ndarray:
        return np.abs(librosa.stft(signal, n_fft=config.n_fft, hop_length=config.hop_length, pad_mode="reflect"))

    clips = clips_of(y, config.n_samples)
    per_clip = probabilities(np.stack([spectrogram(c) for c in clips])[..., None], verbose=0)
    whole = spectrogram(y)
    frames = config.n_frames
    patches = np.stack([whole[:, i * frames : (i + 1) * frames] for i in range(whole.shape[1] // frames)])
    return per_clip, probabilities(patches[..., None], verbose=0)


def padding(names: list[str], recordings: list[np.ndarray]) -> None:
    for name in names:
        trained = load_model(f"musicnn:{name}")
        a, b, c = [], [], []
        for y in recordings:
            ours = predict(trained, y)
            per_clip, whole = reflected(trained, y)
            n = min(len(ours), len(whole))
            a.append(ours[:n])
            b.append(per_clip[:n])
            c.append(whole[:n])
        a, b, c = (np.concatenate(x) for x in (a, b, c))
        for label, other in (("reflection per clip", b), ("musicnn's way (whole file)", c)):
            diff = np.abs(a - other)
            top1 = np.mean(np.argmax(a, 1) == np.argmax(other, 1))
            top5 = np.mean([set(np.argsort(-p)[:5]) == set(np.argsort(-q)[:5]) for p, q in zip(a, other)])
            print(f"{name}: zero padding vs {label}, {len(a)} patches: |dp| max {diff.max():.4f}, mean "
                  f"{diff.mean():.5f}; same top tag {100 * top1:.0f}%, same top-5 set {100 * top5:.0f}%")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (best is kept)")
    parser.add_argument("--audio", type=Path, help="a folder of music for the padding measure")
    parser.add_argument("--publish", action="store_true",
                        help="write the speeds into the README and docs/pretrained.md (their tagger-speed block)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    vgg = load_model("musicnn:MSD_vgg")
    config = vgg.config
    y = test_clip(config)
    S = magnitude(y, config)
    print(f"patch {config.duration:g} s at {config.sr} Hz: spectrogram {S.shape[0]} x {S.shape[1]}; {os.cpu_count()} "
          f"CPUs; load average {load:.1f}")
    deconvolved = {name: deconvolution(name, S, args.repeats) for name in ("MSD_vgg", "MSD_musicnn")}
    minute = np.tile(test_clip(config), int(np.ceil(60 * config.sr / config.n_samples)))[: 60 * config.sr]
    names = ("MSD_vgg", "MTT_vgg", "MSD_musicnn", "MTT_musicnn")
    tagged = {name: tagging(name, minute, args.repeats) for name in names}
    if args.publish:
        from auralisation.records import markdown_record, publish

        print(f"published: {publish('tagger-speed', markdown_record(speed_markdown(deconvolved, tagged, load)))}")
    if args.audio is not None:
        files = sorted(p for p in args.audio.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
        recordings = [load_recording(path, vgg) for path in files]
        print(f"padding measured on {len(files)} files of {args.audio}")
    else:
        recordings = [minute]
        print("padding measured on the synthetic minute (give --audio DIR for music)")
    padding(["MSD_vgg", "MTT_vgg", "MSD_musicnn", "MTT_musicnn"], recordings)


if __name__ == "__main__":
    main()
