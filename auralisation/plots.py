"""Deprecated: use :mod:`auralisation.plotting` (one-panel plots there return the Axes; these return its Figure)."""

from ._moved import returning_figure, warn_moved
from .plotting.grids import spectrogram_grid
from .plotting.spectrograms import spectrogram as _spectrogram
from .plotting.style import specshow
from .plotting.training import confusion_matrix as _confusion_matrix
from .plotting.training import training_curves

warn_moved(__name__, "auralisation.plotting")
spectrogram = returning_figure(_spectrogram)
confusion_matrix = returning_figure(_confusion_matrix)

__all__ = ["confusion_matrix", "specshow", "spectrogram", "spectrogram_grid", "training_curves"]
