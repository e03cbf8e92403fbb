"""Pairs of stimuli that differ in one musical attribute, and how alike a network's responses to them are.

The paper's stimuli form a grid: 4 keys x 6 instruments x 5 chord groups (plus 4 drum clips). Two clips of the
grid that differ in exactly one attribute (say the key) and agree on the other two isolate that attribute; if a
feature responds alike to both, it is invariant to it. Pairs that differ in every attribute give a floor: how
alike two unrelated clips look to the feature.

Everything here is plain numpy on arrays of responses of shape ``(n_clips, n_features, d)``; the responses
themselves come from :mod:`auralisation.analysis.responses`.

Examples
--------
>>> import numpy as np
>>> a = np.array([[1.0, 2.0, 3.0]]); b = np.array([[2.0, 4.0, 6.5]])
>>> round(float(pearson(a, b)[0]), 4)
0.9979
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..errors import AuralisationError
from .bootstrap import bootstrap

__all__ = [
    "ATTRIBUTES",
    "FLOOR",
    "CorrelationRow",
    "StimulusLike",
    "attribute_pairs",
    "clip_correlations",
    "correlation_table",
    "invariance_matrix",
    "pair_correlations",
    "pearson",
]

#: The attributes a harmonic stimulus varies in, as :class:`~auralisation.synth.Stimulus` field names.
ATTRIBUTES: tuple[str, ...] = ("key", "chord_group", "instrument")

#: Name of the floor comparison: pairs that differ in every attribute.
FLOOR = "all"


class StimulusLike(Protocol):
    """What the analysis reads from a stimulus (:class:`auralisation.synth.Stimulus` has it all)."""

    name: str
    key: str | None
    chord_group: str | None
    instrument: str


def _is_grid_member(stimulus: StimulusLike) -> bool:
    return all(getattr(stimulus, attribute) is not None for attribute in ATTRIBUTES) and (
        getattr(stimulus, "kind", "harmonic") == "harmonic"
    )


def attribute_pairs(stimuli: Sequence[StimulusLike], attribute: str) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of grid stimuli that differ in ``attribute`` and agree on the rest.

    Parameters
    ----------
    stimuli : sequence of Stimulus
        The clips, in the order of the response arrays. Drum clips (no key or chord group) take part in no pair.
    attribute : str
        One of :data:`ATTRIBUTES` (``"key"``, ``"chord_group"``, ``"instrument"``), or :data:`FLOOR` (``"all"``)
        for the pairs that differ in every attribute.

    Returns
    -------
    np.ndarray
        int64 ``(n_pairs, 2)``; empty ``(0, 2)`` when no pair qualifies. On the paper's grid there are 180 key
        pairs, 240 chord-group pairs, 300 instrument pairs and 3,600 floor pairs.

    Raises
    ------
    AuralisationError
        If ``attribute`` is not one of the above.
    """
    if attribute != FLOOR and attribute not in ATTRIBUTES:
        raise AuralisationError(
            f"unknown stimulus attribute {attribute!r}: use one of {', '.join(ATTRIBUTES)} or {FLOOR!r}"
        )
    members = [i for i, stimulus in enumerate(stimuli) if _is_grid_member(stimulus)]
    values = {i: tuple(getattr(stimuli[i], name) for name in ATTRIBUTES) for i in members}
    pairs = []
    for i, j in itertools.combinations(members, 2):
        differs = [a != b for a, b in zip(values[i], values[j])]
        if attribute == FLOOR:
            keep = all(differs)
        else:
            keep = differs == [name == attribute for name in ATTRIBUTES]
        if keep:
            pairs.append((i, j))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def _standardise(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Centre ``x`` along ``axis`` and scale it to unit norm; NaN where it is constant.

    "Constant" is relative to the vector's own size: rounding in the mean leaves ~1e-16 residues, not a signal.
    """
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=axis, keepdims=True)
    norm = np.sqrt((centred * centred).sum(axis=axis, keepdims=True))
    tiny = np.sqrt(x.shape[axis]) * 1e-9 * np.abs(x).max(axis=axis, keepdims=True, initial=0.0)
    degenerate = norm <= tiny
    return np.where(degenerate, np.nan, centred / np.where(degenerate, 1.0, norm))


def pearson(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson correlation of ``a`` and ``b`` along ``axis`` (broadcasting over the other axes).

    A vector that is constant along ``axis`` (a feature that never fires, say) has no correlation: the result is
    NaN there, never a division warning.

    Parameters
    ----------
    a, b : np.ndarray
        Arrays of the same shape (or broadcastable).
    axis : int
        The axis the correlation runs along.

    Returns
    -------
    np.ndarray
        float64 correlations in [-1, 1] (or NaN), with ``axis`` removed.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return np.clip((_standardise(a, axis) * _standardise(b, axis)).sum(axis=axis), -1.0, 1.0)


def _check_responses(responses: np.ndarray) -> np.ndarray:
    responses = np.asarray(responses)
    if responses.ndim != 3:
        raise AuralisationError(
            f"responses must have shape (n_clips, n_features, d), got {responses.shape}: "
            "add a trailing axis for scalar responses"
        )
    return responses


def clip_correlations(responses: np.ndarray) -> np.ndarray:
    """Correlation of each feature's responses between every two clips.

    Parameters
    ----------
    responses : np.ndarray
        ``(n_clips, n_features, d)``: one response vector of length ``d`` per clip and feature.

    Returns
    -------
    np.ndarray
        float64 ``(n_features, n_clips, n_clips)``, symmetric, 1 on the diagonal; NaN in the rows and columns of
        a clip whose response is constant. One matrix product per feature: far cheaper than correlating thousands
        of pairs one by one.
    """
    z = _standardise(_check_responses(responses), axis=-1)
    return np.clip(np.einsum("cfd,efd->fce", z, z), -1.0, 1.0)


def _at_pairs(correlations: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``(n_pairs, n_features)`` entries of a :func:`clip_correlations` matrix."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n_clips = correlations.shape[-1]
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n_clips):
        raise AuralisationError(f"pair indices run to {pairs.max()} but there are only {n_clips} clips of responses")
    return correlations[:, pairs[:, 0], pairs[:, 1]].T


def _matched_correlations(responses: np.ndarray, stimuli: Sequence[StimulusLike], layer: str) -> np.ndarray:
    """:func:`clip_correlations` of responses that must have one row per stimulus."""
    if len(responses) != len(stimuli):
        raise AuralisationError(
            f"layer {layer!r} has responses for {len(responses)} clips but {len(stimuli)} stimuli were given"
        )
    return clip_correlations(responses)


def pair_correlations(responses: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Correlation of each feature's response between the two clips of each pair.

    Parameters
    ----------
    responses : np.ndarray
        ``(n_clips, n_features, d)``: one response vector of length ``d`` per clip and feature.
    pairs : np.ndarray
        int ``(n_pairs, 2)`` clip indices, as from :func:`attribute_pairs`.

    Returns
    -------
    np.ndarray
        float64 ``(n_pairs, n_features)``; NaN where either vector is constant.
    """
    return _at_pairs(clip_correlations(responses), pairs)


@dataclasses.dataclass(frozen=True)
class CorrelationRow:
    """One row of the correlation table: a model, a layer, a representation and an attribute.

    ``mean`` is the correlation averaged over features and pairs; ``low``/``high`` its bootstrap interval over
    *clips* (each pair counts with its mean over features; a resample keeps the pairs among the drawn clips);
    ``n_pairs`` the pairs with at least one defined correlation; ``n_features`` the features averaged.
    """

    model: str
    representation: str
    layer: str
    depth: int
    attribute: str
    mean: float
    low: float
    high: float
    n_pairs: int
    n_features: int


def _nanmean_last(correlations: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaNs (NaN, without a warning, where all are NaN)."""
    finite = np.isfinite(correlations)
    counts = finite.sum(axis=-1)
    sums = np.where(finite, correlations, 0.0).sum(axis=-1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def invariance_matrix(
    responses: np.ndarray,
    stimuli: Sequence[StimulusLike],
    attributes: Sequence[str] = (*ATTRIBUTES, FLOOR),
) -> np.ndarray:
    """Each feature's mean correlation across the pairs that differ in each attribute.

    Parameters
    ----------
    responses : np.ndarray
        ``(n_clips, n_features, d)`` responses of one layer, clips in the order of ``stimuli``.
    stimuli : sequence of Stimulus
    attributes : sequence of str
        Columns of the matrix (default key, chord group, instrument and the floor).

    Returns
    -------
    np.ndarray
        float64 ``(n_features, len(attributes))``; NaN where a feature has no defined correlation. A value near 1
        means the feature responds alike whatever that attribute is: it is invariant to it.
    """
    correlations = _matched_correlations(responses, stimuli, "(given)")
    columns = [_nanmean_last(_at_pairs(correlations, attribute_pairs(stimuli, a)).T) for a in attributes]
    return np.stack(columns, axis=-1)


def correlation_table(
    responses_by_layer: dict[str, np.ndarray],
    stimuli: Sequence[StimulusLike],
    *,
    model: str = "model",
    representation: str = "activation",
    attributes: Sequence[str] = (*ATTRIBUTES, FLOOR),
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> list[CorrelationRow]:
    """Per layer and attribute: the correlation between pair members, averaged over features and pairs.

    Parameters
    ----------
    responses_by_layer : dict
        Layer name -> ``(n_clips, n_features, d)`` responses, in depth order (the first is depth 1).
    stimuli : sequence of Stimulus
        The clips, in the order of the responses.
    model, representation : str
        Labels copied into the rows.
    attributes : sequence of str
        Which pair sets to score (default key, chord group, instrument and the floor ``"all"``).
    n_boot, level, seed
        Bootstrap settings (:func:`~auralisation.analysis.bootstrap.bootstrap`); clips are resampled, keeping the
        pairs among the drawn clips (pairs share clips, so they are not independent units).

    Returns
    -------
    list of CorrelationRow
        One row per layer and attribute, layers in the order given.
    """
    pairs = {attribute: attribute_pairs(stimuli, attribute) for attribute in attributes}
    rows = []
    for depth, (layer, responses) in enumerate(responses_by_layer.items(), start=1):
        correlations = _matched_correlations(responses, stimuli, layer)
        for attribute in attributes:
            per_pair = _nanmean_last(_at_pairs(correlations, pairs[attribute]))
            interval = bootstrap(per_pair, units=pairs[attribute], n_boot=n_boot, level=level, seed=seed)
            rows.append(
                CorrelationRow(
                    model=model,
                    representation=representation,
                    layer=layer,
                    depth=depth,
                    attribute=attribute,
                    mean=interval.mean,
                    low=interval.low,
                    high=interval.high,
                    n_pairs=int(np.isfinite(per_pair).sum()),
                    n_features=int(responses.shape[1]),
                )
            )
    return rows
