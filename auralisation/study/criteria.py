"""The paper's findings as criteria: an effect size, its interval over clips, a fixed decision rule, a control.

Each :class:`Criterion` names one of Choi et al.'s findings as notebook 04 frames it, the number that measures it
(always a layer-level mean or a share of a layer's features, never one feature crossing a line), and a
:class:`Rule` that turns the effect's 95 % bootstrap interval into one of three verdicts:

* ``"holds"`` — the whole interval lies on the predicted side of the threshold(s);
* ``"contradicted"`` — the whole interval lies on the other side;
* ``"unclear"`` — the interval straddles a threshold (or the effect is undefined on these clips).

The rules are data (:data:`CRITERIA`). **When they were fixed**: the criteria and their thresholds were written
(commit 3de3b8b, 2026-11-29 00:22 UTC) before any run of the study, but after a single-run analysis of one trained
``choi2016`` on the earlier, easier default data (notebook 04's first table), so they were not blind to that run.
The control's rule (:data:`CONTROL_RULE`) and the resampling of clips instead of pairs were added on 2026-12-06,
after the first full study. :func:`evaluate` applies every criterion to one model's
:class:`~auralisation.analysis.responses.Responses`; :func:`evaluate_control` applies the control's rule to the
paired effect *trained minus untrained*: a finding that the untrained copy shows as much is the architecture's,
not learned, and a seed counts as :data:`LEARNED` only when both hold.

Effects (on the time-averaged activation profiles, as notebook 04; ``r`` is a Pearson correlation between the
responses to two clips, averaged over the layer's features and then over the pairs that differ in one attribute):

* the *invariance index* of a layer to an attribute, ``(r_attribute - r_floor) / (1 - r_floor)``, the floor being
  pairs that differ in every attribute (:data:`~auralisation.analysis.correlation.FLOOR`): 0 when a change of the
  attribute looks to the layer like a change of everything, 1 when the layer ignores it;
* the *line share* of a layer's deconvolutions (mean over features, per clip);
* the share of layer-1 features whose mean onset log-ratio (over clips) lies beyond
  :data:`~auralisation.analysis.measures.ONSET_THRESHOLD` (random filters pass it: read it beside the control).

The deepest layer of the invariance criteria is the deepest whose maps have more than one frequency row (a 1 x 1
map has no profile to correlate: ``choi2017``'s last two blocks). For ``choi2017`` that layer has 3 frequency rows
(against ``choi2016``'s 8): a correlation over 3 points piles up near +-1, so its invariance effects are coarser and
not comparable in size with ``choi2016``'s.

Intervals are percentile bootstraps over **clips** (:func:`~auralisation.analysis.bootstrap.bootstrap`): one draw
of the stimuli per resample serves every sample of an effect (the pairs of an attribute and of the floor are the
pairs among the drawn clips; both layers; both networks of the control), because each clip sits in many pairs and
pairs are not independent units.

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

from ..analysis.bootstrap import Interval, bootstrap
from ..analysis.correlation import FLOOR, attribute_pairs, clip_correlations
from ..analysis.measures import ONSET_THRESHOLD
from ..analysis.findings import INVARIANT
from ..analysis.responses import Responses
from ..errors import ModelError, ParameterError

__all__ = [
    "CONTRADICTED",
    "CONTROL_RULE",
    "CRITERIA",
    "LEARNED",
    "HOLDS",
    "MIN_SHARE",
    "RULE_ABOVE_ZERO",
    "UNCLEAR",
    "VERDICTS",
    "Criterion",
    "Effect",
    "Rule",
    "Verdict",
    "evaluate",
    "evaluate_control",
    "invariance_layer",
]

HOLDS, UNCLEAR, CONTRADICTED = "holds", "unclear", "contradicted"
#: The three verdicts, in the order tables list them.
VERDICTS: tuple[str, ...] = (HOLDS, UNCLEAR, CONTRADICTED)

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

#: The control's rule, the same for every criterion: the paired effect *trained minus untrained* (same seed, same
#: draws of clips) must lie above 0, i.e. the trained network shows more of the finding than its untrained copy.
#: Added after the first full study (2026-11-29) showed the untrained copies meeting most criteria.
CONTROL_RULE = Rule(0.0)

#: A seed's finding is *learned* when it holds for the trained network and its control effect holds too.
LEARNED = "learned"


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
        ``measure(responses) -> Effect``: the effect, to be resampled.
    """

    key: str
    finding: str
    effect: str
    rule: Rule
    measure: Callable[[Responses], Effect] = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A criterion applied to one model: the effect, its interval and the rule's verdict."""

    criterion: str
    effect: float
    low: float
    high: float
    n: int
    verdict: str


