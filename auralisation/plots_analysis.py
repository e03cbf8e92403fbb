"""Deprecated: use :mod:`auralisation.plotting` (one-panel plots there return the Axes; these return its Figure)."""

from ._moved import returning_figure, warn_moved
from .plotting import analysis as _analysis
from .plotting.analysis import invariance_grid

warn_moved(__name__, "auralisation.plotting")
correlation_by_layer = returning_figure(_analysis.correlation_by_layer)
invariance_heatmap = returning_figure(_analysis.invariance_heatmap)
line_share_by_layer = returning_figure(_analysis.line_share_by_layer)
onset_sensitivity = returning_figure(_analysis.onset_sensitivity)

__all__ = ["correlation_by_layer", "invariance_grid", "invariance_heatmap", "line_share_by_layer", "onset_sensitivity"]
