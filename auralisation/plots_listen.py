"""Figures for listening to features: the explorer's panels, a layer's feature grid, thumbnails.

A deconvolved spectrogram ``D`` is signed and its values span many decades, so every panel here shows it as a
*signed level*: the sign of the value times its level in dB within ``top_db`` of the panel's largest magnitude,
mapped to [-1, 1] (:func:`signed_level`): red where the feature adds energy with the clip's phase, blue where it
adds it with the phase flipped, white where it is more than ``top_db`` below its peak.

:class:`FeaturePanels` is the explorer's figure: the clip's ``|X|`` in dB, ``D`` and ``|X| * D`` side by side,
laid out once and then redrawn by blitting only the three images, so that a new feature is drawn in a few tens of
milliseconds. Functions return a :class:`matplotlib.figure.Figure` built without pyplot; nothing is shown.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> config = AudioConfig()
>>> rng = np.random.default_rng(0)
>>> S = rng.random((257, 173))
>>> D = rng.standard_normal((257, 173))
>>> panels = FeaturePanels(config)
>>> panels.update(S, D)
>>> panels.png()[:4]
b'\\x89PNG'
>>> float(signed_level(np.array([-2.0, 0.002, 2.0]), top_db=60.0).round(3)[0])
-1.0
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import librosa
import matplotlib.image
import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from .audio import AudioConfig
from .plots import specshow

__all__ = ["FeaturePanels", "feature_grid", "feature_panels", "signed_level", "thumbnail_png"]

#: Colour map of signed levels (blue negative, white zero, red positive).
SIGNED_CMAP = "RdBu_r"

#: Colour map of the original magnitude in dB.
MAGNITUDE_CMAP = "magma"

#: Dynamic range shown, in dB below the largest value of each panel.
TOP_DB = 60.0


def signed_level(a: np.ndarray, top_db: float = TOP_DB) -> np.ndarray:
    """``sign(a)`` times the level of ``|a|`` within ``top_db`` dB of its maximum, mapped to [-1, 1].

    ``1`` is the largest magnitude, ``0`` is ``top_db`` dB below it (or less, or zero). An all-zero array maps
    to zeros.

    Parameters
    ----------
    a : numpy.ndarray
        Any real array (a deconvolved spectrogram, or ``|X| * D``).
    top_db : float
        Dynamic range in dB.

    Returns
    -------
    numpy.ndarray
        float32 array of ``a``'s shape, in [-1, 1].
    """
    a = np.asarray(a, dtype=np.float32)
    peak = float(np.max(np.abs(a))) if a.size else 0.0
    if peak == 0.0:
        return np.zeros_like(a)
    floor = 10.0 ** (-top_db / 20.0)
    ratio = np.maximum(np.abs(a) / peak, floor)
    level = 1.0 + 20.0 * np.log10(ratio) / top_db
    return (np.sign(a) * level).astype(np.float32)


def _magnitude_db(S: np.ndarray) -> np.ndarray:
    """A linear magnitude in dB relative to its maximum, floored at -80 dB."""
    return librosa.amplitude_to_db(np.asarray(S, dtype=np.float32), ref=np.max, top_db=80.0)


def signed_colorbar(fig: Figure, mesh: QuadMesh, axes: np.ndarray, top_db: float, title: str | None) -> None:
    """The colour bar of signed-level panels (``mesh``, one of ``axes``) and the figure's title, if any."""
    colorbar = fig.colorbar(mesh, ax=axes.ravel().tolist(), ticks=[-1, 0, 1], shrink=0.8)
    colorbar.ax.set_yticklabels(["\u2212max", f"<\u2212{top_db:.0f} dB", "+max"])
    if title:
        fig.suptitle(title)


