"""The paper's findings as criteria stated in advance: an effect size, its bootstrap interval, a fixed decision rule.

Each :class:`Criterion` names one of Choi et al.'s findings as notebook 04 frames it, the number that measures it
(always a layer-level mean or a share of a layer's features, never one feature crossing a line), and a
:class:`Rule` that turns the effect's 95 % bootstrap interval into one of three verdicts:

* ``"holds"`` — the whole interval lies on the predicted side of the threshold(s);
* ``"contradicted"`` — the whole interval lies on the other side;
* ``"unclear"`` — the interval straddles a threshold (or the effect is undefined on these clips).

The rules are data (:data:`CRITERIA`), fixed before any run of the study; :func:`evaluate` applies every one of them
to one model's :class:`~auralisation.analysis.responses.Responses`.

Effects (on the time-averaged activation profiles, as notebook 04; ``r`` is a Pearson correlation between the
responses to two clips, averaged over the layer's features and then over the pairs that differ in one attribute):

* the *invariance index* of a layer to an attribute, ``(r_attribute - r_floor) / (1 - r_floor)``, the floor being
  pairs that differ in every attribute (:data:`~auralisation.analysis.correlation.FLOOR`): 0 when a change of the
  attribute looks to the layer like a change of everything, 1 when the layer ignores it;
* the *line share* of a layer's deconvolutions (mean over features, per clip);
* the share of layer-1 features whose mean onset log-ratio (over clips) lies beyond :data:`ONSET_THRESHOLD`.

The deepest layer of the invariance criteria is the deepest whose maps have more than one frequency row (a 1 x 1
map has no profile to correlate: ``choi2017``'s last two blocks).

Intervals are percentile bootstraps: pairs of clips (correlations) or clips (lines, onsets) are resampled, the same
resample for every layer (paired), independently for each set of pairs (attribute and floor).

Examples
--------
>>> RULE_ABOVE_ZERO.decide(0.02, 0.10), RULE_ABOVE_ZERO.decide(-0.01, 0.10), RULE_ABOVE_ZERO.decide(-0.2, -0.1)
('holds', 'unclear', 'contradicted')
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..analysis.correlation import FLOOR, Interval, attribute_pairs, clip_correlations
from ..analysis.findings import INVARIANT
from ..analysis.responses import Responses
from ..errors import ModelError, ParameterError

__all__ = [
    "CONTRADICTED",
    "CRITERIA",
    "HOLDS",
    "MIN_SHARE",
    "ONSET_THRESHOLD",
    "RULE_ABOVE_ZERO",
    "UNCLEAR",
    "VERDICTS",
    "Criterion",
    "Rule",
    "Verdict",
    "evaluate",
    "invariance_layer",
]

HOLDS, UNCLEAR, CONTRADICTED = "holds", "unclear", "contradicted"
#: The three verdicts, in the order tables list them.
VERDICTS: tuple[str, ...] = (HOLDS, UNCLEAR, CONTRADICTED)

#: Onset log-ratio (natural log, relative to the input's own) beyond which a layer-1 feature counts as an onset
#: detector (above ``+ONSET_THRESHOLD``) or an attack suppressor (below ``-ONSET_THRESHOLD``): about 10 % more or
#: less energy on onsets against sustains than the input has.
ONSET_THRESHOLD = 0.1

#: Smallest share of a layer's features that "some features" means (3 of 64, 2 of 32): one feature is not a finding.
MIN_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class Rule:
    """A decision rule on an effect's interval: it holds when the interval lies inside ``(lower, upper)``.

    Attributes
    ----------
    lower : float
        The interval's low end must exceed it.
    upper : float or None
        The interval's high end must stay below it (``None``: no upper bound).
    """

    lower: float = 0.0
    upper: float | None = None

    def decide(self, low: float, high: float) -> str:
        """:data:`HOLDS`, :data:`CONTRADICTED` or :data:`UNCLEAR` for the interval ``[low, high]``."""
        if not (np.isfinite(low) and np.isfinite(high)):
            return UNCLEAR
        if low > self.lower and (self.upper is None or high < self.upper):
            return HOLDS
        if high < self.lower or (self.upper is not None and low > self.upper):
            return CONTRADICTED
        return UNCLEAR

    @property
    def text(self) -> str:
        """The rule in words."""
        if self.upper is None:
            return (f"holds when the 95 % interval lies above {self.lower:g}; contradicted when it lies below "
                    f"{self.lower:g}; unclear when it straddles {self.lower:g}")
        return (f"holds when the 95 % interval lies inside ({self.lower:g}, {self.upper:g}); contradicted when it "
                f"lies wholly below {self.lower:g} or above {self.upper:g}; unclear otherwise")


#: The rule of every "rises", "falls" and "more than" effect: its interval above 0.
RULE_ABOVE_ZERO = Rule(0.0)


@dataclasses.dataclass(frozen=True)
class Criterion:
    """One finding of the paper, how it is measured, and when it counts as holding.

    Attributes
    ----------
    key : str
        Short identifier (CSV column value).
    finding : str
        The paper's claim, as notebook 04 frames it.
    effect : str
        What the effect size is, in words.
    rule : Rule
    measure : callable
        ``measure(responses, n_boot=..., level=..., seed=...) -> Interval``: the effect and its interval.
    """

    key: str
    finding: str
    effect: str
    rule: Rule
    measure: Callable[..., Interval] = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A criterion applied to one model: the effect, its interval and the rule's verdict."""

    criterion: str
    effect: float
    low: float
    high: float
    n: int
    verdict: str


