"""The paper's findings as measures, tables and a plain-text verdict.

* invariance — per layer, the correlation between the responses to clips that differ in one attribute (key,
  chord group, instrument), against pairs that differ in all three (the floor); per feature, an invariance index
  ``(r_attribute - r_floor) / (1 - r_floor)``: 1 when the feature responds identically whatever the attribute,
  0 when it finds a change of that attribute as different as a change of everything;
* textures, not lines — per layer, the share of the deconvolved spectrograms' energy in horizontal or vertical
  lines (:func:`~auralisation.analysis.measures.line_shares`);
* onset sensitivity — per feature of the first layer, the onset log-ratio of its deconvolutions, naming the
  strongest attack suppressors (lowest) and onset detectors (highest).

:func:`analyse` computes all of them from :class:`~auralisation.analysis.responses.Responses`;
:func:`summarise_findings` states which of the paper's claims the numbers support, for a trained model and an
untrained control.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ..errors import AuralisationError
from .correlation import (
    ATTRIBUTES,
    FLOOR,
    CorrelationRow,
    correlation_table,
    invariance_matrix,
)
from .bootstrap import Interval, bootstrap
from .responses import REPRESENTATIONS, Responses
from .tables import write_csv

__all__ = [
    "INPUT",
    "INVARIANT",
    "Analysis",
    "LineRow",
    "OnsetRow",
    "analyse",
    "extreme_features",
    "invariance_index",
    "line_table",
    "onset_extremes",
    "onset_table",
    "summarise_findings",
]

#: Layer name of the input spectrogram's row in the line table (depth 0).
INPUT = "input"

#: Invariance index from which a feature counts as invariant to an attribute (half way from floor to identity).
INVARIANT = 0.5

#: Attribute names as the summary writes them.
_ATTRIBUTE_NAMES = {"key": "key", "chord_group": "chord", "instrument": "instrument", FLOOR: "everything"}


@dataclasses.dataclass(frozen=True)
class LineRow:
    """Line share of one layer's deconvolutions: mean over clips (of the mean over features), bootstrap over clips.

    ``orientation`` is ``"total"``, ``"horizontal"`` (held partials) or ``"vertical"`` (onsets).
    """

    model: str
    layer: str
    depth: int
    orientation: str
    mean: float
    low: float
    high: float
    n_clips: int


@dataclasses.dataclass(frozen=True)
class OnsetRow:
    """Onset log-ratio of one feature: mean over clips with onsets and sustains, bootstrap over clips."""

    model: str
    layer: str
    feature: int
    mean: float
    low: float
    high: float
    n_clips: int


def _row_interval(row: CorrelationRow | LineRow | OnsetRow) -> Interval:
    n = row.n_pairs if isinstance(row, CorrelationRow) else row.n_clips
    return Interval(row.mean, row.low, row.high, n, float("nan"))


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    finite = np.isfinite(values)
    counts = finite.sum(axis=axis)
    return np.where(counts > 0, np.where(finite, values, 0.0).sum(axis=axis) / np.maximum(counts, 1), np.nan)


def line_table(responses: Responses, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> list[LineRow]:
    """Per layer: total, horizontal and vertical line shares of the deconvolutions, with intervals over clips.

    When the responses carry the input's line shares, they come first as layer :data:`INPUT` at depth 0.
    """
    if not responses.lines:
        raise AuralisationError(
            f"model {responses.label!r} has no line measures: compute responses with deconvolve=True"
        )
    by_layer = {layer: (responses.depth(layer), responses.lines[layer]) for layer in responses.layers}
    if responses.input_lines is not None:
        by_layer = {INPUT: (0, responses.input_lines[:, None, :])} | by_layer
    rows = []
    for layer, (depth, shares) in by_layer.items():  # shares: (n_clips, n_features, 2)
        per_clip = {"horizontal": shares[..., 0], "vertical": shares[..., 1], "total": shares.sum(axis=-1)}
        for orientation in ("total", "horizontal", "vertical"):
            ci = bootstrap(_nanmean(per_clip[orientation], axis=1), n_boot=n_boot, level=level, seed=seed)
            rows.append(LineRow(responses.label, layer, depth, orientation, ci.mean, ci.low, ci.high, ci.n))
    return rows


def onset_table(
    responses: Responses,
    layer: str | None = None,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> list[OnsetRow]:
    """Per feature of ``layer`` (default the first): its onset log-ratio with an interval over clips."""
    layer = responses.layers[0] if layer is None else layer
    if layer not in responses.onset:
        raise AuralisationError(
            f"no onset measures for layer {layer!r} of model {responses.label!r}: "
            f"compute responses with deconvolve=True for one of {responses.layers}"
        )
    values = responses.onset[layer]  # (n_clips, n_features)
    rows = []
    for position, feature in enumerate(responses.features[layer]):
        interval = bootstrap(values[:, position], n_boot=n_boot, level=level, seed=seed)
        rows.append(
            OnsetRow(responses.label, layer, int(feature), interval.mean, interval.low, interval.high, interval.n)
        )
    return rows


def onset_extremes(
    rows: list[OnsetRow], k: int = 3, *, min_clips: int = 3
) -> tuple[list[OnsetRow], list[OnsetRow]]:
    """The ``k`` strongest attack suppressors (lowest first) and onset detectors (highest first).

    Features measured on fewer than ``min_clips`` clips (silent on the others) are not ranked.
    """
    measured = [row for row in rows if np.isfinite(row.mean) and row.n_clips >= min_clips]
    ranked = sorted(measured, key=lambda row: row.mean)
    return ranked[:k], ranked[::-1][:k]


def invariance_index(matrix: np.ndarray) -> np.ndarray:
    """``(r_a - r_floor) / (1 - r_floor)`` per feature and attribute.

    Parameters
    ----------
    matrix : np.ndarray
        ``(n_features, n_attributes + 1)`` from :func:`~auralisation.analysis.correlation.invariance_matrix`
        with the floor in the last column.

    Returns
    -------
    np.ndarray
        ``(n_features, n_attributes)``: 1 = invariant, 0 = as different as unrelated clips; NaN where the floor
        is 1 or undefined.
    """
    floor = matrix[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        index = (matrix[:, :-1] - floor) / (1.0 - floor)
    return np.where(np.isfinite(index) & (floor < 1.0), index, np.nan)


def extreme_features(analysis: Analysis, layer: str, attribute: str) -> tuple[int, int]:
    """The most and the least invariant feature of ``layer`` to ``attribute`` (feature indices of the model)."""
    column = invariance_index(analysis.invariance["activation"][layer])[:, list(ATTRIBUTES).index(attribute)]
    if not np.isfinite(column).any():
        raise AuralisationError(f"no feature of layer {layer!r} has a defined invariance to {attribute!r}")
    features = analysis.responses.features[layer]
    return int(features[np.nanargmax(column)]), int(features[np.nanargmin(column)])


@dataclasses.dataclass
class Analysis:
    """Every table of one model's analysis.

    Attributes
    ----------
    responses : Responses
    correlations : list of CorrelationRow
        Both representations, every layer and attribute (and the floor).
    lines : list of LineRow
    onsets : list of OnsetRow
        The first layer's features.
    invariance : dict
        Representation -> layer -> ``(n_features, 4)`` mean correlation per feature for key, chord group,
        instrument and the floor (columns in :data:`~auralisation.analysis.correlation.ATTRIBUTES` order, then
        ``"all"``).
    """

    responses: Responses
    correlations: list[CorrelationRow]
    lines: list[LineRow]
    onsets: list[OnsetRow]
    invariance: dict[str, dict[str, np.ndarray]]

    @property
    def label(self) -> str:
        """The model's label."""
        return self.responses.label

    def correlation(self, layer: str, attribute: str, representation: str = "activation") -> CorrelationRow:
        """The correlation row of one layer and attribute."""
        for row in self.correlations:
            if (row.layer, row.attribute, row.representation) == (layer, attribute, representation):
                return row
        raise AuralisationError(f"no {representation} correlation for layer {layer!r} and attribute {attribute!r}")

    def line(self, layer: str, orientation: str = "total") -> LineRow:
        """The line-share row of one layer."""
        for row in self.lines:
            if (row.layer, row.orientation) == (layer, orientation):
                return row
        raise AuralisationError(f"no {orientation} line share for layer {layer!r}")

    def write(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write ``correlations.csv``, ``lines.csv`` and ``onsets.csv`` (prefixed by the label) to ``folder``."""
        folder = Path(folder)
        tables = {"correlations": self.correlations, "lines": self.lines, "onsets": self.onsets}
        return [write_csv(rows, folder / f"{self.label}_{name}.csv") for name, rows in tables.items() if rows]


def analyse(responses: Responses, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Analysis:
    """Compute every table of :class:`Analysis` from ``responses`` (bootstrap with ``n_boot`` resamples)."""
    resampling = {"n_boot": n_boot, "level": level, "seed": seed}
    representations = [name for name in REPRESENTATIONS if getattr(responses, name)]
    correlations = []
    invariance = {}
    for name in representations:
        by_layer = responses.representation(name)
        correlations += correlation_table(
            by_layer, responses.stimuli, model=responses.label, representation=name, **resampling
        )
        invariance[name] = {layer: invariance_matrix(values, responses.stimuli) for layer, values in by_layer.items()}
    deconvolved = bool(responses.lines)
    return Analysis(
        responses=responses,
        correlations=correlations,
        lines=line_table(responses, **resampling) if deconvolved else [],
        onsets=onset_table(responses, **resampling) if deconvolved else [],
        invariance=invariance,
    )


def _fmt(interval: Interval) -> str:
    return f"{interval.mean:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def _rises(first: Interval, last: Interval) -> bool:
    return last.low > first.high


def _falls(first: Interval, last: Interval) -> bool:
    return last.high < first.low


def _verdict(holds: bool) -> str:
    return "REPRODUCED" if holds else "NOT REPRODUCED"


def _relative(analysis: Analysis, layer: str, attribute: str) -> float:
    r = analysis.correlation(layer, attribute).mean
    floor = analysis.correlation(layer, FLOOR).mean
    return (r - floor) / (1.0 - floor) if floor < 1.0 else float("nan")


def _invariance_lines(analysis: Analysis) -> tuple[list[str], dict[str, bool]]:
    first, last = analysis.responses.layers[0], analysis.responses.layers[-1]
    lines, holds = [], {}
    for attribute in (*ATTRIBUTES, FLOOR):
        a = _row_interval(analysis.correlation(first, attribute))
        b = _row_interval(analysis.correlation(last, attribute))
        holds[attribute] = _rises(a, b)
        relative = ""
        if attribute != FLOOR:
            before, after = _relative(analysis, first, attribute), _relative(analysis, last, attribute)
            holds[attribute] = holds[attribute] and after > before  # a rise of the floor alone is not invariance
            relative = f"; above the floor, (r - floor)/(1 - floor): {before:.3f} -> {after:.3f}"
        lines.append(
            f"  {_ATTRIBUTE_NAMES[attribute]:>10}: {first} {_fmt(a)} -> {last} {_fmt(b)}"
            f" ({'rises' if holds[attribute] else 'no clear rise'}){relative}"
        )
    return lines, holds


def _feature_counts(analysis: Analysis) -> tuple[str, dict[str, int], int]:
    last = analysis.responses.layers[-1]
    index = invariance_index(analysis.invariance["activation"][last])
    counts = {attribute: int((index[:, i] >= INVARIANT).sum()) for i, attribute in enumerate(ATTRIBUTES)}
    n = index.shape[0]
    text = ", ".join(f"{_ATTRIBUTE_NAMES[a]} {counts[a]}/{n}" for a in ATTRIBUTES)
    return text, counts, n


def _model_findings(analysis: Analysis) -> tuple[list[str], dict[str, bool]]:
    layers = analysis.responses.layers
    first, last = layers[0], layers[-1]
    out = [f"Model {analysis.label!r} ({len(analysis.responses.stimuli)} clips, layers {', '.join(layers)}):"]
    verdicts: dict[str, bool] = {}

    out.append("- Correlation of time-averaged activations between clips differing in one attribute "
               "(mean [95% CI], first -> last layer):")
    lines, rises = _invariance_lines(analysis)
    out += lines
    verdicts["invariance rises with depth (key, chord)"] = rises["key"] and rises["chord_group"]

    text, counts, n = _feature_counts(analysis)
    out.append(f"- Features of {last} invariant to (index >= {INVARIANT}): {text}.")
    instrument_mixed = 0 < counts["instrument"] < n
    key_chord_more = min(counts["key"], counts["chord_group"]) >= counts["instrument"]
    verdicts["invariant to key and chord; some to instrument, some not"] = instrument_mixed and key_chord_more

    if analysis.lines:
        a, b = _row_interval(analysis.line(first)), _row_interval(analysis.line(last))
        per_layer = ", ".join(f"{row.layer} {row.mean:.3f}" for row in analysis.lines if row.orientation == "total")
        out.append(f"- Line share of deconvolved spectrograms: {first} {_fmt(a)} -> {last} {_fmt(b)} ({per_layer}).")
        verdicts["deep layers capture textures rather than lines"] = _falls(a, b)
    if analysis.onsets:
        suppressors, detectors = onset_extremes(analysis.onsets)
        describe = "; ".join(f"feature {row.feature}: {_fmt(_row_interval(row))}" for row in suppressors)
        out.append(f"- Onset log-ratio of {first} features, strongest attack suppressors: {describe}.")
        describe = "; ".join(f"feature {row.feature}: {_fmt(_row_interval(row))}" for row in detectors)
        out.append(f"  strongest onset detectors: {describe}.")
        # A claim about the layer, not about its single most extreme feature (often the noisiest): it holds when
        # some listed suppressor's interval lies wholly below 0 and some listed detector's wholly above 0.
        both = any(row.high < 0.0 for row in suppressors) and any(row.low > 0.0 for row in detectors)
        verdicts["layer 1 has attack suppressors and onset detectors"] = both
    return out, verdicts


#: How the summary words the control's verdict, by (holds for the model, holds for the untrained control).
_CONTROL_WORDS = {
    (True, True): "holds in the untrained control too (the architecture, not the training, produces it)",
    (True, False): "not in the untrained control (so it was learned)",
    (False, True): "holds in the untrained control",
    (False, False): "not in the untrained control either",
}


def summarise_findings(analysis: Analysis, control: Analysis | None = None) -> str:
    """A plain-text statement of which of the paper's findings the numbers reproduce, with the numbers.

    Parameters
    ----------
    analysis : Analysis
        The trained model's analysis.
    control : Analysis, optional
        The same analysis of an untrained copy: a finding that the untrained network shows too comes from the
        architecture (pooling, receptive fields), not from what the network learned.

    Returns
    -------
    str
        Several lines: the measures of each model, then one verdict per claim.
    """
    out, verdicts = _model_findings(analysis)
    control_verdicts: dict[str, bool] = {}
    if control is not None:
        control_out, control_verdicts = _model_findings(control)
        out += [""] + control_out
    out += ["", "Verdicts (paper's claim: this model" + (" | untrained control)" if control else ")")]
    for claim, holds in verdicts.items():
        line = f"- {claim}: {_verdict(holds)}"
        if claim in control_verdicts:
            line += " | " + _CONTROL_WORDS[holds, control_verdicts[claim]]
        out.append(line)
    return "\n".join(out)
