"""Deprecated: use :mod:`auralisation.plotting`."""

from ._moved import warn_moved
from .plotting.comparisons import compare_routes
from .plotting.grids import compare_maps

warn_moved(__name__, "auralisation.plotting")

__all__ = ["compare_maps", "compare_routes"]
