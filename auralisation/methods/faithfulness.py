"""Deletion and insertion curves (Petsiuk et al., 2018) on spectrograms: do the bins a map ranks first matter?

A map ranks the clip's time-frequency bins, most important first:

* ``by="value"`` (default): by signed value, so that bins a map calls evidence *against* the target come last; this
  is the reading of a signed map (gradient, deconvnet, occlusion) that deletion tests;
* ``by="abs"``: by magnitude, for a reader who takes any large value as "this bin matters".

Ties (Grad-CAM's zeros, occlusion's flat patches) are broken at random (seeded), never by position.

**Deletion** removes the top-ranked fraction ``f`` of the bins (sets them to 0, silence) for ``f = 0, 1/n, ..., 1``
and follows the score: a faithful map makes it fall fast (low area under the curve). **Insertion** starts from
nothing (``start="zeros"``) or from a blurred clip (``start="blur"``: a Gaussian blur of the magnitude, which keeps
the clip's overall energy but no detail) and puts the top-ranked bins back: a faithful map makes the score rise
fast (high area). The score is the class's softmax *probability* (bounded and comparable across clips) or the
feature's mean activation. Areas are trapezoids over ``f`` in [0, 1], in the score's units. A seeded random ranking,
averaged over a few draws, is the baseline every method must beat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

import keras
import numpy as np
from scipy import ndimage

from ..errors import ModelError, ParameterError
from .attribute import attributor_for
from .target import Scorer

__all__ = [
    "RANDOM",
    "RANKINGS",
    "STARTS",
    "Curve",
    "Faithfulness",
    "faithfulness",
    "perturbation_curve",
    "perturbed",
    "rank_bins",
    "summarise_faithfulness",
]

#: How a map ranks bins.
RANKINGS: tuple[str, ...] = ("value", "abs")

#: What insertion starts from.
STARTS: tuple[str, ...] = ("zeros", "blur")

#: Name of the random baseline among the curves.
RANDOM = "random"

#: Gaussian blur of the insertion start, in (bins, frames).
BLUR_SIGMA = (8.0, 8.0)


@dataclasses.dataclass(frozen=True)
class Curve:
    """A deletion or insertion curve.

    Attributes
    ----------
    fractions : numpy.ndarray
        ``(steps + 1,)`` the fraction of bins removed (deletion) or put back (insertion), 0 to 1.
    scores : numpy.ndarray
        ``(steps + 1,)`` the score at each fraction.
    """

    fractions: np.ndarray
    scores: np.ndarray

    @property
    def auc(self) -> float:
        """Area under the curve over fractions in [0, 1] (trapezoids)."""
        return float(np.trapezoid(self.scores, self.fractions))


@dataclasses.dataclass(frozen=True)
class Faithfulness:
    """Deletion and insertion curves of several maps of one clip and target, and of the random baseline.

    Attributes
    ----------
    target : str
        What was scored, e.g. ``"class 3"`` or ``"feature 7 of pool2"``.
    score : str
        The score's name: ``"probability"`` or ``"mean activation"``.
    ranking, start : str
        The ranking (``"value"``/``"abs"``) and the insertion start (``"zeros"``/``"blur"``).
    deletion, insertion : dict of str to Curve
        One curve per method, and :data:`RANDOM`.
    """

    target: str
    score: str
    ranking: str
    start: str
    deletion: dict[str, Curve]
    insertion: dict[str, Curve]

    @property
    def methods(self) -> list[str]:
        """The methods compared, without the random baseline."""
        return [name for name in self.deletion if name != RANDOM]

    def table(self) -> list[dict[str, float | str]]:
        """One row per curve pair (the methods, then random): method, deletion AUC, insertion AUC."""
        return [
            {"method": name, "deletion_auc": self.deletion[name].auc, "insertion_auc": self.insertion[name].auc}
            for name in self.deletion
        ]


def rank_bins(saliency: np.ndarray, by: Literal["value", "abs"] = "value", *, seed: int = 0) -> np.ndarray:
    """Flat indices of the bins of ``saliency``, most important first; ties in random (seeded) order.

    Examples
    --------
    >>> rank_bins(np.array([[0.1, -3.0], [2.0, 0.5]])).tolist()
    [2, 3, 0, 1]
    >>> rank_bins(np.array([[0.1, -3.0], [2.0, 0.5]]), by="abs").tolist()
    [1, 2, 3, 0]
    """
    if by not in RANKINGS:
        raise ParameterError(f"unknown ranking {by!r}; choose one of {', '.join(RANKINGS)}")
    values = np.asarray(saliency, dtype=np.float64).ravel()
    key = np.abs(values) if by == "abs" else values
    tiebreak = np.random.default_rng(seed).random(values.size)
    return np.lexsort((tiebreak, -key))


def _counts(n_bins: int, steps: int) -> np.ndarray:
    """Number of bins changed at each of ``steps + 1`` steps, 0 to ``n_bins``."""
    return np.round(np.linspace(0.0, 1.0, steps + 1) * n_bins).astype(int)


def perturbed(
    spectrogram: np.ndarray,
    order: np.ndarray,
    counts: np.ndarray,
    *,
    mode: Literal["deletion", "insertion"],
    start: Literal["zeros", "blur"] = "zeros",
) -> np.ndarray:
    """The clips of a curve: ``(len(counts), bins, frames)``, the first ``counts[i]`` bins of ``order`` changed.

    Deletion sets them to 0 in the clip; insertion copies them from the clip into the start (zeros or blur).
    """
    s = np.asarray(spectrogram, dtype=np.float32)
    if mode == "deletion":
        base, source = s, np.zeros_like(s)
    elif mode == "insertion":
        if start not in STARTS:
            raise ParameterError(f"unknown insertion start {start!r}; choose one of {', '.join(STARTS)}")
        base = np.zeros_like(s) if start == "zeros" else ndimage.gaussian_filter(s, BLUR_SIGMA).astype(np.float32)
        source = s
    else:
        raise ParameterError(f"unknown mode {mode!r}; choose 'deletion' or 'insertion'")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    rank = rank.reshape(s.shape)
    return np.stack([np.where(rank < count, source, base) for count in counts])


def perturbation_curve(
    scorer: Scorer,
    spectrogram: np.ndarray,
    order: np.ndarray,
    *,
    mode: Literal["deletion", "insertion"],
    steps: int = 20,
    start: Literal["zeros", "blur"] = "zeros",
) -> Curve:
    """The deletion or insertion curve of ``scorer``'s target along ``order`` (flat bin indices, first = most
    important), with ``steps + 1`` points scored in batches (class probability or feature mean activation)."""
    if steps < 1:
        raise ParameterError(f"steps must be at least 1, got {steps}")
    s = scorer.check(spectrogram)
    counts = _counts(s.size, steps)
    scores = scorer.scores(perturbed(s, order, counts, mode=mode, start=start), probability=True)
    return Curve(counts / s.size, scores)


def faithfulness(
    model: keras.Model,
    spectrogram: np.ndarray,
    maps: Mapping[str, np.ndarray],
    *,
    layer: int | str | None = None,
    feature: int | None = None,
    class_index: int | None = None,
    steps: int = 20,
    by: Literal["value", "abs"] = "value",
    start: Literal["zeros", "blur"] = "zeros",
    seed: int = 0,
    random_draws: int = 3,
) -> Faithfulness:
    """Deletion and insertion curves of each map in ``maps`` for one clip and target, with a random baseline.

    Parameters
    ----------
    model : keras.Model
        The network (not modified).
    spectrogram : numpy.ndarray
        Linear magnitude ``(bins, frames)``.
    maps : mapping of str to numpy.ndarray
        Method name -> its ``(bins, frames)`` map of this clip and target (from :func:`~.attribute.attribute`).
    layer, feature, class_index
        The target, as in :func:`~.attribute.attribute`.
    steps : int
        Curve points after the start (20: 5 % of the bins per step).
    by : {"value", "abs"}
        Rank by signed value or by magnitude (:func:`rank_bins`).
    start : {"zeros", "blur"}
        Insertion's starting clip.
    seed : int
        Seeds tie-breaking and the random rankings.
    random_draws : int
        Random rankings averaged into the baseline curve.

    Returns
    -------
    Faithfulness
    """
    if RANDOM in maps:
        raise ModelError(f"{RANDOM!r} names the baseline; give the map another name")
    attributor = attributor_for(model)
    target = attributor.target(layer=layer, feature=feature, class_index=class_index)
    scorer = attributor.scorer(target)
    s = scorer.check(spectrogram)
    curves: dict[str, dict[str, Curve]] = {"deletion": {}, "insertion": {}}
    for name, saliency in maps.items():
        if np.shape(saliency) != s.shape:
            raise ModelError(f"map {name!r} has shape {np.shape(saliency)}; the spectrogram is {s.shape}")
        order = rank_bins(saliency, by, seed=seed)
        for mode in curves:
            curves[mode][name] = perturbation_curve(scorer, s, order, mode=mode, steps=steps, start=start)
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(s.size) for _ in range(max(random_draws, 1))]
    for mode in curves:
        draws = [perturbation_curve(scorer, s, order, mode=mode, steps=steps, start=start) for order in orders]
        curves[mode][RANDOM] = Curve(draws[0].fractions, np.mean([draw.scores for draw in draws], axis=0))
    return Faithfulness(
        target=str(target),
        score="probability" if target.is_class else "mean activation",
        ranking=by,
        start=start,
        deletion=curves["deletion"],
        insertion=curves["insertion"],
    )


def summarise_faithfulness(result: Faithfulness) -> str:
    """A few sentences on which maps are faithful for this clip and target, from the areas under the curves."""
    table = {row["method"]: row for row in result.table()}
    chance = table[RANDOM]
    by_deletion = sorted(result.methods, key=lambda name: table[name]["deletion_auc"])
    by_insertion = sorted(result.methods, key=lambda name: -table[name]["insertion_auc"])
    lines = [
        f"Faithfulness for {result.target} (score: {result.score}; bins ranked by {result.ranking}, insertion from "
        f"{result.start}).",
        "Deletion AUC, lower is better: "
        + ", ".join(f"{name} {table[name]['deletion_auc']:.3g}" for name in by_deletion)
        + f"; random {chance['deletion_auc']:.3g}.",
        "Insertion AUC, higher is better: "
        + ", ".join(f"{name} {table[name]['insertion_auc']:.3g}" for name in by_insertion)
        + f"; random {chance['insertion_auc']:.3g}.",
    ]
    worse = [
        name
        for name in result.methods
        if table[name]["deletion_auc"] >= chance["deletion_auc"]
        and table[name]["insertion_auc"] <= chance["insertion_auc"]
    ]
    lines.append(
        f"Most faithful by deletion: {by_deletion[0]}; by insertion: {by_insertion[0]}. "
        + (
            f"No better than a random ranking on either curve: {', '.join(worse)}."
            if worse
            else "Every method beats a random ranking on at least one curve."
        )
    )
    return "\n".join(lines)
