"""Time the generation of the default dataset (with and without stems) and of the paper's 124 stimuli.

By default the default dataset is timed on a fraction (``--tracks`` tracks per style, all eight styles, 12 s each)
and extrapolated linearly to the full 40 tracks per style; ``--tracks 40`` times the full set. Side by side in the
same run: the tracks alone, the tracks with their stems, and the same tracks rendered the way they were before
stems existed (all parts on one synthesizer, not written), whose ratio is what rendering each stem on its own
synthesizer costs. The stimuli are always generated in full. As a sanity check of the dataset, a linear classifier
on per-excerpt log-mel statistics (mean and standard deviation of 40 bands over each 4 s excerpt), cross-validated
by track, says how separable the styles are; it is a floor for what a CNN can do (and needs ``--tracks`` of 5 or
more to mean much).

Usage: ``python benchmarks/bench_generate.py [--tracks N] [--seconds S]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from auralisation.synth import DEFAULT_STYLES, generate_default, generate_stimuli, render
from auralisation.synth.compose import compose_track, recording

FULL_TRACKS = 40


def separability(paths: list[Path], excerpt_s: float = 4.0) -> float:
    """Cross-validated (grouped by track) accuracy of logistic regression on log-mel statistics of excerpts."""
    import librosa
    import soundfile as sf
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels, groups = [], [], []
    for path in paths:
        y, sr = sf.read(path)
        n = int(excerpt_s * sr)
        for start in range(0, len(y) - n + 1, n):
            mel = librosa.feature.melspectrogram(y=y[start : start + n], sr=sr, n_fft=512, hop_length=256, n_mels=40)
            log_mel = np.log(mel + 1e-6)
            features.append(np.concatenate([log_mel.mean(axis=1), log_mel.std(axis=1)]))
            labels.append(path.parent.name)
            groups.append(str(path))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
    folds = min(5, len(paths) // len(set(labels)))
    return float(np.mean(cross_val_score(model, np.array(features), labels, groups=groups, cv=GroupKFold(folds))))


def joint_rendering(tracks: int, seconds: float) -> float:
    """Seconds to render the tracks with all their parts on one synthesizer (the rendering before stems)."""
    start = time.perf_counter()
    for name in DEFAULT_STYLES:
        for index in range(tracks):
            take = recording(name, 0, index)
            take.colour(render(compose_track(name, 0, index, seconds), seconds, room=take.room))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=5, help="tracks per style to time (default 5; 40 = full set)")
    parser.add_argument("--seconds", type=float, default=12.0, help="track length in seconds (default 12)")
    args = parser.parse_args()

    n_full = FULL_TRACKS * len(DEFAULT_STYLES)
    with tempfile.TemporaryDirectory() as folder:
        generate_default(Path(folder) / "warm-up", tracks_per_style=1, seconds=1.0, progress=False)  # imports, disk
        timings = {}
        for label, stems in (("tracks", False), ("tracks and stems", True)):
            start = time.perf_counter()
            paths = generate_default(Path(folder) / label.replace(" ", "_"), tracks_per_style=args.tracks,
                                     seconds=args.seconds, stems=stems, progress=False)
            timings[label] = time.perf_counter() - start
        timings["one synthesizer per track (before stems)"] = joint_rendering(args.tracks, args.seconds)
        reference = timings["one synthesizer per track (before stems)"]
        print(f"default dataset, {len(paths)} tracks of {args.seconds:g} s:")
        for label, elapsed in timings.items():
            per_track = elapsed / len(paths)
            print(f"  {label}: {elapsed:.1f} s ({per_track:.3f} s per track, {per_track / args.seconds * 1000:.1f} ms "
                  f"per second of audio; {elapsed / reference:.2f}x one synthesizer per track); the full set "
                  f"({FULL_TRACKS} x {len(DEFAULT_STYLES)} = {n_full} tracks): {per_track * n_full:.0f} s")
        print(f"  style separability (log-mel statistics + logistic regression, grouped CV): "
              f"{separability(paths):.3f} (chance {1 / len(DEFAULT_STYLES):.3f})")

        start = time.perf_counter()
        generate_stimuli(Path(folder) / "stimuli", progress=False)
        elapsed = time.perf_counter() - start
        print(f"stimuli: 124 clips of 4 s in {elapsed:.1f} s ({elapsed / 124:.3f} s per clip)")


if __name__ == "__main__":
    main()
