"""The atlas's own figure: a feature's activation over the corpus, and which labels its top excerpts carry."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

__all__ = ["activation_histogram", "label_colours"]


def label_colours(n_labels: int) -> list[tuple[float, float, float, float]]:
    """One colour per label (tab10, or tab20 beyond ten labels)."""
    cmap = colormaps["tab10" if n_labels <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n_labels)]


def activation_histogram(
    counts: np.ndarray,
    edges: np.ndarray,
    labels: Sequence[str],
    top_labels: Sequence[str],
    threshold: float,
    *,
    statistic: str,
    title: str | None = None,
) -> Figure:
    """A feature's activation over the corpus, stacked by label, beside the label mix of its top excerpts.

    Parameters
    ----------
    counts : numpy.ndarray
        int ``(n_labels, bins)``: excerpts per label and bin (:class:`~auralisation.atlas.topk.Histogram`).
    edges : numpy.ndarray
        ``(bins + 1,)`` bin edges.
    labels : sequence of str
        The corpus's labels, in the order of ``counts``.
    top_labels : sequence of str
        The label of each of the feature's top excerpts.
    threshold : float
        The weakest top excerpt's activation (a dashed line: everything right of it is in the top k).
    statistic : str
        What the activation is (``"max"`` or ``"mean"`` of the map), for the axis label.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Left: the histogram; right: top-k excerpts per label against the count the corpus's
        label shares would give (black ticks).
    """
    counts = np.asarray(counts)
    colours = label_colours(len(labels))
    fig = Figure(figsize=(8.0, 2.6), dpi=72)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.88, wspace=0.45)
    hist, mix = fig.subplots(1, 2, width_ratios=(2.2, 1))
    stacked = np.vstack([np.zeros(counts.shape[1]), np.cumsum(counts, axis=0)])
    for label, below, above, colour in zip(labels, stacked[:-1], stacked[1:], colours):
        hist.stairs(above, edges, baseline=below, fill=True, color=colour, label=label)
    hist.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"top {len(top_labels)}")
    hist.set_ylim(0, max(1.0, stacked[-1].max()) * 1.1)
    hist.set_xlabel(f"activation ({statistic} of the feature's map)")
    hist.set_ylabel("excerpts")
    if len(labels) <= 12:
        hist.legend(fontsize=7, ncols=2, loc="upper right")
    total = counts.sum()
    expected = counts.sum(axis=1) / max(total, 1) * len(top_labels)
    observed = [list(top_labels).count(label) for label in labels]
    positions = np.arange(len(labels))
    mix.barh(positions, observed, color=colours)
    mix.scatter(expected, positions, marker="|", s=120, color="black", label="corpus share")
    mix.set_yticks(positions, labels, fontsize=8)
    mix.invert_yaxis()
    mix.set_xlabel(f"of the top {len(top_labels)}")
    mix.set_xlim(0, max(len(top_labels), 1))
    mix.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
