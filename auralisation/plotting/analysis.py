"""Curves of the correlation analysis: correlation against depth, invariance heat maps, lines, onsets.

Each one-panel function draws into the ``ax`` it is given (a new figure's when none is) and returns that
:class:`~matplotlib.axes.Axes`; :func:`invariance_grid` returns its :class:`~matplotlib.figure.Figure`. Nothing
uses pyplot or shows anything.

Examples
--------
>>> from auralisation.analysis import CorrelationRow
>>> rows = [CorrelationRow("m", "activation", f"pool{d}", d, "key", 0.1 * d, 0.1 * d - 0.05, 0.1 * d + 0.05, 10, 4)
...         for d in (1, 2, 3)]
>>> ax = correlation_by_layer(rows)
>>> [t.get_text() for t in ax.get_xticklabels()]
['pool1', 'pool2', 'pool3']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..analysis import ATTRIBUTES, FLOOR, Analysis, CorrelationRow, LineRow, OnsetRow, invariance_index, onset_extremes
from ..analysis.stems import StemRow
from ..errors import AuralisationError, ParameterError
from .style import SIGNED_CMAP, new_axes

__all__ = [
    "correlation_by_layer", "invariance_grid", "invariance_heatmap", "line_share_by_layer", "onset_sensitivity",
    "stem_share_bars",
]

_COLOURS = {"key": "tab:blue", "chord_group": "tab:orange", "instrument": "tab:green", FLOOR: "tab:gray"}
_LABELS = {"key": "key", "chord_group": "chord", "instrument": "instrument", FLOOR: "everything (floor)"}
_STYLES = ("-", "--", ":", "-.")


def _models(rows: Sequence[CorrelationRow | LineRow]) -> list[str]:
    """The models of ``rows``, in first-seen order."""
    return list(dict.fromkeys(row.model for row in rows))


def _band(ax: Axes, rows: Sequence, *, colour: str, style: str, label: str) -> None:
    """Rows' means against depth, with their intervals shaded."""
    rows = sorted(rows, key=lambda row: row.depth)
    depth = [row.depth for row in rows]
    ax.plot(depth, [row.mean for row in rows], style, color=colour, marker="o", label=label)
    ax.fill_between(depth, [row.low for row in rows], [row.high for row in rows], color=colour, alpha=0.2, lw=0)


def _layer_axis(ax: Axes, rows: Sequence) -> None:
    """Layer names on the x axis, at their depths."""
    layers = {row.depth: row.layer for row in rows}
    ax.set_xticks(sorted(layers), [layers[d] for d in sorted(layers)])
    ax.set_xlabel("layer (block output)")


