"""Curves of training and evaluation: loss and accuracy per epoch, confusion matrices.

Examples
--------
>>> import numpy as np
>>> confusion_matrix(np.array([[3, 1], [0, 4]]), ["blues", "rock"]).get_title()
'Confusion matrix'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import new_axes

__all__ = ["confusion_matrix", "training_curves"]


def training_curves(history: Mapping[str, Sequence[float]]) -> Figure:
    """Loss and accuracy per epoch, training against validation, from a Keras-style history dictionary.

    A dashed line marks the epoch with the lowest validation loss (the one early stopping restores).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: loss, then accuracy.
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
    confusion: np.ndarray,
    classes: Sequence[str],
    *,
    normalize: bool = False,
    title: str = "Confusion matrix",
    ax: Axes | None = None,
) -> Axes:
    """A confusion matrix (rows: true class, columns: predicted), each cell annotated with its count or share.

    Parameters
    ----------
    confusion : numpy.ndarray
        Counts ``(n_classes, n_classes)``.
    classes : sequence of str
        Class names, in the matrix's order.
    normalize : bool
        Divide each row by its total, so that a cell reads as the share of that class's examples.
    title : str
    ax : matplotlib.axes.Axes, optional
        Draw into this axes instead of a new figure's.

    Returns
    -------
    matplotlib.axes.Axes
    """
    confusion = np.asarray(confusion, dtype=float)
    if normalize:
        confusion = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = 1.5 + 0.55 * len(classes)
    ax = new_axes((size + 1, size)) if ax is None else ax
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
    ax.figure.colorbar(image, ax=ax)
    return ax
