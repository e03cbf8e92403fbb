"""Streaming statistics of one layer over a corpus: the top-k excerpts of every feature, and histograms.

Both keep a fixed amount of memory whatever the corpus size: :class:`TopK` holds ``k`` scores per feature and
:class:`Histogram` a fixed number of bins per feature and label. Excerpts are known by their index in the corpus's
order (path, then offset), and ties between equal scores go to the smaller index, so the result never depends on
the order or the grouping in which batches arrive.

Examples
--------
>>> import numpy as np
>>> top = TopK(n_features=2, k=2)
>>> top.update(np.array([[1.0, 5.0], [3.0, 5.0]]), np.array([7, 3]))
>>> top.update(np.array([[3.0, 0.0]]), np.array([1]))
>>> top.index.tolist(), top.scores.tolist()  # feature 0: 3.0 twice, index 1 before 7; feature 1: a tie, 3 first
([[1, 3], [3, 7]], [[3.0, 3.0], [5.0, 5.0]])
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["Histogram", "TopK"]

#: Index of an empty slot (a corpus smaller than k); sorts after every real index.
_EMPTY = np.iinfo(np.int64).max


class TopK:
    """The ``k`` largest scores of each feature and the excerpts they came from, merged batch by batch.

    Parameters
    ----------
    n_features : int
        Features of the layer.
    k : int
        Excerpts kept per feature.

    Attributes
    ----------
    scores : numpy.ndarray
        float32 ``(n_features, k)``, best first (``-inf`` in slots not filled yet).
    index : numpy.ndarray
        int64 ``(n_features, k)``: the excerpts' indices, in the order of :attr:`scores`.
    low : numpy.ndarray
        float32 ``(n_features,)``: the smallest score seen per feature (for histogram ranges).
    """

    def __init__(self, n_features: int, k: int) -> None:
        if k < 1:
            raise ParameterError(f"k must be at least 1, got {k}")
        self.k = k
        self.scores = np.full((n_features, k), -np.inf, dtype=np.float32)
        self.index = np.full((n_features, k), _EMPTY, dtype=np.int64)
        self.low = np.full(n_features, np.inf, dtype=np.float32)

    def update(self, scores: np.ndarray, index: np.ndarray) -> None:
        """Merge a batch: ``scores`` ``(n, n_features)`` of the excerpts ``index`` ``(n,)``."""
        scores = np.asarray(scores, dtype=np.float32)
        if not len(scores):
            return
        index = np.asarray(index, dtype=np.int64)
        both = np.concatenate([self.scores, scores.T], axis=1)
        indices = np.concatenate([self.index, np.broadcast_to(index, (len(both), len(index)))], axis=1)
        order = np.lexsort((indices, -both), axis=-1)[:, : self.k]
        self.scores = np.take_along_axis(both, order, axis=1)
        self.index = np.take_along_axis(indices, order, axis=1)
        self.low = np.minimum(self.low, scores.min(axis=0))

    def chosen(self, feature: int) -> list[tuple[int, float]]:
        """``(excerpt index, score)`` of one feature's top excerpts, best first (fewer than k in a small corpus)."""
        return [(int(i), float(s)) for i, s in zip(self.index[feature], self.scores[feature]) if i != _EMPTY]


class Histogram:
    """Counts of one layer's scores per feature and label, in fixed bins per feature.

    Parameters
    ----------
    low, high : numpy.ndarray
        ``(n_features,)`` the range of each feature's bins (from :class:`TopK`: its :attr:`~TopK.low` and best
        score); a feature whose range is empty gets a range of width 1 around its value.
    n_labels : int
        Labels of the corpus.
    bins : int
        Bins per feature.

    Attributes
    ----------
    edges : numpy.ndarray
        float64 ``(n_features, bins + 1)``.
    counts : numpy.ndarray
        int64 ``(n_features, n_labels, bins)``.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray, n_labels: int, bins: int = 30) -> None:
        low = np.asarray(low, dtype=np.float64)
        high = np.asarray(high, dtype=np.float64)
        flat = ~(high > low)
        low = np.where(flat, low - 0.5, low)
        high = np.where(flat, high + 0.5, high)
        self.edges = np.linspace(low, high, bins + 1, axis=1)
        self.counts = np.zeros((len(low), n_labels, bins), dtype=np.int64)

    def update(self, scores: np.ndarray, labels: np.ndarray) -> None:
        """Count a batch: ``scores`` ``(n, n_features)`` of excerpts with label indices ``labels`` ``(n,)``."""
        scores = np.asarray(scores, dtype=np.float64)
        if not len(scores):
            return
        n_features, _, bins = self.counts.shape
        low, high = self.edges[:, 0], self.edges[:, -1]
        position = np.floor((scores - low) / (high - low) * bins).astype(np.int64)
        position = np.clip(position, 0, bins - 1)
        features = np.broadcast_to(np.arange(n_features), scores.shape)
        label_of = np.broadcast_to(np.asarray(labels)[:, None], scores.shape)
        np.add.at(self.counts, (features, label_of, position), 1)
