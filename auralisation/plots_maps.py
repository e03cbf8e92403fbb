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
from .frontends import to_linear
from .plots import specshow
from .plots_listen import SIGNED_CMAP, TOP_DB, signed_colorbar, signed_level

__all__ = ["compare_maps", "compare_routes"]


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


def compare_routes(
    bands: np.ndarray,
    matrix: np.ndarray,
    config: AudioConfig,
    *,
    title: str | None = None,
    top_db: float = TOP_DB,
) -> Figure:
    """A map on filterbank bands and the two routes back to the linear STFT: transpose and pseudo-inverse.

    Top left, the map on the bands (signed level, band index upwards); top right, each route's map averaged over
    time against frequency, each scaled to its own peak (where the transpose darkens the wide high bands, where the
    pseudo-inverse rings); bottom, the two maps on the STFT bins (signed levels, as :func:`compare_maps`).

    Parameters
    ----------
    bands : numpy.ndarray
        ``(n_bands, n_frames)``: one deconvolved map on the filterbank's bands (taken at the filterbank's output).
    matrix : numpy.ndarray
        The filterbank ``(n_bands, n_bins)`` (:func:`auralisation.frontends.filterbank_of`).
    config : AudioConfig
        Axes.
    title : str, optional
    top_db : float
        Dynamic range of the signed levels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from auralisation.audio import FrontEnd
    >>> from auralisation.frontends import mel_filterbank
    >>> config = AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=96))
    >>> m = np.random.default_rng(0).standard_normal((96, 173))
    >>> len(compare_routes(m, mel_filterbank(config), config).axes)  # four panels and a colour bar
    5
    """
    bands = np.asarray(bands, dtype=np.float32)
    routes = {route: to_linear(bands, matrix, route) for route in ("transpose", "pinv")}
    fig = Figure(figsize=(10.0, 5.6), dpi=80, layout="constrained")
    axes = fig.subplots(2, 2)
    band_ax, profile_ax = axes[0]
    band_ax.imshow(signed_level(bands, top_db), origin="lower", aspect="auto", cmap=SIGNED_CMAP, vmin=-1, vmax=1,
                   interpolation="nearest")
    band_ax.set(title=f"the map on {bands.shape[0]} bands", xlabel="frame", ylabel="band")
    frequencies = np.fft.rfftfreq(config.n_fft, 1.0 / config.sr)
    for route, D in routes.items():
        profile = D.mean(axis=-1)
        peak = float(np.abs(profile).max()) or 1.0
        profile_ax.plot(frequencies, profile / peak, label=route, linewidth=1.0)
    profile_ax.axhline(0.0, color="0.6", linewidth=0.6)
    profile_ax.set(title="averaged over time, each to its own peak", xlabel="Hz", ylabel="relative value")
    profile_ax.legend(fontsize=8)
    mesh = None
    for ax, (route, D) in zip(axes[1], routes.items()):
        mesh = specshow(ax, signed_level(D, top_db), config, cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0)
        ax.set_title(f"{route}: on the {config.n_bins} STFT bins", fontsize=9)
    for ax in axes.ravel():
        ax.tick_params(labelsize=7)
    signed_colorbar(fig, mesh, axes[1], top_db, title)
    return fig
