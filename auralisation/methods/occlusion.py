"""Occlusion (Zeiler & Fergus, 2014) on a spectrogram: how much the score drops when a patch is hidden.

A ``patch`` of frequency bins x frames slides over the spectrogram with ``stride`` (half the patch by default); the
last row and column of positions are moved in so that every bin is covered. Each position is replaced by ``fill``
(``"zero"``: silence; ``"mean"``: the clip's mean magnitude) and the clip is scored again, many positions per
forward pass. The map at a bin is the *mean drop in score*, ``score(clip) - score(occluded clip)``, over the
positions whose patch covers it: positive where hiding the bin lowers the score, negative where it raises it. A
class is scored by its logit, a feature by its mean activation (:mod:`.target`).

Cost: one forward pass per position; the paper's 257 x 173 input with a 16 x 8 patch and stride 8 x 4 has
32 x 42 = 1,344 positions.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import ParameterError
from .target import Scorer

__all__ = ["FILLS", "occlusion", "positions"]

#: What an occluded patch is replaced by.
FILLS: tuple[str, ...] = ("zero", "mean")


def positions(size: int, patch: int, stride: int) -> np.ndarray:
    """Start indices of a ``patch`` sliding by ``stride`` over ``size`` cells, the last one flush with the end.

    Examples
    --------
    >>> positions(10, 4, 3).tolist()
    [0, 3, 6]
    >>> positions(11, 4, 3).tolist()
    [0, 3, 6, 7]
    """
    last = max(size - patch, 0)
    starts = np.arange(0, last + 1, stride)
    return starts if starts[-1] == last else np.append(starts, last)


def _check(patch: tuple[int, int], stride: tuple[int, int], fill: str) -> None:
    """:class:`ParameterError` for a non-positive patch or stride, or an unknown fill."""
    if len(patch) != 2 or len(stride) != 2 or min(*patch, *stride) < 1:
        raise ParameterError(f"patch and stride must be two positive ints (bins, frames); got {patch} and {stride}")
    if fill not in FILLS:
        raise ParameterError(f"unknown fill {fill!r}; choose one of {', '.join(FILLS)}")


def occlusion(
    scorer: Scorer,
    spectrogram: np.ndarray,
    *,
    patch: tuple[int, int] = (16, 8),
    stride: tuple[int, int] | None = None,
    fill: Literal["zero", "mean"] = "zero",
) -> np.ndarray:
    """The occlusion map of ``scorer``'s target for one spectrogram.

    Parameters
    ----------
    scorer : Scorer
        The model and target; its ``batch_size`` sets how many occluded copies go through the model at once.
    spectrogram : numpy.ndarray
        Linear magnitude ``(bins, frames)`` (or ``(..., 1)``).
    patch : (int, int)
        Patch size in frequency bins and frames (clipped to the spectrogram).
    stride : (int, int), optional
        Step between patches; default half the patch (at least 1).
    fill : {"zero", "mean"}
        Replace the patch by zeros or by the clip's mean magnitude.

    Returns
    -------
    numpy.ndarray
        float32 ``(bins, frames)``: the mean drop in score over the patches covering each bin.
    """
    s = scorer.check(spectrogram)
    patch = (min(int(patch[0]), s.shape[0]), min(int(patch[1]), s.shape[1]))
    stride = tuple(int(n) for n in stride) if stride is not None else (max(patch[0] // 2, 1), max(patch[1] // 2, 1))
    _check(patch, stride, fill)
    value = 0.0 if fill == "zero" else float(s.mean())
    rows, columns = positions(s.shape[0], patch[0], stride[0]), positions(s.shape[1], patch[1], stride[1])
    corners = [(r, c) for r in rows for c in columns]
    base = scorer.scores(s[None])[0]
    total = np.zeros(s.shape, dtype=np.float64)
    count = np.zeros(s.shape, dtype=np.float64)
    for start in range(0, len(corners), scorer.batch_size):
        chunk = corners[start : start + scorer.batch_size]
        batch = np.repeat(s[None], len(chunk), axis=0)
        for i, (r, c) in enumerate(chunk):
            batch[i, r : r + patch[0], c : c + patch[1]] = value
        drops = base - scorer.scores(batch)
        for drop, (r, c) in zip(drops, chunk):
            total[r : r + patch[0], c : c + patch[1]] += drop
            count[r : r + patch[0], c : c + patch[1]] += 1
    return (total / count).astype(np.float32)
