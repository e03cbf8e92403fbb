"""Names for what a feature hears: a stem "selector" or "mixed", by a stated rule, checked against the untrained copy.

:mod:`auralisation.analysis.stems` measures the share of a feature's auralisation each stem explains, and how much
more of it the feature lets through than the clip holds (its enrichment). This module turns those numbers into the
labels the authors gave by ear ("kick drum selector"), each with its numbers and intervals.

**The rule** (:data:`SELECTOR_RULE`): ``"<stem> selector"`` when, over at least 3 clips that hold the stem, its
mean share is at least 0.5 and its enrichment at least 1.5; ``"mixed"`` when no stem qualifies; ``"too few clips"``
when no stem is measured on 3 clips (as :func:`~auralisation.analysis.findings.onset_extremes` ranks no such
feature); ``"silent"`` when the feature lets nothing through on any clip. When each part of the rule was fixed:
:data:`SELECTOR_RULE`.

**The control.** :func:`with_control` puts beside each label the label of the same feature in the untrained copy
(the same seed's initial weights): a selector the untrained copy already is, is the architecture's (or the
initialisation's), not a learned selector (:attr:`StemLabel.learned`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from .stems import StemResponses, StemRow, stem_table

__all__ = [
    "SELECTOR_RULE",
    "LabelRule",
    "StemLabel",
    "clearest_labels",
    "excerpts_label",
    "feature_labels",
    "labels_markdown",
    "strongest_clip",
    "with_control",
]


@dataclasses.dataclass(frozen=True)
class LabelRule:
    """A rule that names a feature from its stem shares; ``text`` states it in words.

    Each stem is judged over the clips that hold it and on which the feature sounds (:func:`stem_table`). A feature
    is a ``"<stem> selector"`` when, on at least ``min_clips`` such clips, the stem's mean share is at least
    ``share`` and its enrichment at least ``enrichment``; ``"mixed"`` when some stem is measured on ``min_clips``
    clips but none qualifies; ``"too few clips"`` when none is; ``"silent"`` when the feature sounds on no clip.
    """

    share: float
    enrichment: float
    min_clips: int = 3

    @property
    def text(self) -> str:
        """The rule in words."""
        return (
            f"'<stem> selector' when, over the clips that hold the stem and on which the feature sounds (at least "
            f"{self.min_clips}), the stem's mean share of the feature's auralised magnitude is at least {self.share:g} "
            f"and its enrichment (that share over the stem's mean share of the same clips) at least "
            f"{self.enrichment:g}; 'mixed' when no stem qualifies; 'too few clips' when no stem is measured on "
            f"{self.min_clips} clip{'s' if self.min_clips != 1 else ''}; 'silent' when the feature lets nothing "
            "through on any clip"
        )

    def label(self, stem: str, share: float, enrichment: float, n_clips: int) -> str:
        """The label given by one stem's mean ``share`` and ``enrichment`` over the ``n_clips`` clips that hold it."""
        if n_clips == 0 or not np.isfinite(share):
            return "silent"
        if n_clips < self.min_clips:
            return "too few clips"
        if share >= self.share and np.isfinite(enrichment) and enrichment >= self.enrichment:
            return f"{stem} selector"
        return "mixed"


#: The label rule. Its thresholds (share 0.5, enrichment 1.5) were written (2026-11-29 00:17 UTC) before any network
#: was measured with the stem measure; the 3-clip minimum and the means over the clips that hold the stem were added
#: (00:22 UTC) after a first look at a trained choi2016 (a label resting on two clips; drum shares diluted by
#: drumless styles); the enrichment's reference became the mix weighted as a pass-through map on 2026-12-06
#: (:mod:`~auralisation.analysis.stems`), after labels on the earlier reference had been seen.
SELECTOR_RULE = LabelRule(share=0.5, enrichment=1.5)


@dataclasses.dataclass(frozen=True)
class StemLabel:
    """A feature's label by :data:`SELECTOR_RULE` (or another rule), with the numbers of its leading stem, and the
    label of the same feature in the untrained copy (``untrained``; None until :func:`with_control` adds it)."""

    layer: str
    feature: int
    label: str
    top: StemRow
    untrained: str | None = None

    @property
    def learned(self) -> bool:
        """A selector whose feature the untrained copy does not label the same (False without the control)."""
        return self.label.endswith(" selector") and self.untrained is not None and self.untrained != self.label

    @property
    def clarity(self) -> float:
        """How clear the label is: the leading stem's share times its enrichment (-inf for a silent feature)."""
        return _clarity(self.top)


def feature_labels(rows: Sequence[StemRow], rule: LabelRule = SELECTOR_RULE) -> list[StemLabel]:
    """One label per (layer, feature) of a :func:`stem_table`.

    The leading stem is the one the rule names a selector of, if any; otherwise, of the stems measured on enough
    clips, the one with the largest share times enrichment (the most distinctive part of what the feature passes,
    even when the label is "mixed").

    Examples
    --------
    >>> row = StemRow("pool1", 0, "drums", 0.8, 0.7, 0.9, 2.4, 2.0, 2.8, 0.33, 5)
    >>> feature_labels([row, dataclasses.replace(row, stem="bass", share=0.2, enrichment=0.6)])[0].label
    'drums selector'
    """
    by_feature: dict[tuple[str, int], list[StemRow]] = {}
    for row in rows:
        by_feature.setdefault((row.layer, row.feature), []).append(row)
    labels = []
    for (layer, feature), group in by_feature.items():
        named = [(rule.label(row.stem, row.share, row.enrichment, row.n_clips), row) for row in group]
        label, top = min(named, key=lambda item: (_RANK.get(item[0], 0), -_clarity(item[1])))
        labels.append(StemLabel(layer, feature, label, top))
    return labels


