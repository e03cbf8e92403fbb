"""Figures for comparing deconvolved spectrograms of one feature made in different ways (rules, seedings).

Each row is one way of deconvolving: the deconvolved spectrogram ``D`` and ``|X| * D``, both as signed levels
(:func:`auralisation.plots_listen.signed_level`: red where the feature adds energy with the clip's phase, blue
with the phase flipped, white more than ``top_db`` dB below the panel's peak). Functions return a
:class:`matplotlib.figure.Figure` built without pyplot; nothing is shown.

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

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from .audio import AudioConfig
from .plots import specshow
from .plots_listen import SIGNED_CMAP, TOP_DB, signed_colorbar, signed_level

__all__ = ["compare_maps"]


def compare_maps(
    S: np.ndarray,
    maps: Mapping[str, np.ndarray],
    config: AudioConfig,
    *,
    title: str | None = None,
    top_db: float = TOP_DB,
) -> Figure:
    """One row per entry of ``maps``: its ``D`` and ``|X| * D`` as signed levels.

    Parameters
    ----------
    S : numpy.ndarray
        The clip's linear magnitude ``(n_bins, n_frames)``.
    maps : mapping
        Row label (e.g. ``"deconvnet, map"``) -> deconvolved spectrogram ``(n_bins, n_frames)``.
    config : AudioConfig
        Axes.
    title : str, optional
        The figure's title.
    top_db : float
        Dynamic range of the signed levels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not maps:
        raise ValueError("compare_maps needs at least one map")
    S = np.asarray(S, dtype=np.float32).reshape(config.n_bins, -1)
    fig = Figure(figsize=(9.0, 2.3 * len(maps) + 0.6), dpi=80, layout="constrained")
    axes = fig.subplots(len(maps), 2, squeeze=False, sharex=True, sharey=True)
    mesh = None
    for row, (label, D) in enumerate(maps.items()):
        D = np.asarray(D, dtype=np.float32).reshape(S.shape)
        for column, (values, name) in enumerate(((D, "D"), (S * D, "|X| \u00b7 D"))):
            ax = axes[row, column]
            mesh = specshow(ax, signed_level(values, top_db), config, cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0)
            ax.set_title(f"{label}: {name}", fontsize=9)
            ax.tick_params(labelsize=7)
            if row < len(maps) - 1:
                ax.set_xlabel("")
            if column:
                ax.set_ylabel("")
    signed_colorbar(fig, mesh, axes, top_db, title)
    return fig
