"""Tests of auralisation.analysis.bootstrap, the package's one bootstrap.

Against ``scipy.stats.bootstrap`` (percentile method) where both apply: one sample, two independent samples, two
paired samples. Then the point of resampling clips: pair values that share clips, where resampling pairs as if they
were independent says "holds" and resampling clips says "unclear".
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from auralisation.analysis.bootstrap import bootstrap, bootstrap_draws
from auralisation.errors import ParameterError
from auralisation.study.criteria import HOLDS, RULE_ABOVE_ZERO, UNCLEAR

N_BOOT = 20_000


def _scipy(samples, statistic, **options):
    result = stats.bootstrap(samples, statistic, method="percentile", n_resamples=N_BOOT, random_state=1, **options)
    return result.confidence_interval


def _close(ours, theirs, scale):
    # two Monte Carlo estimates of the same percentiles: they agree to a few hundredths of the sample's spread
    assert ours.low == pytest.approx(theirs.low, abs=0.03 * scale)
    assert ours.high == pytest.approx(theirs.high, abs=0.03 * scale)


def test_one_sample_mean_matches_scipy():
    x = np.random.default_rng(0).exponential(1.0, 60)
    ours = bootstrap(x, n_boot=N_BOOT)
    assert ours.mean == pytest.approx(x.mean()) and ours.n == 60
    _close(ours, _scipy((x,), np.mean), x.std())


def test_independent_and_paired_differences_match_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, 50)
    y = 0.8 * x + rng.normal(0.3, 0.4, 50)  # correlated with x: pairing narrows the interval
    difference = lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis)  # noqa: E731
    independent = bootstrap([x, y], lambda a, b: a - b, n_boot=N_BOOT)
    paired = bootstrap([x, y], lambda a, b: a - b, units=np.arange(50), n_boot=N_BOOT)
    _close(independent, _scipy((x, y), difference), 1.0)
    _close(paired, _scipy((x, y), difference, paired=True), 1.0)
    assert paired.width < 0.6 * independent.width


def _clip_effects(n_clips: int = 30, effect: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair values ``u_i + u_j`` over every pair of ``n_clips`` clips (all their spread comes from the clips), the
    pairs, and the clips' ``u``."""
    u = np.random.default_rng(2).normal(0.0, 1.0, n_clips)
    u += effect / 2 - u.mean()  # the pairs' mean is exactly ``effect``
    pairs = np.array(list(itertools.combinations(range(n_clips), 2)))
    return u[pairs].sum(axis=1), pairs, u


def test_resampling_pairs_says_holds_where_resampling_clips_says_unclear():
    values, pairs, u = _clip_effects()
    as_pairs = bootstrap(values, n_boot=2000)
    as_clips = bootstrap(values, units=pairs, n_boot=2000)
    assert as_pairs.mean == as_clips.mean == pytest.approx(0.3)
    assert RULE_ABOVE_ZERO.decide(as_pairs.low, as_pairs.high) == HOLDS
    assert RULE_ABOVE_ZERO.decide(as_clips.low, as_clips.high) == UNCLEAR
    assert (as_pairs.n, as_clips.n) == (len(pairs), 30)
    # the clip bootstrap's spread is that of the mean of 2 u over 30 clips: sd 2 * 1 / sqrt(30), about 0.37
    spread = np.std(bootstrap_draws(values, units=pairs, n_boot=2000)[1])
    assert spread == pytest.approx(2 * np.std(u) / np.sqrt(30), rel=0.25)


def test_a_pair_counts_as_often_as_both_its_clips_are_drawn():
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    values = np.array([1.0, 2.0, 4.0])
    point, draws, n = bootstrap_draws(values, units=pairs, n_boot=500, seed=3)
    assert point == pytest.approx(7 / 3) and n == 3
    # a resample that draws one clip three times keeps no pair: its mean is undefined, never a pair's value alone
    possible = {1.0, 2.0, 4.0, 7 / 3}  # one pair kept (two clips drawn, one twice: weight 2 on that pair), or all
    finite = draws[np.isfinite(draws)]
    assert {round(float(v), 6) for v in finite} <= {round(v, 6) for v in possible}
    assert np.isnan(draws).any()


def test_clips_named_by_no_item_are_not_units():
    values, pairs, _ = _clip_effects(8)
    shifted = bootstrap(values, units=pairs + 100, n_boot=300, seed=4)  # unit indices 100..107: 8 units, not 108
    assert shifted == bootstrap(values, units=pairs, n_boot=300, seed=4)


def test_edge_cases_and_bad_arguments():
    assert bootstrap(np.array([np.nan])).n == 0 and np.isnan(bootstrap(np.array([np.nan])).mean)
    single = bootstrap(np.array([0.5]))
    assert (single.mean, single.low, single.high) == (0.5, 0.5, 0.5)
    with pytest.raises(ParameterError, match="level"):
        bootstrap(np.arange(3.0), level=95)
    with pytest.raises(ParameterError, match="one unit index"):
        bootstrap(np.arange(3.0), units=np.arange(4))
    with pytest.raises(ParameterError, match="one number per resample"):
        bootstrap(np.ones((2, 3)))
