"""Deprecated: use :mod:`auralisation.plotting`."""

from ._moved import warn_moved
from .plotting.grids import feature_grid
from .plotting.spectrograms import FeaturePanels, feature_panels, thumbnail_png
from .plotting.style import MAGNITUDE_CMAP, SIGNED_CMAP, TOP_DB, signed_level

warn_moved(__name__, "auralisation.plotting")

__all__ = ["MAGNITUDE_CMAP", "SIGNED_CMAP", "TOP_DB", "FeaturePanels", "feature_grid", "feature_panels",
           "signed_level", "thumbnail_png"]
