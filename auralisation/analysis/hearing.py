"""What a layer's features hear, in words generated from measured values (notebook 02's per-layer prose).

Two measures speak: the onset log-ratio (:func:`~auralisation.analysis.measures.onset_log_ratio`, relative to the
input: beyond :data:`~auralisation.analysis.measures.ONSET_THRESHOLD`, the study's one threshold, below an attack
suppressor, above an onset detector; random filters pass it too, so a named feature is a candidate, not a
finding) and the stem labels (:mod:`~auralisation.analysis.stems`). :func:`clip_onset_ratios` measures one clip as
:func:`~auralisation.analysis.responses.compute_responses` does; :func:`layer_findings` turns a layer's numbers into
a paragraph and names the features worth a listen.

Examples
--------
>>> text, play = layer_findings("pool1", np.array([-1.2, 0.05, 0.08, np.nan]), None, k=1)
>>> play
[0, 2]
>>> print(text)  # doctest: +NORMALIZE_WHITESPACE
**pool1, onset measure** (log-ratio of energy on onset frames to energy on sustained frames, relative to the
input's: 0 passes them as the clip has them; 3 features measured): no onset detector (above +0.1; the most:
feature 2, +0.08); 1 attack suppressor (below -0.1), the strongest feature 0 (-1.20).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..audio import AudioConfig, compress, magnitude
from .measures import ONSET_THRESHOLD, active_frames, onset_frames, onset_log_ratio, onset_masks
from .stem_labels import StemLabel

__all__ = ["clip_onset_ratios", "layer_findings", "onset_ratios"]


def clip_onset_ratios(y: np.ndarray, D: np.ndarray, config: AudioConfig) -> np.ndarray:
    """Onset log-ratio of each deconvolved spectrogram ``D`` ``(n, bins, frames)`` of clip ``y``, relative to the input.

    The input is the spectrogram as the network sees it (its ``config.scaling``), as in
    :func:`~auralisation.analysis.responses.compute_responses`. NaN for every feature when the clip has no onset or
    no sustained frame.
    """
    S = magnitude(y, config)
    masks = onset_masks(onset_frames(y, config), active_frames(S))
    return onset_log_ratio(D, *masks, reference=compress(S, config.scaling))


def onset_ratios(clips: Sequence[np.ndarray], maps: Sequence[np.ndarray], config: AudioConfig) -> np.ndarray:
    """Each feature's onset log-ratio (:func:`clip_onset_ratios`) averaged over the clips where it is measured.

    ``maps[i]`` holds every feature's ``D`` on ``clips[i]``; NaN for a feature measured on no clip.
    """
    ratios = np.stack([clip_onset_ratios(y, D, config) for y, D in zip(clips, maps)])
    measured = np.isfinite(ratios)
    counts = measured.sum(axis=0)
    return np.where(counts > 0, np.where(measured, ratios, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)


def layer_findings(
    layer: str, onset: np.ndarray | None, labels: Sequence[StemLabel] | None, *, k: int = 2
) -> tuple[str, list[int]]:
    """A paragraph (Markdown) on one layer's features, and the features it names, to be played.

    Parameters
    ----------
    layer : str
        The layer's name.
    onset : numpy.ndarray or None
        Onset log-ratio per feature (feature ``i`` at position ``i``; NaN where not measured), or None.
    labels : sequence of StemLabel or None
        The layer's stem labels (:func:`~auralisation.analysis.stem_labels.feature_labels`), or None without stems.
    k : int
        How many suppressors, detectors and selectors to name.

    Returns
    -------
    tuple
        ``(text, features)``: the paragraph, and the features it names (suppressors, detectors, then the most
        distinctive stem features), without repeats.
    """
    parts, named = [], []
    if onset is not None and np.isfinite(onset).any():
        ratios = np.asarray(onset, dtype=np.float64)
        measured = np.flatnonzero(np.isfinite(ratios))
        ranked = measured[np.argsort(ratios[measured], kind="stable")]
        low, high = [int(f) for f in ranked[:k]], [int(f) for f in ranked[::-1][:k]]

        def marked(features: list[int], sign: int, kind: str) -> tuple[str, list[int]]:
            """The sentence on one kind, and the features it names (the marked ones, else the most extreme)."""
            chosen = [f for f in features if sign * ratios[f] > ONSET_THRESHOLD]
            side = f"{'below' if sign < 0 else 'above'} {sign * ONSET_THRESHOLD:+g}"
            if not chosen:
                return f"no {kind} ({side}; the most: feature {features[0]}, {ratios[features[0]]:+.2f})", features[:1]
            count = int((sign * ratios[measured] > ONSET_THRESHOLD).sum())
            listed = ", ".join(f"feature {f} ({ratios[f]:+.2f})" for f in chosen)
            return f"{count} {kind}{'s' if count > 1 else ''} ({side}), the strongest {listed}", chosen

        detectors, loud = marked(high, 1, "onset detector")
        suppressors, soft = marked(low, -1, "attack suppressor")
        parts.append(
            f"**{layer}, onset measure** (log-ratio of energy on onset frames to energy on sustained frames, "
            f"relative to the input's: 0 passes them as the clip has them; {len(measured)} features measured): "
            f"{detectors}; {suppressors}."
        )
        named += soft + loud
    if labels:
        counts = Counter(label.label for label in labels)
        summary = ", ".join(f"{n} {label}" for label, n in sorted(counts.items(), key=lambda i: (-i[1], i[0])))
        distinct = sorted(
            (label for label in labels if label.label not in ("silent", "too few clips")),
            key=lambda label: (not label.label.endswith(" selector"), -label.clarity, label.feature),
        )[:k]
        described = "; ".join(
            f"feature {label.feature}: {label.label}, {label.top.stem} share {label.top.share:.2f} "
            f"(enrichment {label.top.enrichment:.2f})"
            for label in distinct
        )
        parts.append(
            f"**{layer}, stem measure** (the share of each feature's auralised magnitude that each stem explains, "
            f"over the clips with stems): {summary}. Most distinctive: {described or 'none'}."
        )
        named += [label.feature for label in distinct]
    return "\n\n".join(parts), list(dict.fromkeys(named))
