"""The one style of every figure: colour maps, the scales of magnitudes and signed maps, colour bars, saving.

A deconvolved spectrogram ``D`` (or any attribution map) is signed and its values span many decades, so a map is
shown as a *signed level* (:func:`signed_level`): the sign of the value times its level in dB, mapped to [-1, 1],
red where the feature adds energy with the clip's phase, blue where it adds it with the phase flipped, white where
it is more than ``top_db`` below the panel's reference.

Examples
--------
>>> import numpy as np
>>> float(signed_level(np.array([-2.0, 0.002, 2.0]), top_db=60.0)[0])
-1.0
"""

from __future__ import annotations

import os
from typing import Literal

import librosa
import librosa.display
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure

from ..audio import AudioConfig
from ..fileio import atomic_path

#: What users call; the colour maps and the drawing helpers (``specshow``, ``new_axes``, ``magnitude_db``) are the
#: plotting package's own.
__all__ = ["PERCENTILE", "TOP_DB", "save_figure", "signed_colorbar", "signed_level"]

#: Colour map of signed maps (blue negative, white zero, red positive).
SIGNED_CMAP = "RdBu_r"

#: Colour map of a magnitude in dB.
MAGNITUDE_CMAP = "magma"

#: Dynamic range of a signed map, in dB below its reference.
TOP_DB = 60.0

#: The percentile of a signed map's nonzero magnitudes that is its reference (full colour): see :func:`signed_level`.
PERCENTILE = 99.0

#: How a signed map's values become colours: ``"level"`` (:func:`signed_level`) or ``"linear"`` (symmetric, to the
#: largest magnitude).
Scale = Literal["level", "linear"]


def signed_level(a: np.ndarray, top_db: float = TOP_DB, *, percentile: float = PERCENTILE) -> np.ndarray:
    """``sign(a)`` times the level of ``|a|`` in dB within ``top_db`` of a reference, mapped to [-1, 1].

    The reference (``1``) is the ``percentile``-th percentile of the nonzero magnitudes of ``a``, not their
    maximum; larger values are held at ``1``, and ``0`` is ``top_db`` dB below the reference (or less, or zero).
    Why not the maximum: ``|X| * D`` on recorded music inherits the clip's range (a kick or a bass note tens of dB
    above most bins) on top of the map's own, so a window below its largest value leaves almost the whole panel at
    the floor, white, and hides what the feature lets through. The 99th percentile lets the loudest 1 % of the
    panel saturate (a few bins, which read as red or blue either way) and spends the window on the rest; a map
    whose energy is spread out keeps its look, since its 99th percentile is near its peak. The window stays 60 dB:
    what lies further below the panel's loud part is at the edge of audibility in the auralisation, so white reads
    as "not heard". ``percentile=100`` gives the window below the peak. An all-zero array maps to zeros.

    Parameters
    ----------
    a : numpy.ndarray
        Any real array (a deconvolved spectrogram, ``|X| * D``, an attribution map).
    top_db : float
        Dynamic range in dB.
    percentile : float
        Which percentile of the nonzero ``|a|`` is the reference, in (0, 100].

    Returns
    -------
    numpy.ndarray
        float32 array of ``a``'s shape, in [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> print(signed_level(np.array([-1.0, 0.01, 0.0, 1e-4]), top_db=60.0, percentile=100.0).round(3))
    [-1.     0.333  0.     0.   ]
    """
    a = np.asarray(a, dtype=np.float32)
    magnitude = np.abs(a)
    nonzero = magnitude[magnitude > 0]
    if nonzero.size == 0:
        return np.zeros_like(a)
    reference = float(np.percentile(nonzero, percentile))
    floor = 10.0 ** (-top_db / 20.0)
    ratio = np.clip(magnitude / reference, floor, 1.0)
    level = np.clip(1.0 + 20.0 * np.log10(ratio) / top_db, 0.0, 1.0)
    return (np.sign(a) * level).astype(np.float32)


def magnitude_db(S: np.ndarray, top_db: float = 80.0) -> np.ndarray:
    """A linear magnitude in dB relative to its maximum, floored ``top_db`` below it
    (:func:`librosa.amplitude_to_db`)."""
    return librosa.amplitude_to_db(np.asarray(S, dtype=np.float32), ref=np.max, top_db=top_db)


def new_axes(figsize: tuple[float, float]) -> Axes:
    """The axes of a new one-panel figure, built without pyplot (no global state, nothing shown)."""
    return Figure(figsize=figsize, layout="constrained").subplots()


def specshow(
    ax: Axes,
    values: np.ndarray,
    config: AudioConfig,
    *,
    cmap: str,
    vmin: float | None = None,
    vmax: float | None = None,
) -> QuadMesh:
    """librosa's spectrogram display of ``values`` ``(n_bins, n_frames)`` into ``ax``, with the config's time and
    frequency axes; ``vmin``/``vmax`` fix the colour range (left to matplotlib when not given)."""
    limits = {key: value for key, value in (("vmin", vmin), ("vmax", vmax)) if value is not None}
    return librosa.display.specshow(
        values, sr=config.sr, hop_length=config.hop_length, n_fft=config.n_fft, x_axis="time", y_axis="linear",
        ax=ax, cmap=cmap, **limits,
    )


def signed_colorbar(mesh: QuadMesh, axes: Axes | list[Axes] | np.ndarray, *, top_db: float = TOP_DB,
                    percentile: float = PERCENTILE, **options: object) -> Colorbar:
    """The colour bar of signed levels (``mesh``, drawn by :func:`signed_level`), beside ``axes``: at the top the
    reference (``>= +p99`` for the 99th percentile), ``< -60 dB`` (white) in the middle, ``<= -p99`` at the bottom.

    ``options`` go to :meth:`matplotlib.figure.Figure.colorbar` (``shrink``, ...).
    """
    axes = list(np.ravel(axes)) if isinstance(axes, (list, np.ndarray)) else axes
    colorbar = mesh.axes.figure.colorbar(mesh, ax=axes, ticks=[-1, 0, 1], **options)
    reference = "max" if percentile >= 100 else f"p{percentile:g}"
    colorbar.ax.set_yticklabels([f"\u2264\u2212{reference}", f"<\u2212{top_db:.0f} dB", f"\u2265+{reference}"])
    return colorbar


def save_figure(fig: Figure, path: str | os.PathLike[str], *, format: str = "png") -> None:
    """Save ``fig`` atomically (:func:`auralisation.fileio.atomic_path`): a reader never sees half a file."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=format)
