"""Time the generation of the default dataset and of the paper's 124 stimuli; print the figures.

By default the default dataset is timed on a fraction (``--tracks`` tracks per style, all eight styles, 12 s each)
and extrapolated linearly to the full 40 tracks per style; ``--tracks 40`` times the full set. The stimuli are
always generated in full. As a sanity check of the dataset, a linear classifier on per-excerpt log-mel statistics
(mean and standard deviation of 40 bands over each 4 s excerpt), cross-validated by track, says how separable the
styles are; it is a floor for what a CNN can do.

Usage: ``python benchmarks/bench_generate.py [--tracks N] [--seconds S]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from auralisation.synth import DEFAULT_STYLES, generate_default, generate_stimuli

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=5, help="tracks per style to time (default 5; 40 = full set)")
    parser.add_argument("--seconds", type=float, default=12.0, help="track length in seconds (default 12)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        paths = generate_default(Path(folder) / "default", tracks_per_style=args.tracks, seconds=args.seconds,
                                 progress=False)
        elapsed = time.perf_counter() - start
        per_track = elapsed / len(paths)
        full = per_track * FULL_TRACKS * len(DEFAULT_STYLES)
        print(f"default dataset: {len(paths)} tracks of {args.seconds:g} s in {elapsed:.1f} s "
              f"({per_track:.3f} s per track, {per_track / args.seconds * 1000:.1f} ms per second of audio)")
        if args.tracks != FULL_TRACKS:
            print(f"  extrapolated to the full set ({FULL_TRACKS} x {len(DEFAULT_STYLES)} = "
                  f"{FULL_TRACKS * len(DEFAULT_STYLES)} tracks): {full:.0f} s")
        print(f"  style separability (log-mel statistics + logistic regression, grouped CV): "
              f"{separability(paths):.3f} (chance {1 / len(DEFAULT_STYLES):.3f})")

        start = time.perf_counter()
        generate_stimuli(Path(folder) / "stimuli", progress=False)
        elapsed = time.perf_counter() - start
        print(f"stimuli: 124 clips of 4 s in {elapsed:.1f} s ({elapsed / 124:.3f} s per clip)")


if __name__ == "__main__":
    main()