class FeaturePanels:
    """The explorer's figure: ``|X|`` in dB, the deconvolved spectrogram ``D``, and ``|X| * D``.

    The layout (axes, ticks, colour bars, titles) and the original are drawn once per clip; :meth:`update`
    replaces the images and :meth:`png` redraws only the two feature images over the saved background (blitting),
    so a new feature costs a few tens of milliseconds instead of a full redraw. :attr:`figure` stays an ordinary
    figure: saving or displaying it draws everything.

    Parameters
    ----------
    config : AudioConfig
        The spectrograms' shape and axes.
    width, height : float
        Figure size in inches.
    dpi : int
        Resolution of :meth:`png`.
    top_db : float
        Dynamic range of the signed panels (see :func:`signed_level`).
    """

    TITLES = ("original |X| (dB)", "deconvolved spectrogram D", "|X| \u00b7 D")

    def __init__(
        self, config: AudioConfig, *, width: float = 12.0, height: float = 3.4, dpi: int = 72, top_db: float = TOP_DB
    ) -> None:
        self.config = config
        self.top_db = top_db
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.subplots(1, 3, sharex=True, sharey=True)
        blank = np.zeros((config.n_bins, config.n_frames), dtype=np.float32)
        self.meshes = (
            specshow(axes[0], blank - 80.0, config, cmap=MAGNITUDE_CMAP, vmin=-80.0, vmax=0.0),
            specshow(axes[1], blank, config, cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0),
            specshow(axes[2], blank, config, cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0),
        )
        for ax, title in zip(axes, self.TITLES):
            ax.set_title(title)
        for ax in axes[1:]:
            ax.set_ylabel("")
        self.figure.colorbar(self.meshes[0], ax=axes[0], format="%+2.0f dB")
        signed = self.figure.colorbar(self.meshes[2], ax=list(axes[1:]), ticks=[-1, 0, 1])
        signed.ax.set_yticklabels(["\u2212max", f"<\u2212{top_db:.0f} dB", "+max"])
        self.canvas.draw()
        self.figure.set_layout_engine("none")
        self._background = None
        self._size: tuple[int, int] | None = None
        self._S: np.ndarray | None = None

    def update(self, S: np.ndarray, D: np.ndarray) -> None:
        """Show the linear magnitude ``S`` and the deconvolved spectrogram ``D`` (both ``(n_bins, n_frames)``)."""
        S = np.asarray(S, dtype=np.float32).reshape(self.config.n_bins, -1)
        D = np.asarray(D, dtype=np.float32).reshape(S.shape)
        if self._S is None or not np.array_equal(S, self._S):
            self._S = S
            self.meshes[0].set_array(_magnitude_db(S))
            self._background = None  # the original is part of the background
        self.meshes[1].set_array(signed_level(D, self.top_db))
        self.meshes[2].set_array(signed_level(S * D, self.top_db))

    def _blitted(self) -> list:
        """The artists redrawn on each update: the two feature images and, over them, their axes' frames."""
        artists = []
        for mesh in self.meshes[1:]:
            artists += [mesh, *mesh.axes.spines.values()]
        return artists

    def _capture_background(self) -> None:
        """Draw everything but the blitted artists, and keep that as the background to blit onto."""
        artists = self._blitted()
        for artist in artists:
            artist.set_animated(True)
        try:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._size = self.canvas.get_width_height()
        finally:
            for artist in artists:
                artist.set_animated(False)

    def rgba(self) -> np.ndarray:
        """The figure as an ``(height, width, 4)`` uint8 array, redrawing only the feature images and their frames."""
        if self._background is None or self._size != self.canvas.get_width_height():
            self._capture_background()
        self.canvas.restore_region(self._background)
        for artist in self._blitted():
            artist.axes.draw_artist(artist)
        return np.asarray(self.canvas.buffer_rgba()).copy()

    def png(self) -> bytes:
        """The figure as PNG bytes (fast zlib level; see :meth:`rgba`)."""
        buffer = io.BytesIO()
        matplotlib.image.imsave(buffer, self.rgba(), format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


def feature_panels(S: np.ndarray, D: np.ndarray, config: AudioConfig, *, title: str | None = None) -> Figure:
    """One feature's view as a figure: ``|X|`` in dB, ``D`` and ``|X| * D`` (see :class:`FeaturePanels`)."""
    panels = FeaturePanels(config)
    panels.update(S, D)
    if title:
        panels.figure.suptitle(title)
    return panels.figure


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
        Dynamic range (see :func:`signed_level`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    D = np.asarray(D, dtype=np.float32)
    if not len(D) == len(features) == len(activations) or len(D) == 0:
        raise ValueError(
            f"feature_grid needs as many maps as features and activations (at least one); got {len(D)} maps, "
            f"{len(features)} features and {len(activations)} activations"
        )
    columns = len(D)
    fig = Figure(figsize=(2.3 * columns + 0.8, 4.4), dpi=80, layout="constrained")
    axes = fig.subplots(2, columns, squeeze=False, sharex=True, sharey=True)
    mesh = None
    for column, (d, feature, activation) in enumerate(zip(D, features, activations)):
        top, bottom = axes[0, column], axes[1, column]
        specshow(top, signed_level(d, top_db), config, cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0)
        mesh = specshow(bottom, signed_level(S * d, top_db), config, cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0)
        top.set_title(f"feature {feature}\nactivation {activation:.3g}", fontsize=9)
        for ax in (top, bottom):
            ax.tick_params(labelsize=7)
            ax.set_xlabel("")
            if column:
                ax.set_ylabel("")
    axes[0, 0].set_ylabel("D\nHz")
    axes[1, 0].set_ylabel("|X| \u00b7 D\nHz")
    signed_colorbar(fig, mesh, axes, top_db, title)
    return fig


def _shrink(a: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Block means of ``a`` to at most ``rows x columns`` (trailing rows and columns that do not fill a block go)."""
    fr = max(1, a.shape[0] // rows)
    fc = max(1, a.shape[1] // columns)
    h, w = a.shape[0] // fr, a.shape[1] // fc
    return a[: h * fr, : w * fc].reshape(h, fr, w, fc).mean(axis=(1, 3))


def thumbnail_png(D: np.ndarray, *, rows: int = 64, columns: int = 86, top_db: float = TOP_DB) -> bytes:
    """A small PNG of a deconvolved spectrogram (signed level, low frequencies at the bottom), for buttons.

    The map is reduced by block means to at most ``rows x columns`` pixels; no figure is drawn, so a layer's 64
    thumbnails take a few milliseconds.
    """
    small = _shrink(np.asarray(D, dtype=np.float32), rows, columns)
    rgba = colormaps[SIGNED_CMAP]((signed_level(small, top_db) + 1.0) / 2.0, bytes=True)
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, rgba[::-1], format="png")
    return buffer.getvalue()
