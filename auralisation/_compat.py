"""Renamed keywords, names and command-line options: the old one keeps working for one release, and says so.

One helper per kind of rename (:func:`renamed` for a keyword, :func:`deprecated_names` for a module's name,
:class:`RenamedOption` for a command-line option), so that each rename is a single line where it happens.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

__all__: list[str] = []

T = TypeVar("T")


def renamed(old: str, new: str, old_value: Any, new_value: T, *, where: str, default: Any = None) -> T:
    """The value of keyword ``new``, taking it from the deprecated keyword ``old`` when only that one was given.

    Parameters
    ----------
    old, new : str
        The keyword's old and new names.
    old_value : Any
        What the caller passed as ``old`` (``None`` when it was not passed).
    new_value : Any
        What the caller passed as ``new`` (its default when it was not passed).
    where : str
        The function's name, for the warning (``"deconvolve"``).
    default : Any
        ``new``'s default: passing both ``old`` and a ``new`` other than its default is an error.

    Returns
    -------
    Any
        ``old_value`` if it was given (warning that ``old`` is deprecated), else ``new_value``.

    Raises
    ------
    ParameterError
        Both names were given, with different values.

    Example
    -------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed("seed", "seeding", "max", "map", where="deconvolve", default="map")
    'max'
    >>> print(caught[0].message)
    deconvolve(seed=...) is deprecated and will be removed in the next release; use seeding=...
    """
    if old_value is None:
        return new_value
    if new_value != default and new_value != old_value:
        from .errors import ParameterError

        raise ParameterError(f"{where}: give {new}= only ({old}= is its old, deprecated name), not both")
    warnings.warn(
        f"{where}({old}=...) is deprecated and will be removed in the next release; use {new}=...",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value


def deprecated_names(module: str, names: dict[str, str]) -> Any:
    """A module ``__getattr__`` (PEP 562) that serves renamed or moved names with a :class:`DeprecationWarning`.

    Parameters
    ----------
    module : str
        The module's ``__name__``, for the warning and the error.
    names : dict of str to str
        Old name -> where it lives now, as ``"package.module:name"``.

    Returns
    -------
    callable
        The ``__getattr__`` to assign in that module.

    Example
    -------
    >>> import warnings
    >>> getattr_ = deprecated_names("old", {"SEEDS": "auralisation.deconv.rules:SEEDINGS"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     getattr_("SEEDS")
    ('map', 'max')
    >>> print(caught[0].message)
    old.SEEDS is deprecated and will be removed in the next release; use auralisation.deconv.rules.SEEDINGS
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target, _, attribute = names[name].partition(":")
        warnings.warn(
            f"{module}.{name} is deprecated and will be removed in the next release; use {target}.{attribute}",
            DeprecationWarning,
            stacklevel=2,
        )
        import importlib

        return getattr(importlib.import_module(target), attribute)

    return __getattr__


class RenamedOption(argparse.Action):
    """An ``argparse`` action for an option's old spelling: stores into the new option's ``dest``, and says on
    stderr that the old spelling is deprecated.

    Pass ``new="--seeding"`` to ``add_argument`` with ``action=RenamedOption``; the old option is hidden from
    ``--help``.

    Example
    -------
    >>> import argparse, contextlib, io
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--seeding", choices=("map", "max"), default="map")
    >>> _ = parser.add_argument("--seed", dest="seeding", choices=("map", "max"), action=RenamedOption,
    ...                         new="--seeding", help=argparse.SUPPRESS)
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     parser.parse_args(["--seed", "max"]).seeding
    'max'
    >>> print(err.getvalue().strip())
    warning: --seed is deprecated and will be removed in the next release; use --seeding max
    """

    def __init__(self, option_strings: Sequence[str], dest: str, *, new: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(f"warning: {option_string} is deprecated and will be removed in the next release; use {self.new} "
              f"{values}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_seeding_argument(parser: argparse.ArgumentParser) -> None:
    """``--seeding map|max`` (where deconvolution starts), and its old spelling ``--seed map|max`` (deprecated)."""
    from .deconv.rules import SEEDINGS

    parser.add_argument("--seeding", choices=SEEDINGS, default="map",
                        help="start deconvolution from the whole activation map (the authors) or its maximum "
                             "(Zeiler & Fergus)")
    parser.add_argument("--seed", dest="seeding", choices=SEEDINGS, action=RenamedOption, new="--seeding",
                        help=argparse.SUPPRESS)
