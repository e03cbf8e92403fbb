"""Grids of maps: one function, :func:`map_grid`, lays out every grid; the others name its common layouts.

* :func:`feature_grid`: several features of one layer, ``D`` over ``|X| * D`` (the report, notebook 2);
* :func:`compare_maps`: one feature deconvolved several ways (rules, seedings), one row each;
* :func:`method_grid`: targets by attribution methods, the clip's spectrogram first (notebook 5);
* :func:`randomisation_maps`: each method's map as the model's layers are randomised;
* :func:`spectrogram_grid`: several clips' spectrograms.

Every function returns the :class:`~matplotlib.figure.Figure` (several panels), built without pyplot.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> config = AudioConfig()
>>> rng = np.random.default_rng(0)
>>> S, D = rng.random((257, 173)), rng.standard_normal((257, 173))
>>> fig = compare_maps(S, {"deconvnet": D, "gradient": -D}, config)
>>> len(fig.axes)  # two panels per row and a colour bar
5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from ..audio import AudioConfig
from ..errors import ParameterError
from .spectrograms import signed_map, spectrogram
from .style import TOP_DB, Scale, signed_colorbar

if TYPE_CHECKING:
    from ..methods.sanity import Sanity

__all__ = ["compare_maps", "feature_grid", "map_grid", "method_grid", "randomisation_maps", "spectrogram_grid"]

#: Product sign between ``|X|`` and ``D`` in labels.
_MASKED = "|X| \u00b7 D"


def map_grid(
    maps: Mapping[str, Mapping[str, np.ndarray]],
    config: AudioConfig,
    *,
    scale: Scale = "level",
    top_db: float = TOP_DB,
    cell_title: str | None = "{column} ({row})",
    spectrogram_of: np.ndarray | None = None,
    title: str | None = None,
    size: tuple[float, float] = (2.4, 2.2),
) -> Figure:
    """Signed maps in a grid: one row per key of ``maps``, one column per key of the inner mappings.

    Parameters
    ----------
    maps : mapping of str to mapping of str to numpy.ndarray
        Row label -> column label -> map ``(n_bins, n_frames)``; the columns are the inner keys in first-seen order,
        and a row without one of them leaves that panel blank.
    config : AudioConfig
        Axes.
    scale : {"level", "linear"}
        How values become colours (:func:`~auralisation.plotting.spectrograms.signed_map`); ``"level"`` panels
        share one colour bar, ``"linear"`` ones are each scaled to their own largest magnitude.
    top_db : float
        Dynamic range of the ``"level"`` scale.
    cell_title : str or None
        Each panel's title, formatted with ``row`` and ``column``; None titles the top row by column and labels
        the rows on the left instead.
    spectrogram_of : numpy.ndarray, optional
        The clip's linear magnitude, shown in dB first in every row.
    title : str, optional
        The figure's title.
    size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Its axes are the panels, row by row, then (``"level"`` only) the shared colour bar.

    Raises
    ------
    ParameterError
        ``maps`` is empty.
    """
    rows = list(maps)
    columns = list(dict.fromkeys(column for row in rows for column in maps[row]))
    if not columns:
        raise ParameterError("a grid of maps needs at least one map")
    first = int(spectrogram_of is not None)
    n_columns = len(columns) + first
    fig = Figure(figsize=(size[0] * n_columns + 0.8, size[1] * len(rows) + 0.6), dpi=80, layout="constrained")
    axes = fig.subplots(len(rows), n_columns, squeeze=False, sharex=True, sharey=True)
    for r, row in enumerate(rows):
        if spectrogram_of is not None:
            spectrogram(spectrogram_of, config, ax=axes[r, 0], title=f"clip ({row})", colorbar=False)
        for c, column in enumerate(columns, start=first):
            ax = axes[r, c]
            if column not in maps[row]:
                ax.set_axis_off()
                continue
            label = None if cell_title is None else cell_title.format(row=row, column=column)
            signed_map(maps[row][column], config, ax=ax, scale=scale, top_db=top_db, title=label)
            if cell_title is None and r == 0:
                ax.set_title(column, fontsize=9)
    for row, line in zip(rows, axes):
        for ax in line:
            ax.tick_params(labelsize=7)
            ax.label_outer()
        if cell_title is None:
            line[0].set_ylabel(f"{row}\nHz")
    if scale == "level":
        mesh = next(ax.collections[-1] for ax in axes[:, first:].ravel() if ax.collections)
        signed_colorbar(mesh, axes, top_db=top_db, shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def feature_grid(
    S: np.ndarray,
    D: np.ndarray,
    features: Sequence[int],
    activations: Sequence[float],
    config: AudioConfig,
    *,
    title: str | None = None,
    top_db: float = TOP_DB,
) -> Figure:
    """Several features of one layer: ``D`` (top row) and ``|X| * D`` (bottom row), one column per feature.

    Parameters
    ----------
    S : numpy.ndarray
        The clip's linear magnitude ``(n_bins, n_frames)``.
    D : numpy.ndarray
        Deconvolved spectrograms ``(n, n_bins, n_frames)``, one per entry of ``features``.
    features : sequence of int
        The feature indices (for the column titles).
    activations : sequence of float
        Each feature's activation (for the column titles).
    config : AudioConfig
        Axes.
    title : str, optional
        The figure's title.
    top_db : float
        Dynamic range (see :func:`~auralisation.plotting.style.signed_level`).

    Returns
    -------
    matplotlib.figure.Figure
        ``D`` panels, then ``|X| * D`` panels, then the colour bar.

    Raises
    ------
    ParameterError
        Not as many maps as features and activations, or none.
    """
    D = np.asarray(D, dtype=np.float32)
    if not len(D) == len(features) == len(activations) or len(D) == 0:
        raise ParameterError(
            f"feature_grid needs as many maps as features and activations (at least one); got {len(D)} maps, "
            f"{len(features)} features and {len(activations)} activations"
        )
    S = np.asarray(S, dtype=np.float32).reshape(D.shape[1:])
    columns = [f"feature {k}\nactivation {a:.3g}" for k, a in zip(features, activations)]
    maps = {"D": dict(zip(columns, D)), _MASKED: dict(zip(columns, S * D))}
    return map_grid(maps, config, top_db=top_db, cell_title=None, title=title, size=(2.3, 2.0))


def compare_maps(
    S: np.ndarray, maps: Mapping[str, np.ndarray], config: AudioConfig, *, title: str | None = None,
    top_db: float = TOP_DB,
) -> Figure:
    """One feature's maps made several ways (rules, seedings): one row per entry of ``maps``, ``D`` and
    ``|X| * D`` side by side as signed levels.

    Parameters
    ----------
    S : numpy.ndarray
        The clip's linear magnitude ``(n_bins, n_frames)``.
    maps : mapping
        Row label (e.g. ``"deconvnet, map"``) -> deconvolved spectrogram ``(n_bins, n_frames)``.
    config : AudioConfig
        Axes.
    title : str, optional
    top_db : float
        Dynamic range of the signed levels.
    """
    S = np.asarray(S, dtype=np.float32).reshape(config.n_bins, -1)
    rows = {label: {"D": D, _MASKED: S * np.asarray(D, dtype=np.float32).reshape(S.shape)} for label, D in maps.items()}
    return map_grid(rows, config, top_db=top_db, cell_title="{row}: {column}", title=title, size=(4.0, 2.3))


def method_grid(
    maps: Mapping[str, Mapping[str, np.ndarray]], config: AudioConfig, *, spectrogram: np.ndarray | None = None
) -> Figure:
    """Attribution maps side by side: one row per target (e.g. ``"feature 7 of pool2"``, ``"class rock"``), one
    column per method, each on its own linear scale, with the clip's spectrogram first when given.

    Parameters
    ----------
    maps : mapping of str to mapping of str to numpy.ndarray
        Row label -> method -> ``(bins, frames)`` map.
    config : AudioConfig
        For the axes.
    spectrogram : numpy.ndarray, optional
        The clip's linear magnitude, shown in the first column of every row.
    """
    return map_grid(maps, config, scale="linear", spectrogram_of=spectrogram, size=(2.8, 2.4))


def randomisation_maps(result: "Sanity", config: AudioConfig, *, columns: int = 5) -> Figure:
    """Each method's map (rows) for the trained model and after a few stages of randomisation (columns).

    Parameters
    ----------
    result : auralisation.methods.sanity.Sanity
        The cascading randomisation's result.
    config : AudioConfig
        Axes.
    columns : int
        Stages shown, spread evenly from the trained model to the fully randomised one.
    """
    n_stages = len(result.stages)
    picks = np.unique(np.round(np.linspace(0, n_stages, min(columns, n_stages + 1))).astype(int))
    titles = ["trained" if i == 0 else f"down to {result.stages[i - 1]}" for i in picks]
    maps = {method: {title: result.maps[method][i] for i, title in zip(picks, titles)} for method in result.methods}
    return map_grid(maps, config, scale="linear", cell_title="{row}: {column}", size=(2.6, 2.2))


def spectrogram_grid(
    spectrograms: Sequence[np.ndarray], titles: Sequence[str], config: AudioConfig, *, columns: int = 4
) -> Figure:
    """Several spectrograms (as :func:`~auralisation.plotting.spectrograms.spectrogram`, without colour bars) in a
    grid of ``columns`` columns, one title each.

    Raises
    ------
    ParameterError
        Not as many titles as spectrograms.
    """
    if len(spectrograms) != len(titles):
        raise ParameterError(f"{len(spectrograms)} spectrograms but {len(titles)} titles")
    columns = max(1, min(columns, len(spectrograms)))
    rows = -(-len(spectrograms) // columns)
    fig = Figure(figsize=(3.2 * columns, 2.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    for ax, S, title in zip(axes, spectrograms, titles):
        spectrogram(S, config, title=title, ax=ax, colorbar=False)
    for ax in axes[len(spectrograms):]:
        ax.set_axis_off()
    return fig