# --------------------------------------------------------------------------------------------------------- effect


@dataclasses.dataclass(frozen=True)
class Effect:
    """An effect before its interval: samples, the clips each item belongs to, and the statistic of their means.

    Every criterion's items are clips or pairs of clips of the stimuli, so :attr:`units` are clip indices and one
    draw of clips serves every sample (:func:`~auralisation.analysis.bootstrap.bootstrap`): the attribute's pairs and
    the floor's, two layers, and a trained network and its untrained copy (:meth:`minus`) are all resampled together.

    Attributes
    ----------
    samples : tuple of numpy.ndarray
        ``(..., n_items)`` each.
    units : tuple of numpy.ndarray
        Per sample, ``(n_items,)`` clip indices or ``(n_items, 2)`` pairs of them.
    statistic : callable
        The effect from the samples' means (see :func:`~auralisation.analysis.bootstrap.bootstrap_draws`).
    """

    samples: tuple[np.ndarray, ...]
    units: tuple[np.ndarray, ...]
    statistic: Callable[..., np.ndarray]

    def interval(self, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Interval:
        """The effect and its percentile interval, resampling clips."""
        return bootstrap(self.samples, self.statistic, units=self.units, n_boot=n_boot, level=level, seed=seed)

    def minus(self, other: Effect) -> Effect:
        """This effect minus ``other``'s, on the same draws of clips: a paired difference (trained minus untrained).

        Examples
        --------
        >>> a = Effect((np.array([1.0, 2.0, 3.0]),), (np.arange(3),), lambda m: m)
        >>> b = Effect((np.array([0.5, 1.5, 2.0]),), (np.arange(3),), lambda m: m)
        >>> a.minus(b).interval(n_boot=200).mean
        0.6666666666666667
        """
        k = len(self.samples)
        mine, theirs = self.statistic, other.statistic
        return Effect(self.samples + other.samples, self.units + other.units,
                      lambda *means: mine(*means[:k]) - theirs(*means[k:]))


# -------------------------------------------------------------------------------------------------------- effects


def invariance_layer(responses: Responses) -> str:
    """The deepest layer whose activation maps have more than one frequency row (a profile to correlate)."""
    layers = [layer for layer in responses.layers if responses.activation[layer].shape[-1] > 1]
    if not layers:
        raise ModelError(f"no layer of model {responses.label!r} has maps with more than one frequency row")
    return layers[-1]


def _pairs(responses: Responses, attribute: str) -> np.ndarray:
    """``(n_pairs, 2)`` clip indices of ``attribute``'s pairs: the units of a pair sample."""
    return attribute_pairs(responses.stimuli, attribute)


def _pair_correlations(responses: Responses, layer: str, attribute: str) -> np.ndarray:
    """``(n_features, n_pairs)`` correlations of each feature's activation profiles across ``attribute``'s pairs."""
    pairs = _pairs(responses, attribute)
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


def _rise(r: np.ndarray, floor: np.ndarray) -> np.ndarray:
    return _index(r[:, 1], floor[:, 1]) - _index(r[:, 0], floor[:, 0])


def _gap(a: np.ndarray, b: np.ndarray, floor: np.ndarray) -> np.ndarray:
    return _index(a, floor) - _index(b, floor)


def invariance_rise(attribute: str) -> Callable[[Responses], Effect]:
    """Effect: the deepest layer's invariance index to ``attribute`` minus layer 1's."""

    def measure(responses: Responses) -> Effect:
        layers = [responses.layers[0], invariance_layer(responses)]
        names = (attribute, FLOOR)
        return Effect(tuple(_layer_pairs(responses, layers, name) for name in names),
                      tuple(_pairs(responses, name) for name in names), _rise)

    return measure


def invariance_gap(attribute: str, other: str = "instrument") -> Callable[[Responses], Effect]:
    """Effect: the deepest layer's invariance index to ``attribute`` minus its index to ``other``."""

    def measure(responses: Responses) -> Effect:
        layer = [invariance_layer(responses)]
        names = (attribute, other, FLOOR)
        return Effect(tuple(_layer_pairs(responses, layer, name)[0] for name in names),
                      tuple(_pairs(responses, name) for name in names), _gap)

    return measure


def _invariant_share(a: np.ndarray, floor: np.ndarray) -> np.ndarray:
    index = _index(a, floor)  # (B, n_features)
    defined = np.isfinite(index)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined.any(axis=1), (index >= INVARIANT).sum(axis=1) / defined.sum(axis=1), np.nan)


