"""The listenable-maps protocol: explanations as masks on the linear magnitude, scored by seven numbers.

Since L-MAC (Paissan, Ravanelli, Subakan, *Listenable Maps for Audio Classifiers*, ICML 2024), audio explanations
are compared on the protocol of SpeechBrain's ESC-50 "interpret" recipes: an explanation becomes a mask ``M`` in
[0, 1] of the linear STFT magnitude ``X``'s shape, which is *listenable* (``X * M``, inverted with the clip's phase,
exactly as :func:`auralisation.auralise.auralise` does), and it is scored on the classifier ``f`` that it explains.
For a clip with predicted class ``c`` and probability ``p = f(X)_c``, and ``o = f(X * M)_c``:

=======  ======================================================================  ============================
name     per clip (the table gives the mean over clips)                          better
=======  ======================================================================  ============================
AI       average increase: 100 if ``o > p`` else 0 (the share of clips, in %)    higher
AD       average drop: ``100 * max(p - o, 0) / p``                               lower
AG       average gain: ``100 * max(o - p, 0) / (1 - p)``                         higher
FF       faithfulness on spectra: ``p - f(X * (1 - M))_c``                       higher
Fid-In   input fidelity: 1 if ``argmax f(X * M) == argmax f(X)`` else 0          higher
SPS      sparseness: the Gini index of ``M`` (Quantus's ``Sparseness``)         higher
COMP     complexity: the entropy of ``M / sum(M)`` (Quantus's ``Complexity``)   lower
=======  ======================================================================  ============================

AI, AD, AG, FF and Fid-In follow the recipe's ``interpreter_brain.py``/``quantus_eval.py`` (with ``p``, ``o`` the
softmax probabilities, and without the recipe's second softmax in AD); SPS and COMP are Quantus 0.6's formulas with
its defaults (absolute value, then division by the maximum; ``1e-7`` added before the Gini index, ``1e-12`` inside
the logarithm). An all-zero mask has no distribution: its COMP is NaN, as in Quantus, and means skip it.

How a map becomes a mask (:func:`map_to_mask`), the same for every attribution method: its **positive part**,
divided by its maximum over the clip (``"normalised"``, masks in [0, 1] like L-MAC's), or that normalised mask set
to 1 where it reaches ``threshold`` and 0 elsewhere (``"threshold"``, a binary mask). A map with no positive value
gives the all-zero mask. L-MAC's output already is a mask in [0, 1], trained at its own scale (for a network on the
linear magnitude, ``X * M`` and ``X * M / max(M)`` are different inputs): it is used as it is, or thresholded as it
is (``scale=False``).

Examples
--------
>>> p = np.array([[0.8, 0.2], [0.6, 0.4]])          # f(X): both clips predicted as class 0
>>> p_in = np.array([[0.9, 0.1], [0.3, 0.7]])       # f(X * M)
>>> p_out = np.array([[0.5, 0.5], [0.6, 0.4]])      # f(X * (1 - M))
>>> scores = mask_scores(p, p_in, p_out, np.ones((2, 3, 4)))
>>> {name: np.round(values, 3).tolist() for name, values in scores.items() if name not in ("SPS", "COMP")}
{'AI': [100.0, 0.0], 'AD': [0.0, 50.0], 'AG': [50.0, 0.0], 'FF': [0.3, 0.0], 'Fid-In': [1.0, 0.0]}
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import ModelError, ParameterError

__all__ = [
    "HIGHER_IS_BETTER",
    "MASKINGS",
    "SCORES",
    "apply_mask",
    "average_drop",
    "average_gain",
    "average_increase",
    "complexity",
    "faithfulness_on_spectra",
    "input_fidelity",
    "map_to_mask",
    "mask_scores",
    "sparseness",
]

#: The seven numbers, in the order the tables give them.
SCORES: tuple[str, ...] = ("AI", "AD", "AG", "FF", "Fid-In", "SPS", "COMP")

#: Whether a higher value of each score is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "AI": True,
    "AD": False,
    "AG": True,
    "FF": True,
    "Fid-In": True,
    "SPS": True,
    "COMP": False,
}

#: How a map becomes a mask (see :func:`map_to_mask`).
MASKINGS: tuple[str, ...] = ("normalised", "threshold")

#: Quantus adds this to the mask before the Gini index (``Sparseness.evaluate_batch``).
_GINI_EPS = 1e-7

#: Quantus adds this inside the logarithm of the entropy (``Complexity.evaluate_batch``).
_LOG_EPS = 1e-12


def map_to_mask(
    saliency: np.ndarray,
    how: Literal["normalised", "threshold"] = "normalised",
    *,
    threshold: float = 0.5,
    scale: bool = True,
) -> np.ndarray:
    """The mask in [0, 1] of an attribution map: its positive part over its maximum, or that thresholded.

    Parameters
    ----------
    saliency : numpy.ndarray
        One map, ``(bins, frames)``, in any units; only its positive part counts (evidence *for* the class).
    how : {"normalised", "threshold"}
        ``"normalised"``: ``max(m, 0) / max(m)``. ``"threshold"``: 1 where that reaches ``threshold``, else 0.
    threshold : float
        In (0, 1]; only for ``"threshold"``.
    scale : bool
        Divide by the maximum. ``False`` for a map that already is a mask in [0, 1] (L-MAC's): it is kept as it
        is, or thresholded as it is, because its scale is part of what it says.

    Returns
    -------
    numpy.ndarray
        float32, ``saliency``'s shape, in [0, 1]; all zeros when the map has no positive value.

    Examples
    --------
    >>> map_to_mask(np.array([[-2.0, 0.0], [1.0, 4.0]])).tolist()
    [[0.0, 0.0], [0.25, 1.0]]
    >>> map_to_mask(np.array([[-2.0, 0.0], [1.0, 4.0]]), "threshold", threshold=0.2).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    if how not in MASKINGS:
        raise ParameterError(f"unknown masking {how!r}; choose one of {', '.join(MASKINGS)}")
    if not 0.0 < threshold <= 1.0:
        raise ParameterError(f"threshold must lie in (0, 1], got {threshold}")
    values = np.asarray(saliency, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ModelError("the map holds NaN or infinite values; it cannot become a mask")
    positive = np.maximum(values, 0.0)
    peak = positive.max() if positive.size else 0.0
    if not scale:
        if peak > 1.0:
            raise ModelError(f"scale=False takes a mask in [0, 1]; this map reaches {peak:.3g}")
        mask = positive
    else:
        mask = positive / peak if peak > 0 else np.zeros_like(positive)
    if how == "threshold":
        mask = (mask >= threshold).astype(np.float64) if peak > 0 else mask
    return mask.astype(np.float32)


def apply_mask(spectrograms: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The masked-in ``X * M`` and masked-out ``X * (1 - M)`` spectrograms, float32, each of ``X``'s shape.

    Raises
    ------
    ModelError
        Shapes that differ, or a mask outside [0, 1].
    """
    x = np.asarray(spectrograms, dtype=np.float32)
    m = np.asarray(masks, dtype=np.float32)
    if x.shape != m.shape:
        raise ModelError(f"masks of shape {m.shape} do not match spectrograms of shape {x.shape}")
    if m.size and (m.min() < 0.0 or m.max() > 1.0):
        raise ModelError(
            f"a mask must lie in [0, 1], got values in [{m.min():.3g}, {m.max():.3g}]; make one with map_to_mask"
        )
    return x * m, x * (1.0 - m)


def _target_probabilities(probabilities: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``p = f(X)_c`` and ``f(.)_c`` of ``other`` for the predicted class ``c`` of each clip (float64 ``(n,)``)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape != other.shape:
        raise ModelError(
            f"expected class probabilities (clips, classes) of one shape, got {probabilities.shape} and {other.shape}"
        )
    rows = np.arange(len(probabilities))
    predicted = probabilities.argmax(axis=1)
    return probabilities[rows, predicted], other[rows, predicted]


def average_increase(probabilities: np.ndarray, masked_in: np.ndarray) -> np.ndarray:
    """AI per clip: 100 where the masked-in clip's probability of the predicted class rises (``o > p``), else 0.

    ``probabilities`` is ``f(X)`` and ``masked_in`` is ``f(X * M)``, both ``(clips, classes)``; the mean of the
    result is AI in %.
    """
    p, o = _target_probabilities(probabilities, masked_in)
    return 100.0 * (o > p)


def average_drop(probabilities: np.ndarray, masked_in: np.ndarray) -> np.ndarray:
    """AD per clip: ``100 * max(p - o, 0) / p`` (``p = f(X)_c``, ``o = f(X * M)_c``); the mean is AD in %."""
    p, o = _target_probabilities(probabilities, masked_in)
    return 100.0 * np.maximum(p - o, 0.0) / p


def average_gain(probabilities: np.ndarray, masked_in: np.ndarray) -> np.ndarray:
    """AG per clip: ``100 * max(o - p, 0) / (1 - p)``, 0 where ``p = 1`` (nothing to gain); the mean is AG in %."""
    p, o = _target_probabilities(probabilities, masked_in)
    room = 1.0 - p
    gain = np.maximum(o - p, 0.0)
    return 100.0 * np.divide(gain, room, out=np.zeros_like(gain), where=room > 0)


def faithfulness_on_spectra(probabilities: np.ndarray, masked_out: np.ndarray) -> np.ndarray:
    """FF per clip: ``p - f(X * (1 - M))_c``, the probability the predicted class loses when the mask is removed."""
    p, o_out = _target_probabilities(probabilities, masked_out)
    return p - o_out


def input_fidelity(probabilities: np.ndarray, masked_in: np.ndarray) -> np.ndarray:
    """Fid-In per clip: 1 where the masked-in clip gets the clip's class (``argmax``), else 0."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    masked_in = np.asarray(masked_in, dtype=np.float64)
    _target_probabilities(probabilities, masked_in)
    return (masked_in.argmax(axis=1) == probabilities.argmax(axis=1)).astype(np.float64)


def _flat_masks(masks: np.ndarray) -> np.ndarray:
    """Masks ``(clips, ...)`` as float64 ``(clips, bins)``, absolute and divided by their maxima (Quantus's
    ``abs=True`` and ``normalise_by_max``; an all-zero mask stays zero)."""
    a = np.abs(np.asarray(masks, dtype=np.float64))
    a = a.reshape(len(a), -1)
    peak = a.max(axis=1, keepdims=True)
    return np.divide(a, peak, out=np.zeros_like(a), where=peak > 0)


def sparseness(masks: np.ndarray) -> np.ndarray:
    """SPS per mask: the Gini index of the mask's values, Quantus's ``Sparseness`` (Chalasani et al., 2020).

    With the ``n`` values sorted ascending, ``a_1 <= ... <= a_n`` (after ``abs``, division by the maximum and
    ``+ 1e-7``): ``sum_i (2i - n - 1) a_i / (n sum_i a_i)``. 0 for a constant mask (all ones, all zeros), up to
    ``1 - 1/n`` when one bin holds everything.

    Examples
    --------
    >>> sparseness(np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])).round(3).tolist()
    [0.0, 0.75]
    """
    a = np.sort(_flat_masks(masks) + _GINI_EPS, axis=1)
    n = a.shape[1]
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    return (a * weights).sum(axis=1) / (n * a.sum(axis=1))


def complexity(masks: np.ndarray) -> np.ndarray:
    """COMP per mask: the entropy (nats) of the mask as a distribution over bins, Quantus's ``Complexity``.

    ``-sum_i q_i log(q_i + 1e-12)`` with ``q = |M| / sum |M|`` (Bhatt et al., 2020): ``log(n)`` for a constant
    mask over ``n`` bins, 0 for one bin; NaN for an all-zero mask (no distribution; Quantus divides 0 by 0).

    Examples
    --------
    >>> complexity(np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5]])).round(4).tolist()
    [1.3863, 0.6931]
    """
    a = _flat_masks(masks)
    total = a.sum(axis=1, keepdims=True)
    q = np.divide(a, total, out=np.full_like(a, np.nan), where=total > 0)
    return -(q * np.log(q + _LOG_EPS)).sum(axis=1)


def mask_scores(
    probabilities: np.ndarray, masked_in: np.ndarray, masked_out: np.ndarray, masks: np.ndarray
) -> dict[str, np.ndarray]:
    """The seven numbers of :data:`SCORES` for each clip: a dict of float64 ``(clips,)`` arrays.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``f(X)``, ``(clips, classes)``: the class is each row's argmax.
    masked_in, masked_out : numpy.ndarray
        ``f(X * M)`` and ``f(X * (1 - M))``, the same shape.
    masks : numpy.ndarray
        ``M``, ``(clips, bins, frames)``.

    Returns
    -------
    dict of str to numpy.ndarray
        Per-clip values; the mean over clips of each is the score of the table (AI, AD, AG in %).
    """
    if len(masks) != len(probabilities):
        raise ModelError(f"{len(masks)} masks for {len(probabilities)} clips; give one mask per clip")
    return {
        "AI": average_increase(probabilities, masked_in),
        "AD": average_drop(probabilities, masked_in),
        "AG": average_gain(probabilities, masked_in),
        "FF": faithfulness_on_spectra(probabilities, masked_out),
        "Fid-In": input_fidelity(probabilities, masked_in),
        "SPS": sparseness(masks),
        "COMP": complexity(masks),
    }
