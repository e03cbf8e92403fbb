"""Modules that moved: their old names keep working for one release, with a :class:`DeprecationWarning`.

``auralisation.widgets``, ``auralisation.report`` and the five ``auralisation.plots*`` modules are such thin
modules: each calls :func:`warn_moved` when imported and re-exports the names from their new homes
(:mod:`auralisation.ui`, :mod:`auralisation.clip`, :mod:`auralisation.features`, :mod:`auralisation.plotting`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

__all__: list[str] = []


def warn_moved(old: str, new: str) -> None:
    """Warn that module ``old`` is deprecated in favour of ``new`` (called by ``old`` when it is imported)."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}", DeprecationWarning,
                  stacklevel=3)


def returning_figure(function: Callable[..., Any]) -> Callable[..., Figure]:
    """``function`` (which now returns the Axes it drew into, as a one-panel plot does) returning its Figure, as
    it did under its old module's name.

    Example
    -------
    >>> import numpy as np
    >>> from auralisation.plotting import confusion_matrix
    >>> type(returning_figure(confusion_matrix)(np.eye(2), ["a", "b"])).__name__
    'Figure'
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        return function(*args, **kwargs).figure

    return wrapper
