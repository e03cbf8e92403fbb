"""A small least-recently-used cache: :class:`LRU`.

Examples
--------
>>> cache = LRU(2)
>>> [cache.get(key, lambda: key * 10) for key in (1, 2, 1, 3)]
[10, 20, 10, 30]
>>> 2 in cache, 1 in cache, cache.computed
(False, True, 3)
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from .errors import ParameterError

__all__ = ["LRU"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """The ``size`` most recently used values, by key, each built on first use.

    Attributes
    ----------
    size : int
    computed : int
        How many values were built (not found in the cache).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ParameterError(f"cache size must be at least 1, got {size}")
        self.size = size
        self.computed = 0
        self._entries: collections.OrderedDict[K, V] = collections.OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, build: Callable[[], V], *, valid: Callable[[V], bool] | None = None) -> V:
        """The value of ``key``, built with ``build()`` when absent or when ``valid(value)`` is false.

        ``valid`` guards keys that can be reused, such as ``id(model)`` after the model is gone. The least recently
        used entries beyond :attr:`size` are dropped.
        """
        value = self._entries.get(key)
        if key not in self._entries or (valid is not None and not valid(value)):
            value = build()
            self.computed += 1
            self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value