def with_control(labels: Sequence[StemLabel], control: Sequence[StemLabel]) -> list[StemLabel]:
    """``labels`` with the untrained copy's label of each feature (``"-"`` where the copy's feature was not measured).

    Examples
    --------
    >>> row = StemRow("pool1", 0, "drums", 0.8, 0.7, 0.9, 2.4, 2.0, 2.8, 0.33, 5)
    >>> trained = feature_labels([row, dataclasses.replace(row, feature=1)])
    >>> untrained = feature_labels([row, dataclasses.replace(row, feature=1, share=0.3)])
    >>> [(label.label, label.untrained, label.learned) for label in with_control(trained, untrained)]
    [('drums selector', 'drums selector', False), ('drums selector', 'mixed', True)]
    """
    by_feature = {(label.layer, label.feature): label.label for label in control}
    return [dataclasses.replace(label, untrained=by_feature.get((label.layer, label.feature), "-")) for label in labels]


#: Which stem's label a feature takes: a selector's, else the most distinctive measured stem's ("mixed"), else
#: "too few clips", else "silent".
_RANK = {"mixed": 1, "too few clips": 2, "silent": 3}


def _clarity(row: StemRow) -> float:
    """Share times enrichment (``share**2 / mix share``): large when a stem is both much of the sound and enriched."""
    value = row.share * row.enrichment
    return float(value) if np.isfinite(value) else -np.inf


def clearest_labels(labels: Sequence[StemLabel], k: int = 3) -> dict[str, list[StemLabel]]:
    """Per layer, the ``k`` features with the clearest labels: selectors first, then by share x enrichment."""
    by_layer: dict[str, list[StemLabel]] = {}
    for label in labels:
        if label.label not in ("silent", "too few clips"):
            by_layer.setdefault(label.layer, []).append(label)
    return {
        layer: sorted(group, key=lambda item: (item.label == "mixed", -item.clarity, item.feature))[:k]
        for layer, group in by_layer.items()
    }


def _shown(item: StemLabel, control: bool) -> str:
    """The label, in bold when it is a selector the untrained copy is not (or, without the control, any label)."""
    return f"**{item.label}**" if item.learned or not control else item.label


def labels_markdown(labels: Mapping[str, Sequence[StemLabel]], *, level: float = 0.95) -> str:
    """A Markdown table of labelled features (from :func:`clearest_labels`): share and enrichment with intervals,
    and, where :func:`with_control` added it, the untrained copy's label of the same feature."""
    control = any(item.untrained is not None for group in labels.values() for item in group)
    lines = [
        f"| layer | feature | label | leading stem | share [{level:.0%} interval] | enrichment [interval] | "
        "mix share | clips |" + (" untrained copy's label |" if control else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if control else ""),
    ]
    for layer, group in labels.items():
        for item in group:
            top = item.top
            lines.append(
                f"| {layer} | {item.feature} | {_shown(item, control)} | {top.stem} | {top.share:.2f} "
                f"[{top.share_low:.2f}, {top.share_high:.2f}] | {top.enrichment:.2f} [{top.enrichment_low:.2f}, "
                f"{top.enrichment_high:.2f}] | {top.mix_share:.2f} | {top.n_clips} |"
                + (f" {item.untrained} |" if control else "")
            )
    return "\n".join(lines)


def strongest_clip(responses: StemResponses, label: StemLabel) -> tuple[int, float]:
    """The clip on which the feature's leading stem has its largest share, and that share: where to listen."""
    position = int(np.flatnonzero(responses.features[label.layer] == label.feature)[0])
    shares = responses.shares[label.layer][:, position, responses.stems.index(label.top.stem)]
    clip = int(np.nanargmax(np.where(np.isfinite(shares), shares, -1.0)))
    return clip, float(shares[clip])


def excerpts_label(
    stems: Sequence[str],
    shares: Sequence[Sequence[float] | None],
    mix: Sequence[Sequence[float]],
    *,
    layer: str = "",
    feature: int = 0,
    rule: LabelRule = SELECTOR_RULE,
    n_boot: int = 200,
) -> StemLabel:
    """The label of one feature from its shares on a few excerpts (the atlas's top excerpts).

    Parameters
    ----------
    stems : sequence of str
        The stems, in the order of the shares.
    shares : sequence
        Per excerpt, the feature's share of each stem, or None where it is silent.
    mix : sequence
        Per excerpt, each stem's share of the excerpt.

    Examples
    --------
    >>> excerpts_label(["drums", "bass"], [[0.9, 0.1]] * 3, [[0.4, 0.6]] * 3).label
    'drums selector'
    """
    values = np.array([[np.nan] * len(stems) if row is None else row for row in shares], dtype=np.float64)
    responses = StemResponses(
        tuple(stems), np.asarray(mix, dtype=np.float64), {layer: values[:, None, :]}, {layer: np.array([feature])}
    )
    return feature_labels(stem_table(responses, n_boot=n_boot), rule)[0]
