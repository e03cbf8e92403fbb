"""Figures: spectrograms, training curves, confusion matrices.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global figure state, nothing
shown): a notebook displays it by leaving it as a cell's last value, a script saves it with ``fig.savefig``.

Examples
--------
>>> import numpy as np
>>> fig = confusion_matrix(np.array([[3, 1], [0, 4]]), ["blues", "rock"])
>>> fig.axes[0].get_title()
'Confusion matrix'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import librosa
import librosa.display
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from .audio import AudioConfig

__all__ = ["confusion_matrix", "spectrogram", "spectrogram_grid", "training_curves"]


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
        values,
        sr=config.sr,
        hop_length=config.hop_length,
        n_fft=config.n_fft,
        x_axis="time",
        y_axis="linear",
        ax=ax,
        cmap=cmap,
        **limits,
    )


def spectrogram(
    S: np.ndarray,
    config: AudioConfig,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    colorbar: bool = True,
) -> Figure:
    """Show a linear magnitude spectrogram in dB (relative to its maximum) with time and frequency axes.

    Parameters
    ----------
    S : numpy.ndarray
        Linear magnitude ``(n_bins, n_frames)`` (a trailing channel axis of 1 is accepted).
    config : AudioConfig
        Sample rate and hop length for the axes.
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (of an existing figure) instead of a new figure.
    colorbar : bool
        Add a dB colour bar.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.
    """
    if ax is None:
        ax = Figure(figsize=(6, 3.5), layout="constrained").subplots()
    S = np.asarray(S).reshape(config.n_bins, -1)
    image = specshow(ax, librosa.amplitude_to_db(S, ref=np.max, top_db=80.0), config, cmap="magma")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, format="%+2.0f dB")
    return ax.figure


def spectrogram_grid(
    spectrograms: Sequence[np.ndarray], titles: Sequence[str], config: AudioConfig, *, columns: int = 4
) -> Figure:
    """Several spectrograms (as :func:`spectrogram`, without colour bars) in a grid, one title each."""
    if len(spectrograms) != len(titles):
        raise ValueError(f"{len(spectrograms)} spectrograms but {len(titles)} titles")
    columns = max(1, min(columns, len(spectrograms)))
    rows = -(-len(spectrograms) // columns)
    fig = Figure(figsize=(3.2 * columns, 2.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    for ax, S, title in zip(axes, spectrograms, titles):
        spectrogram(S, config, title=title, ax=ax, colorbar=False)
    for ax in axes[len(spectrograms):]:
        ax.set_axis_off()
    return fig


def training_curves(history: Mapping[str, Sequence[float]]) -> Figure:
    """Loss and accuracy per epoch, training against validation, from a Keras-style history dictionary.

    A dashed line marks the epoch with the lowest validation loss (the one early stopping restores).
    """
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    best = int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else None
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy")):
        for prefix, name in (("", "training"), ("val_", "validation")):
            values = history.get(prefix + metric)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=name)
        if best is not None:
            ax.axvline(best, color="grey", linestyle="--", linewidth=1, label=f"best (epoch {best})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric.capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def confusion_matrix(
    confusion: np.ndarray, classes: Sequence[str], *, normalize: bool = False, title: str = "Confusion matrix"
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted), each cell annotated with its count or share.

    With ``normalize`` each row is divided by its total, so a cell reads as the share of that class's examples.
    """
    confusion = np.asarray(confusion, dtype=float)
    if normalize:
        confusion = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = 1.5 + 0.55 * len(classes)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(confusion, cmap="Blues", vmin=0)
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = confusion.max() / 2 if confusion.size else 0
    for (row, column), value in np.ndenumerate(confusion):
        text = f"{value:.2f}" if normalize else f"{value:.0f}"
        ax.text(column, row, text, ha="center", va="center", color="white" if value > threshold else "black")
    fig.colorbar(image, ax=ax)
    return fig