# ------------------------------------------------------------------------------------------------------ bootstrap


def _weighted_nanmean(sample: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Means of ``sample`` (``(..., n)``) along its last axis under each row of ``weights`` (``(B, n)``): ``(B, ...)``.

    NaNs are left out of each mean (NaN where nothing finite remains).
    """
    finite = np.isfinite(sample)
    total = np.where(finite, sample, 0.0) @ weights.T
    count = finite.astype(np.float64) @ weights.T
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
    return np.moveaxis(means, -1, 0)


def bootstrap_effect(
    samples: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray],
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """A statistic of the means of several samples, with a percentile bootstrap interval.

    Each sample's last axis holds its sampling units (pairs or clips); the rows of a sample (layers, features) are
    resampled together, so a difference between two layers is a paired one; different samples are resampled
    independently. (``scipy.stats.bootstrap`` treats a sample's other axes as separate statistics, not as rows
    that travel together, hence this helper.)

    Parameters
    ----------
    samples : sequence of np.ndarray
        ``(..., n_units)`` each; NaNs are left out of the means.
    statistic : callable
        Takes the samples' means along their last axis, each with a leading resample axis (``(B, ...)``), and
        returns ``(B,)`` values.
    n_boot, level, seed
        Resamples, confidence level and the seed of the resampling.

    Returns
    -------
    Interval
        ``mean`` is the statistic on the samples themselves; ``n`` the units of the first sample.

    Examples
    --------
    >>> ci = bootstrap_effect([np.arange(10.0)], lambda m: m, n_boot=200)
    >>> ci.mean, ci.low < 4.5 < ci.high
    (4.5, True)
    """
    rng = np.random.default_rng(seed)
    sizes = [sample.shape[-1] for sample in samples]
    if min(sizes, default=0) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0, level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        point = float(statistic(*[_weighted_nanmean(s, np.ones((1, n))) for s, n in zip(samples, sizes)])[0])
        boots = statistic(*[
            _weighted_nanmean(s, rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64))
            for s, n in zip(samples, sizes)
        ])
    boots = np.asarray(boots, dtype=np.float64)
    boots = boots[np.isfinite(boots)]
    if not np.isfinite(point) or boots.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), sizes[0], level)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(boots, [tail, 100.0 - tail])
    return Interval(point, float(low), float(high), sizes[0], level)


# -------------------------------------------------------------------------------------------------------- effects


def invariance_layer(responses: Responses) -> str:
    """The deepest layer whose activation maps have more than one frequency row (a profile to correlate)."""
    layers = [layer for layer in responses.layers if responses.activation[layer].shape[-1] > 1]
    if not layers:
        raise ModelError(f"no layer of model {responses.label!r} has maps with more than one frequency row")
    return layers[-1]


def _pair_correlations(responses: Responses, layer: str, attribute: str) -> np.ndarray:
    """``(n_features, n_pairs)`` correlations of each feature's activation profiles across ``attribute``'s pairs."""
    pairs = attribute_pairs(responses.stimuli, attribute)
    matrix = clip_correlations(responses.activation[layer])
    return matrix[:, pairs[:, 0], pairs[:, 1]]


def _layer_pairs(responses: Responses, layers: Sequence[str], attribute: str) -> np.ndarray:
    """``(n_layers, n_pairs)``: each pair's correlation averaged over the layer's features."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.stack([np.nanmean(_pair_correlations(responses, layer, attribute), axis=0) for layer in layers])


def _index(r: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """``(r - floor) / (1 - floor)``, NaN where the floor is 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(floor < 1.0, (r - floor) / (1.0 - floor), np.nan)


def invariance_rise(attribute: str) -> Callable[..., Interval]:
    """Effect: the deepest layer's invariance index to ``attribute`` minus layer 1's."""

    def measure(responses: Responses, **bootstrap: float) -> Interval:
        layers = [responses.layers[0], invariance_layer(responses)]
        samples = [_layer_pairs(responses, layers, attribute), _layer_pairs(responses, layers, FLOOR)]
        return bootstrap_effect(
            samples, lambda r, floor: _index(r[:, 1], floor[:, 1]) - _index(r[:, 0], floor[:, 0]), **bootstrap
        )

    return measure


def invariance_gap(attribute: str, other: str = "instrument") -> Callable[..., Interval]:
    """Effect: the deepest layer's invariance index to ``attribute`` minus its index to ``other``."""

    def measure(responses: Responses, **bootstrap: float) -> Interval:
        layer = [invariance_layer(responses)]
        samples = [_layer_pairs(responses, layer, name)[0] for name in (attribute, other, FLOOR)]
        return bootstrap_effect(samples, lambda a, b, floor: _index(a, floor) - _index(b, floor), **bootstrap)

    return measure


def invariant_share(attribute: str) -> Callable[..., Interval]:
    """Effect: the share of the deepest layer's features whose invariance index to ``attribute`` is at least
    :data:`~auralisation.analysis.findings.INVARIANT` (features without a defined index left out)."""

    def share(a: np.ndarray, floor: np.ndarray) -> np.ndarray:
        index = _index(a, floor)  # (B, n_features)
        defined = np.isfinite(index)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(defined.any(axis=1), (index >= INVARIANT).sum(axis=1) / defined.sum(axis=1), np.nan)

    def measure(responses: Responses, **bootstrap: float) -> Interval:
        layer = invariance_layer(responses)
        samples = [_pair_correlations(responses, layer, name) for name in (attribute, FLOOR)]
        return bootstrap_effect(samples, share, **bootstrap)

    return measure


def line_fall(responses: Responses, **bootstrap: float) -> Interval:
    """Effect: layer 1's line share (horizontal + vertical, mean over features) minus the last layer's.

    Features silent on a clip (no line share) are left out of that clip's mean, as in
    :func:`~auralisation.analysis.findings.line_table`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_clip = np.stack([np.nanmean(responses.lines[layer].sum(axis=-1), axis=1) for layer in
                             (responses.layers[0], responses.layers[-1])])  # (2, n_clips)
    return bootstrap_effect([per_clip], lambda means: means[:, 0] - means[:, 1], **bootstrap)


def onset_share(sign: int) -> Callable[..., Interval]:
    """Effect: the share of layer-1 features whose mean onset log-ratio lies beyond ``sign * ONSET_THRESHOLD``."""

    def share(means: np.ndarray) -> np.ndarray:  # (B, n_features)
        defined = np.isfinite(means)
        beyond = sign * np.where(defined, means, 0.0) > ONSET_THRESHOLD
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(defined.any(axis=1), beyond.sum(axis=1) / defined.sum(axis=1), np.nan)

    def measure(responses: Responses, **bootstrap: float) -> Interval:
        return bootstrap_effect([responses.onset[responses.layers[0]].T], share, **bootstrap)

    return measure


#: Rule of the "some features, not all" criteria: a share of the layer's features between MIN_SHARE and 1 - it.
_SOME = Rule(MIN_SHARE, 1.0 - MIN_SHARE)
#: Rule of the "some features" criteria.
_AT_LEAST_SOME = Rule(MIN_SHARE)
_INDEX = "invariance index (r - r_floor) / (1 - r_floor) of the layer's mean pair correlation"

#: The criteria of the study, one per finding of the paper, stated before any run.
CRITERIA: tuple[Criterion, ...] = (
    Criterion("key_rises", "invariance to key rises with depth",
              f"{_INDEX} to key: deepest layer minus layer 1", RULE_ABOVE_ZERO, invariance_rise("key")),
    Criterion("chord_rises", "invariance to chord rises with depth",
              f"{_INDEX} to chord group: deepest layer minus layer 1", RULE_ABOVE_ZERO, invariance_rise("chord_group")),
    Criterion("key_over_instrument", "deep features are more invariant to key than to instrument",
              f"{_INDEX} at the deepest layer: to key minus to instrument", RULE_ABOVE_ZERO, invariance_gap("key")),
    Criterion("chord_over_instrument", "deep features are more invariant to chord than to instrument",
              f"{_INDEX} at the deepest layer: to chord group minus to instrument", RULE_ABOVE_ZERO,
              invariance_gap("chord_group")),
    Criterion("instrument_some", "some deep features are invariant to instrument, some are not",
              f"share of the deepest layer's features with an instrument invariance index >= {INVARIANT}", _SOME,
              invariant_share("instrument")),
    Criterion("lines_fall", "deep layers capture textures rather than lines",
              "line share of the deconvolutions (horizontal + vertical): layer 1 minus the last layer",
              RULE_ABOVE_ZERO, line_fall),
    Criterion("attack_suppressors", "layer 1 has attack suppressors",
              f"share of layer-1 features with a mean onset log-ratio below -{ONSET_THRESHOLD}", _AT_LEAST_SOME,
              onset_share(-1)),
    Criterion("onset_detectors", "layer 1 has onset detectors",
              f"share of layer-1 features with a mean onset log-ratio above +{ONSET_THRESHOLD}", _AT_LEAST_SOME,
              onset_share(+1)),
)


def evaluate(
    responses: Responses,
    criteria: Sequence[Criterion] = CRITERIA,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> list[Verdict]:
    """Apply every criterion to one model's responses.

    Parameters
    ----------
    responses : Responses
        From :func:`~auralisation.analysis.responses.compute_responses` with ``deconvolve=True`` (lines and onsets).
    criteria : sequence of Criterion
        Default :data:`CRITERIA`.
    n_boot, level, seed
        Bootstrap resamples, confidence level, seed.

    Returns
    -------
    list of Verdict
        One per criterion, in order.

    Raises
    ------
    ParameterError
        The responses lack the deconvolution measures (lines, onsets).
    """
    if not responses.lines or not responses.onset:
        raise ParameterError(
            f"the responses of model {responses.label!r} have no line or onset measures: compute them with "
            "deconvolve=True"
        )
    verdicts = []
    for criterion in criteria:
        effect = criterion.measure(responses, n_boot=n_boot, level=level, seed=seed)
        verdicts.append(Verdict(criterion.key, effect.mean, effect.low, effect.high, effect.n,
                                criterion.rule.decide(effect.low, effect.high)))
    return verdicts
