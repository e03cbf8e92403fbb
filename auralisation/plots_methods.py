"""Deprecated: use :mod:`auralisation.plotting` (:func:`~auralisation.plotting.signed_map` draws what
``attribution`` drew, with ``scale="linear"``, and returns the Axes)."""

import functools

from ._moved import returning_figure, warn_moved
from .plotting.comparisons import deletion_insertion, randomisation
from .plotting.grids import method_grid, randomisation_maps
from .plotting.spectrograms import signed_map

warn_moved(__name__, "auralisation.plotting")
attribution = returning_figure(functools.partial(signed_map, scale="linear"))

__all__ = ["attribution", "deletion_insertion", "method_grid", "randomisation", "randomisation_maps"]