def invariant_share(attribute: str) -> Callable[[Responses], Effect]:
    """Effect: the share of the deepest layer's features whose invariance index to ``attribute`` is at least
    :data:`~auralisation.analysis.findings.INVARIANT` (features without a defined index left out)."""

    def measure(responses: Responses) -> Effect:
        layer = invariance_layer(responses)
        names = (attribute, FLOOR)
        return Effect(tuple(_pair_correlations(responses, layer, name) for name in names),
                      tuple(_pairs(responses, name) for name in names), _invariant_share)

    return measure


def _difference(means: np.ndarray) -> np.ndarray:
    return means[:, 0] - means[:, 1]


def line_fall(responses: Responses) -> Effect:
    """Effect: layer 1's line share (horizontal + vertical, mean over features) minus the last layer's.

    Features silent on a clip (no line share) are left out of that clip's mean, as in
    :func:`~auralisation.analysis.findings.line_table`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_clip = np.stack([np.nanmean(responses.lines[layer].sum(axis=-1), axis=1) for layer in
                             (responses.layers[0], responses.layers[-1])])  # (2, n_clips)
    return Effect((per_clip,), (np.arange(per_clip.shape[-1]),), _difference)


def onset_share(sign: int) -> Callable[[Responses], Effect]:
    """Effect: the share of layer-1 features whose mean onset log-ratio lies beyond ``sign * ONSET_THRESHOLD``."""

    def share(means: np.ndarray) -> np.ndarray:  # (B, n_features)
        defined = np.isfinite(means)
        beyond = sign * np.where(defined, means, 0.0) > ONSET_THRESHOLD
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(defined.any(axis=1), beyond.sum(axis=1) / defined.sum(axis=1), np.nan)

    def measure(responses: Responses) -> Effect:
        onsets = responses.onset[responses.layers[0]].T  # (n_features, n_clips)
        return Effect((onsets,), (np.arange(onsets.shape[-1]),), share)

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


def _check_measured(responses: Responses) -> None:
    if not responses.lines or not responses.onset:
        raise ParameterError(
            f"the responses of model {responses.label!r} have no line or onset measures: compute them with "
            "deconvolve=True"
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
        Bootstrap resamples (of clips), confidence level, seed.

    Returns
    -------
    list of Verdict
        One per criterion, in order; ``n`` counts the clips resampled.

    Raises
    ------
    ParameterError
        The responses lack the deconvolution measures (lines, onsets).
    """
    _check_measured(responses)
    verdicts = []
    for criterion in criteria:
        effect = criterion.measure(responses).interval(n_boot=n_boot, level=level, seed=seed)
        verdicts.append(Verdict(criterion.key, effect.mean, effect.low, effect.high, effect.n,
                                criterion.rule.decide(effect.low, effect.high)))
    return verdicts


def evaluate_control(
    trained: Responses,
    untrained: Responses,
    criteria: Sequence[Criterion] = CRITERIA,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> list[Verdict]:
    """Every criterion's paired effect *trained minus untrained*, with its interval and :data:`CONTROL_RULE`'s verdict.

    Both networks heard the same clips; each resample draws the clips once for both, so the interval is that of a
    paired difference. ``verdict`` is ``"holds"`` when the trained network shows more of the finding than its
    untrained copy.

    Raises
    ------
    ParameterError
        Either lacks the deconvolution measures, or they were not measured on the same clips.
    """
    _check_measured(trained)
    _check_measured(untrained)
    if [s.name for s in trained.stimuli] != [s.name for s in untrained.stimuli]:
        raise ParameterError("the trained and untrained responses must be measured on the same clips, in one order")
    verdicts = []
    for criterion in criteria:
        effect = criterion.measure(trained).minus(criterion.measure(untrained))
        interval = effect.interval(n_boot=n_boot, level=level, seed=seed)
        verdicts.append(Verdict(criterion.key, interval.mean, interval.low, interval.high, interval.n,
                                CONTROL_RULE.decide(interval.low, interval.high)))
    return verdicts
