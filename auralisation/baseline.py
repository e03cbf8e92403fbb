"""A simple baseline on the same split: logistic regression on MFCC means and standard deviations.

The MFCCs are computed from the cached linear magnitude spectrogram (power -> mel -> dB -> DCT with librosa), so
the baseline sees exactly the excerpts the CNN sees and decodes no audio of its own.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> S = np.abs(np.random.default_rng(0).standard_normal((257, 173))).astype(np.float32)
>>> mfcc_statistics(S, AudioConfig()).shape
(40,)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import librosa
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .audio import AudioConfig
from .data import label_indices
from .errors import DatasetError
from .evaluate import Evaluation, evaluate_predictions

if TYPE_CHECKING:
    from .data import Excerpt, SpectrogramCache

__all__ = ["baseline", "fit_baseline", "mfcc_statistics"]

#: MFCC coefficients per frame (the features are their means and standard deviations: twice as many).
N_MFCC = 20

#: Mel bands the MFCCs are computed from.
N_MELS = 40


def mfcc_statistics(
    S: np.ndarray, config: AudioConfig, *, n_mfcc: int | None = None, n_mels: int | None = None
) -> np.ndarray:
    """Means and standard deviations over time of the MFCCs of one linear magnitude spectrogram.

    Parameters
    ----------
    S : numpy.ndarray
        Linear magnitude ``(n_bins, n_frames)`` (a trailing channel axis of 1 is accepted).
    config : AudioConfig
        Sample rate and FFT size of ``S``.
    n_mfcc : int, optional
        MFCC coefficients; :data:`N_MFCC` (at most ``n_mels``) by default.
    n_mels : int, optional
        Mel bands; :data:`N_MELS` by default, at most a quarter of the frequency bins so that no mel filter
        falls between two bins (small FFT sizes).

    Returns
    -------
    numpy.ndarray
        float64 ``(2 * n_mfcc,)``: the ``n_mfcc`` means, then the ``n_mfcc`` standard deviations.
    """
    n_mels = min(N_MELS, config.n_bins // 4) if n_mels is None else n_mels
    n_mfcc = min(N_MFCC, n_mels) if n_mfcc is None else n_mfcc
    S = np.asarray(S, dtype=np.float64).reshape(config.n_bins, -1)
    mel = librosa.feature.melspectrogram(S=S**2, sr=config.sr, n_fft=config.n_fft, n_mels=n_mels)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])


def mfcc_features(excerpts: Sequence["Excerpt"], cache: "SpectrogramCache", **kwargs: int) -> np.ndarray:
    """:func:`mfcc_statistics` of every excerpt's cached spectrogram, ``(n, 2 * n_mfcc)``."""
    return np.stack([mfcc_statistics(cache.get(excerpt), cache.config, **kwargs) for excerpt in excerpts])


def fit_baseline(features: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> Pipeline:
    """Fit standardisation then multinomial logistic regression on ``features``."""
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    return classifier.fit(features, labels)


def baseline(
    train: Sequence["Excerpt"],
    test: Sequence["Excerpt"],
    classes: Sequence[str],
    cache: "SpectrogramCache",
    *,
    seed: int = 0,
    **kwargs: int,
) -> Evaluation:
    """Fit the MFCC baseline on ``train`` and score it on ``test`` (per excerpt and per track).

    Every class must appear in ``train`` (the classifier's columns are then the classes in order).
    """
    labels = label_indices(train, classes)
    missing = sorted(set(range(len(classes))) - set(labels.tolist()))
    if missing:
        raise DatasetError(
            f"the training split has no excerpt of class(es) {[classes[i] for i in missing]}; "
            "add tracks to those classes"
        )
    classifier = fit_baseline(mfcc_features(train, cache, **kwargs), labels, seed=seed)
    probabilities = classifier.predict_proba(mfcc_features(test, cache, **kwargs))
    return evaluate_predictions(probabilities, label_indices(test, classes), [e.track for e in test], classes)
