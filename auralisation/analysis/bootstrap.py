"""The package's one bootstrap: percentile intervals that resample the real sampling unit.

Every interval of the package (correlations, line and onset measures, the study's criteria, the stem shares, the
listenable-maps benchmark) comes from :func:`bootstrap_draws`. A statistic is computed from the means of one or
more *samples*; each sample's last axis holds its *items*, and ``units`` says which sampling units each item
belongs to:

* ``units=None`` — every item is its own unit and each sample is resampled on its own, as
  ``scipy.stats.bootstrap`` does with several samples;
* ``units`` given — one draw of the units (clips, say) per resample, shared by every sample, so that effects built
  from several samples are paired. An item's weight in a resample is the product of the counts of its units: an
  item that is one clip (``(n_items,)`` unit indices) counts as often as its clip is drawn; an item that is a *pair*
  of clips (``(n_items, 2)``) counts ``c_i * c_j`` times, i.e. the pairs among the drawn clips are kept. Resampling
  pairs as if they were independent ignores that every clip sits in many pairs, and its intervals are too narrow.

Factor levels are resampled the same way: give each item the index of its level (an instrument, a chord group).
Only the units that some item names are drawn (a drum clip that sits in no pair is not a unit of the pairs).

Examples
--------
>>> import numpy as np
>>> ci = bootstrap(np.arange(10.0), n_boot=200)
>>> ci.mean, ci.low < 4.5 < ci.high
(4.5, True)
>>> pairs = np.array([[0, 1], [0, 2], [1, 2]])  # three pairs of three clips
>>> bootstrap(np.array([0.2, 0.4, 0.6]), units=pairs, n_boot=200).n  # the units counted are the clips
3
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["Interval", "bootstrap", "bootstrap_draws", "percentile_interval"]


@dataclasses.dataclass(frozen=True)
class Interval:
    """A statistic and its bootstrap confidence interval.

    Attributes
    ----------
    mean : float
        The statistic on the whole sample (NaN for an empty sample).
    low, high : float
        The percentile bootstrap interval at ``level``.
    n : int
        The sampling units behind it (clips, pairs' clips, factor levels), NaNs dropped.
    level : float
        Confidence level, e.g. 0.95.
    """

    mean: float
    low: float
    high: float
    n: int
    level: float

    def covers(self, value: float) -> bool:
        """True if ``low <= value <= high``."""
        return bool(self.low <= value <= self.high)

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low


def _check(n_boot: int, level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ParameterError(f"confidence level must lie in (0, 1), got {level}")
    if n_boot < 1:
        raise ParameterError(f"n_boot must be at least 1, got {n_boot}")


def _as_units(units: np.ndarray, n_items: int) -> np.ndarray:
    """``(n_items, k)`` int64 unit indices of one sample's items."""
    units = np.asarray(units, dtype=np.int64)
    units = units[:, None] if units.ndim == 1 else units
    if units.ndim != 2 or len(units) != n_items:
        raise ParameterError(
            f"units must hold one unit index (or one row of indices) per item: {n_items} items, units {units.shape}"
        )
    if units.size and units.min() < 0:
        raise ParameterError("unit indices must be non-negative")
    return units


def _weighted_nanmean(sample: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Means of ``sample`` ``(..., n)`` along its last axis under each row of ``weights`` ``(B, n)``: ``(B, ...)``.

    NaNs are left out of each mean (NaN where nothing finite keeps a weight).
    """
    finite = np.isfinite(sample)
    total = np.where(finite, sample, 0.0) @ weights.T
    count = finite.astype(np.float64) @ weights.T
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
    return np.moveaxis(means, -1, 0)


def bootstrap_draws(
    samples: np.ndarray | Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray] | None = None,
    *,
    units: Sequence[np.ndarray] | np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, int]:
    """A statistic of the samples' means, and its value under each bootstrap resample.

    Parameters
    ----------
    samples : numpy.ndarray or sequence of numpy.ndarray
        ``(..., n_items)`` each; NaNs are left out of the means. The rows of a sample (layers, features, stems)
        travel together, so a difference between two rows is a paired one.
    statistic : callable, optional
        Takes each sample's means along its last axis, with a leading resample axis (``(B, ...)``), and returns
        ``(B, ...)`` values. Default: the first sample's means.
    units : numpy.ndarray or sequence of numpy.ndarray, optional
        Per sample, the unit indices of its items: ``(n_items,)`` or ``(n_items, k)`` (an item made of ``k`` units,
        a pair of clips). One draw of the units serves every sample. A single array serves every sample. Default:
        each item is a unit, each sample resampled on its own.
    n_boot : int
        Resamples.
    seed : int, Generator or None
        Seed of the resampling.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, int)
        The statistic on the samples themselves, its ``(n_boot, ...)`` resampled values, and the number of units
        behind the first sample.
    """
    _check(n_boot, 0.95)
    arrays = [np.asarray(samples, dtype=np.float64)] if isinstance(samples, np.ndarray) else [
        np.asarray(s, dtype=np.float64) for s in samples]
    if not arrays:
        raise ParameterError("bootstrap needs at least one sample")
    statistic = statistic or (lambda first, *rest: first)
    rng = np.random.default_rng(seed)
    sizes = [a.shape[-1] for a in arrays]
    if units is None:
        counts = [rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64) if n else
                  np.zeros((n_boot, 0)) for n in sizes]
        finite = np.isfinite(arrays[0]).reshape(-1, sizes[0]).any(axis=0) if sizes[0] else np.zeros(0, bool)
        n_units = int(finite.sum())
    else:
        per_sample = [units] * len(arrays) if isinstance(units, np.ndarray) else list(units)
        if len(per_sample) != len(arrays):
            raise ParameterError(f"{len(arrays)} samples but units for {len(per_sample)}")
        members = [_as_units(u, n) for u, n in zip(per_sample, sizes)]
        used = np.unique(np.concatenate([m.ravel() for m in members]))  # units no item names are not drawn
        members = [np.searchsorted(used, m) for m in members]
        total = used.size
        drawn = rng.multinomial(total, np.full(total, 1.0 / total), size=n_boot).astype(np.float64) if total else (
            np.zeros((n_boot, 0)))
        counts = [np.prod(drawn[:, m], axis=-1) for m in members]
        finite = np.isfinite(arrays[0]).reshape(-1, sizes[0]).any(axis=0) if sizes[0] else np.zeros(0, bool)
        n_units = int(np.unique(members[0][finite]).size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        point = statistic(*[_weighted_nanmean(a, np.ones((1, n))) for a, n in zip(arrays, sizes)])[0]
        draws = statistic(*[_weighted_nanmean(a, w) for a, w in zip(arrays, counts)])
    return np.asarray(point, dtype=np.float64), np.asarray(draws, dtype=np.float64), n_units


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of resampled values ``(B, ...)``, NaN draws left out (NaN where none is finite)."""
    tail = 100.0 * (1.0 - level) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(np.where(np.isfinite(draws), draws, np.nan), [tail, 100.0 - tail], axis=0)
    return low, high


def bootstrap(
    samples: np.ndarray | Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray] | None = None,
    *,
    units: Sequence[np.ndarray] | np.ndarray | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> Interval:
    """A scalar statistic of the samples' means with its percentile bootstrap interval (:func:`bootstrap_draws`).

    With one sample and no statistic, the mean of its finite values: ``bootstrap(values)``.

    Returns
    -------
    Interval
        ``Interval(nan, nan, nan, 0, level)`` for an empty sample; a zero-width interval for a single value.

    Raises
    ------
    ParameterError
        A level outside (0, 1), ``n_boot < 1``, units that do not match the samples, or a statistic that is not
        a scalar.
    """
    _check(n_boot, level)
    point, draws, n = bootstrap_draws(samples, statistic, units=units, n_boot=n_boot, seed=seed)
    if point.ndim:
        raise ParameterError(f"the statistic must be one number per resample, got shape {point.shape}")
    low, high = percentile_interval(draws, level)
    if not np.isfinite(point) or not np.isfinite(low):
        return Interval(float("nan"), float("nan"), float("nan"), n, level)
    return Interval(float(point), float(low), float(high), n, level)