def correlation_by_layer(
    rows: Sequence[CorrelationRow], *, representation: str = "activation", title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Correlation between clips differing in one attribute, against depth: one line per attribute (and model).

    Parameters
    ----------
    rows : sequence of CorrelationRow
        From :func:`auralisation.analysis.correlation_table` (or ``Analysis.correlations``); rows of several models
        are drawn with different line styles (first model solid).
    representation : str
        Which responses: ``"activation"`` or ``"deconvolution"``.
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Draw into this axes instead of a new figure's.

    Returns
    -------
    matplotlib.axes.Axes
        Shaded bands are the bootstrap confidence intervals.
    """
    rows = [row for row in rows if row.representation == representation]
    if not rows:
        raise AuralisationError(f"no correlation rows for the {representation!r} representation to plot")
    ax = new_axes((8, 4)) if ax is None else ax
    for style, model in zip(_STYLES, _models(rows)):
        for attribute in (*ATTRIBUTES, FLOOR):
            chosen = [row for row in rows if row.model == model and row.attribute == attribute]
            if chosen:
                label = _LABELS[attribute] + (f" ({model})" if len(_models(rows)) > 1 else "")
                _band(ax, chosen, colour=_COLOURS[attribute], style=style, label=label)
    _layer_axis(ax, rows)
    ax.set_ylabel(f"correlation of {representation} profiles")
    ax.set_title(title or f"Pairs differing in one attribute ({representation})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    return ax


def invariance_heatmap(
    analysis: Analysis,
    layer: str,
    *,
    representation: str = "activation",
    ax: Axes | None = None,
) -> Axes:
    """Feature x attribute invariance index of one layer, as a heat map (attributes in rows, features in columns).

    The index is ``(r_attribute - r_floor) / (1 - r_floor)``
    (:func:`~auralisation.analysis.invariance_index`): 1 (red) invariant, 0 (white) as different as unrelated
    clips; grey where undefined.
    """
    try:
        matrix = analysis.invariance[representation][layer]
    except KeyError:
        raise AuralisationError(
            f"no {representation} invariance for layer {layer!r}: layers are {analysis.responses.layers}"
        ) from None
    index = invariance_index(matrix).T  # (attributes, features)
    features = analysis.responses.features[layer]
    if ax is None:
        ax = new_axes((max(6.0, 0.12 * len(features) + 2.0), 2.4))
    cmap = colormaps[SIGNED_CMAP].with_extremes(bad="0.8")
    image = ax.imshow(np.ma.masked_invalid(index), aspect="auto", cmap=cmap, vmin=-1.0, vmax=1.0,
                      interpolation="nearest")
    ax.set_yticks(range(len(ATTRIBUTES)), [_LABELS[a] for a in ATTRIBUTES])
    step = max(1, len(features) // 16)
    ax.set_xticks(range(0, len(features), step), [str(f) for f in features[::step]])
    ax.set_xlabel("feature")
    ax.set_title(f"Invariance index, {layer} ({analysis.label})")
    ax.figure.colorbar(image, ax=ax, label="invariance")
    return ax


def invariance_grid(analysis: Analysis, *, representation: str = "activation") -> Figure:
    """The invariance heat maps of every layer, one under the other (the static form of the layer slider)."""
    layers = analysis.responses.layers
    n_features = max(len(analysis.responses.features[layer]) for layer in layers)
    figure = Figure(figsize=(max(6.0, 0.12 * n_features + 2.0), 2.0 * len(layers)), layout="constrained")
    for ax, layer in zip(figure.subplots(len(layers), 1, squeeze=False)[:, 0], layers):
        invariance_heatmap(analysis, layer, representation=representation, ax=ax)
    return figure


def line_share_by_layer(rows: Sequence[LineRow], *, title: str | None = None, ax: Axes | None = None) -> Axes:
    """Line share of the deconvolved spectrograms against depth: total, horizontal and vertical (per model)."""
    if not rows:
        raise AuralisationError("no line-share rows to plot: compute responses with deconvolve=True")
    colours = {"total": "black", "horizontal": "tab:purple", "vertical": "tab:red"}
    ax = new_axes((8, 4)) if ax is None else ax
    for style, model in zip(_STYLES, _models(rows)):
        for orientation, colour in colours.items():
            chosen = [row for row in rows if row.model == model and row.orientation == orientation]
            if chosen:
                label = orientation + (f" ({model})" if len(_models(rows)) > 1 else "")
                _band(ax, chosen, colour=colour, style=style, label=label)
    _layer_axis(ax, rows)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_ylabel("line share (0 texture, 1 lines)")
    ax.set_title(title or "Lines or textures? Deconvolved spectrograms by layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    return ax


def onset_sensitivity(
    rows: Sequence[OnsetRow], *, k: int = 3, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Onset log-ratio of each feature, sorted, with intervals; the ``k`` extremes at each end labelled."""
    rows = [row for row in rows if np.isfinite(row.mean)]
    if not rows:
        raise AuralisationError("no onset measures to plot: no clip had both onset and sustained frames")
    rows = sorted(rows, key=lambda row: row.mean)
    suppressors, detectors = onset_extremes(rows, k)
    highlight = {row.feature: "tab:blue" for row in suppressors} | {row.feature: "tab:red" for row in detectors}
    ax = new_axes((max(6.0, 0.12 * len(rows) + 2.0), 3.5)) if ax is None else ax
    positions = np.arange(len(rows))
    means = np.array([row.mean for row in rows])
    errors = np.array([[row.mean - row.low for row in rows], [row.high - row.mean for row in rows]])
    ax.bar(positions, means, color=[highlight.get(row.feature, "0.6") for row in rows], yerr=errors, lw=0,
           error_kw={"lw": 0.6})
    for position, row in zip(positions, rows):
        if row.feature in highlight:
            ax.annotate(str(row.feature), (position, row.mean), ha="center", fontsize="small",
                        va="top" if row.mean < 0 else "bottom")
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks([])
    ax.set_xlabel("features, sorted (blue: attack suppressors, red: onset detectors)")
    ax.set_ylabel("onset log-ratio vs input")
    ax.set_title(title or f"Onset sensitivity, {rows[0].layer} ({rows[0].model})")
    return ax


def stem_share_bars(rows: Sequence[StemRow], features: Sequence[int], ax: Axes | None = None) -> Axes:
    """Each stem's share of the chosen features' auralisations (bars, with their intervals) against its share of the
    clips (black ticks): a bar well past its tick is a stem the feature selects.

    Parameters
    ----------
    rows : sequence of StemRow
        One layer's rows of :func:`~auralisation.analysis.stems.stem_table`.
    features : sequence of int
        The features to draw, top to bottom.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default, a new figure's axes.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ParameterError
        Some feature has no row for some stem.
    """
    if ax is None:
        ax = new_axes((7, 0.6 * len(features) + 1.0))
    stems = list(dict.fromkeys(row.stem for row in rows))
    table = {(row.feature, row.stem): row for row in rows}
    if not features or any((feature, stem) not in table for feature in features for stem in stems):
        raise ParameterError(f"the rows hold no stem shares for some of the features {list(features)}")
    height = 0.8 / len(stems)
    colours = colormaps["tab10"].colors
    for s, stem in enumerate(stems):
        chosen = [table[feature, stem] for feature in features]
        y = np.arange(len(features)) - 0.4 + (s + 0.5) * height
        share = np.array([row.share for row in chosen])
        error = np.abs(np.array([[row.share - row.share_low, row.share_high - row.share] for row in chosen]).T)
        ax.barh(y, np.nan_to_num(share), height=height, xerr=np.nan_to_num(error), color=colours[s % 10],
                label=stem, error_kw={"elinewidth": 0.8, "capsize": 0, "ecolor": "0.55"})
        ax.plot([row.mix_share for row in chosen], y, "|", color="black", markersize=9, markeredgewidth=1.5)
    ax.plot([], [], "|", color="black", markersize=9, markeredgewidth=1.5, label="share of the clips")
    ax.set_yticks(range(len(features)), [f"feature {feature}" for feature in features])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the auralised magnitude (bars: 95% interval over clips)")
    ax.set_title(rows[0].layer if rows else "")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return ax
