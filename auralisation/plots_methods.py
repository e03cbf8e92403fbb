"""Figures for the comparison of attribution methods (:mod:`auralisation.methods`).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot; nothing is shown.

Examples
--------
>>> import numpy as np
>>> from auralisation.methods import Curve, Faithfulness
>>> curve = Curve(np.linspace(0, 1, 3), np.array([0.9, 0.5, 0.1]))
>>> result = Faithfulness("class 0", "probability", "value", "zeros", {"gradient": curve, "random": curve},
...                       {"gradient": curve, "random": curve})
>>> [ax.get_title() for ax in deletion_insertion(result).axes]
['Deletion (lower area is better)', 'Insertion (higher area is better)']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .audio import AudioConfig
from .methods.faithfulness import RANDOM, Faithfulness
from .methods.sanity import Sanity
from .plots import specshow
from .plots import spectrogram as spectrogram_plot

__all__ = ["attribution", "deletion_insertion", "method_grid", "randomisation", "randomisation_maps"]


def attribution(m: np.ndarray, config: AudioConfig, *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """One signed map ``(bins, frames)`` with time and frequency axes, red positive and blue negative, symmetric."""
    if ax is None:
        ax = Figure(figsize=(4, 3), layout="constrained").subplots()
    m = np.asarray(m, dtype=np.float32).reshape(config.n_bins, -1)
    limit = float(np.abs(m).max()) or 1.0
    specshow(ax, m, config, cmap="RdBu_r", vmin=-limit, vmax=limit)
    if title:
        ax.set_title(title, fontsize=9)
    return ax.figure


def method_grid(
    maps: Mapping[str, Mapping[str, np.ndarray]], config: AudioConfig, *, spectrogram: np.ndarray | None = None
) -> Figure:
    """Maps side by side: one row per target (e.g. ``"feature 7 of pool2"``, ``"class rock"``), one column per
    method, with the clip's spectrogram first when given.

    Parameters
    ----------
    maps : mapping of str to mapping of str to numpy.ndarray
        Row label -> method -> ``(bins, frames)`` map.
    config : AudioConfig
        For the axes.
    spectrogram : numpy.ndarray, optional
        The clip's linear magnitude, shown in the first column of every row.
    """
    rows = list(maps)
    methods = list(dict.fromkeys(name for row in rows for name in maps[row]))
    columns = len(methods) + (spectrogram is not None)
    fig = Figure(figsize=(2.8 * columns, 2.4 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), columns, squeeze=False, sharex=True, sharey=True)
    for r, row in enumerate(rows):
        cells = list(axes[r])
        if spectrogram is not None:
            spectrogram_plot(spectrogram, config, title=f"clip ({row})", ax=cells.pop(0), colorbar=False)
        for ax, method in zip(cells, methods):
            if method in maps[row]:
                attribution(maps[row][method], config, title=f"{method} ({row})", ax=ax)
            else:
                ax.set_axis_off()
    for ax in axes.ravel():
        ax.label_outer()
    return fig


def deletion_insertion(result: Faithfulness | Sequence[Faithfulness]) -> Figure:
    """Deletion and insertion curves of each method (the random baseline dashed), areas in the legend.

    Several results (e.g. a feature and a class) give one row each.
    """
    results = [result] if isinstance(result, Faithfulness) else list(result)
    fig = Figure(figsize=(10, 3.4 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 2, squeeze=False)
    for row, res in zip(axes, results):
        for ax, (mode, curves) in zip(row, (("deletion", res.deletion), ("insertion", res.insertion))):
            for name, curve in curves.items():
                style = {"color": "0.4", "linestyle": "--"} if name == RANDOM else {}
                ax.plot(curve.fractions, curve.scores, label=f"{name} ({curve.auc:.3g})", **style)
            better = "lower" if mode == "deletion" else "higher"
            title = f"{mode.capitalize()} ({better} area is better)"
            ax.set_title(title if len(results) == 1 else f"{title}\n{res.target}", fontsize=10)
            ax.set_xlabel(f"fraction of bins {'removed' if mode == 'deletion' else 'put back'}")
            ax.set_ylabel(res.score)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    return fig


def randomisation(result: Sanity, measures: Sequence[str] = ("spearman_abs", "ssim")) -> Figure:
    """Similarity of each method's map to the trained model's as layers are randomised from the top."""
    labels = {"spearman": "Spearman (signed)", "spearman_abs": "Spearman of |map|", "ssim": "SSIM of |map|"}
    fig = Figure(figsize=(5 * len(measures), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(measures)))
    x = np.arange(len(result.stages))
    for ax, measure in zip(axes, measures):
        for method in result.methods:
            ax.plot(x, result.similarity(method, measure), marker="o", label=method)
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.set_xticks(x, result.stages, rotation=45, ha="right")
        ax.set_xlabel("randomised from the top down to")
        ax.set_ylabel(labels.get(measure, measure))
        ax.set_ylim(min(-0.3, float(result.scores[measure].min()) - 0.05), 1.05)
        ax.set_title(f"Cascading randomisation: {labels.get(measure, measure)}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=8)
    return fig


def randomisation_maps(result: Sanity, config: AudioConfig, *, columns: int = 5) -> Figure:
    """Each method's map (rows) for the trained model and after a few stages of randomisation (columns)."""
    n_stages = len(result.stages)
    picks = np.unique(np.round(np.linspace(0, n_stages, min(columns, n_stages + 1))).astype(int))
    titles = ["trained" if i == 0 else f"down to {result.stages[i - 1]}" for i in picks]
    fig = Figure(figsize=(2.6 * len(picks), 2.2 * len(result.methods)), layout="constrained")
    axes = fig.subplots(len(result.methods), len(picks), squeeze=False, sharex=True, sharey=True)
    for row, method in zip(axes, result.methods):
        for ax, i, title in zip(row, picks, titles):
            attribution(result.maps[method][i], config, title=f"{method}: {title}", ax=ax)
    for ax in axes.ravel():
        ax.label_outer()
    return fig
