"""Single panels: a spectrogram, a signed map, a thumbnail, and the explorer's three panels of one feature.

Each function draws into the ``ax`` it is given (a new figure's when none is) and returns that
:class:`~matplotlib.axes.Axes`, as :func:`librosa.display.specshow` does; :class:`FeaturePanels` is the explorer's
figure, laid out once and redrawn by blitting only its two feature images, so that a new feature is drawn in a few
tens of milliseconds. Nothing here uses pyplot or shows anything.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> config = AudioConfig()
>>> rng = np.random.default_rng(0)
>>> S, D = rng.random((257, 173)), rng.standard_normal((257, 173))
>>> signed_map(D, config, title="D").get_title()
'D'
>>> panels = FeaturePanels(config)
>>> panels.update(S, D)
>>> panels.png()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib.image
import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..audio import AudioConfig
from ..auralise import LayerMaps, export_layout
from ..errors import ParameterError
from ..fileio import atomic_write_bytes
from .style import (
    MAGNITUDE_CMAP, SIGNED_CMAP, TOP_DB, Scale, magnitude_db, new_axes, signed_colorbar, signed_level, specshow,
)

__all__ = ["FeaturePanels", "export_pictures", "feature_panels", "signed_map", "spectrogram", "thumbnail_png"]


def spectrogram(
    S: np.ndarray, config: AudioConfig, *, ax: Axes | None = None, title: str | None = None, colorbar: bool = True
) -> Axes:
    """A linear magnitude spectrogram in dB (relative to its maximum, 80 dB shown) with time and frequency axes.

    Parameters
    ----------
    S : numpy.ndarray
        Linear magnitude ``(n_bins, n_frames)`` (a trailing channel axis of 1 is accepted).
    config : AudioConfig
        Sample rate and hop length for the axes.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes instead of a new figure's.
    title : str, optional
    colorbar : bool
        Add a dB colour bar.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into (its figure is ``ax.figure``).
    """
    ax = new_axes((6, 3.5)) if ax is None else ax
    S = np.asarray(S).reshape(config.n_bins, -1)
    mesh = specshow(ax, magnitude_db(S), config, cmap=MAGNITUDE_CMAP)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, format="%+2.0f dB")
    return ax


def signed_map(
    values: np.ndarray,
    config: AudioConfig,
    *,
    ax: Axes | None = None,
    scale: Scale = "level",
    top_db: float = TOP_DB,
    title: str | None = None,
    colorbar: bool = False,
) -> Axes:
    """A signed map ``(n_bins, n_frames)`` (``D``, ``|X| * D``, an attribution) with time and frequency axes.

    Parameters
    ----------
    values : numpy.ndarray
        The map.
    config : AudioConfig
        Axes.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes instead of a new figure's.
    scale : {"level", "linear"}
        ``"level"``: sign times level in dB (:func:`~auralisation.plotting.style.signed_level`), which shows the
        quiet parts a feature lets through; ``"linear"``: the values themselves, symmetric about zero to the
        largest magnitude, which shows where most of the attribution lies.
    top_db : float
        Dynamic range of the ``"level"`` scale.
    title : str, optional
    colorbar : bool
        Add the scale's colour bar.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into; the map is ``ax.collections[-1]``.

    Raises
    ------
    ParameterError
        An unknown ``scale``.
    """
    ax = new_axes((4, 3)) if ax is None else ax
    values = np.asarray(values, dtype=np.float32).reshape(config.n_bins, -1)
    if scale == "level":
        mesh = specshow(ax, signed_level(values, top_db), config, cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0)
    elif scale == "linear":
        limit = float(np.abs(values).max()) or 1.0
        mesh = specshow(ax, values, config, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
    else:
        raise ParameterError(f"unknown scale {scale!r}; choose 'level' or 'linear'")
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar and scale == "level":
        signed_colorbar(mesh, ax, top_db=top_db)
    elif colorbar:
        ax.figure.colorbar(mesh, ax=ax)
    return ax


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
        Dynamic range of the signed panels (see :func:`~auralisation.plotting.style.signed_level`).
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
        signed_colorbar(self.meshes[2], list(axes[1:]), top_db=top_db)
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
            self.meshes[0].set_array(magnitude_db(S))
            self._background = None  # the original is part of the background
        self.meshes[1].set_array(signed_level(D, self.top_db))
        self.meshes[2].set_array(signed_level(S * D, self.top_db))

    def _blitted(self) -> list[Artist]:
        """The artists redrawn on each update: the two feature images and, over them, their axes' frames."""
        artists: list[Artist] = []
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


def export_pictures(
    out: str | os.PathLike[str],
    clip_name: str,
    X: np.ndarray,
    maps_by_layer: Mapping[str, LayerMaps],
    config: AudioConfig,
) -> list[Path]:
    """Write the picture of each feature's map beside its auralisation (:func:`auralisation.auralise.export`):
    ``<layer folder>/feature_017.png``, the :class:`FeaturePanels` of the clip's ``|X|`` in dB, ``D`` and
    ``|X| * D``. Returns the files written (atomically).

    Examples
    --------
    >>> import tempfile
    >>> from auralisation.audio import AudioConfig
    >>> config = AudioConfig()
    >>> X = np.ones((config.n_bins, config.n_frames), np.complex64)
    >>> with tempfile.TemporaryDirectory() as out:
    ...     [path.name for path in export_pictures(out, "clip", X, {"pool1": ([4], np.ones((1, *X.shape)))}, config)]
    ['feature_004.png']
    """
    _, layers = export_layout(out, clip_name, maps_by_layer, config)
    panels = FeaturePanels(config)
    S = np.abs(np.asarray(X))
    written = []
    for layer_folder, (features, D) in layers.items():
        for feature, d in zip(features, D):
            panels.update(S, d)
            written.append(atomic_write_bytes(layer_folder / f"feature_{feature:03d}.png", panels.png()))
    return written
