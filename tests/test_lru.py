"""The least-recently-used cache shared by the deconvolver, attribution and explorer caches."""

from __future__ import annotations

import pytest

from auralisation.errors import ParameterError
from auralisation.lru import LRU


def test_lru_builds_once_drops_the_least_recent_and_rebuilds_invalid_entries() -> None:
    cache: LRU[str, list[str]] = LRU(2)
    built: list[str] = []

    def build(key: str) -> list[str]:
        built.append(key)
        return [key]

    a = cache.get("a", lambda: build("a"))
    assert cache.get("a", lambda: build("a")) is a
    cache.get("b", lambda: build("b"))
    cache.get("a", lambda: build("a"))  # "a" is now the most recent, "b" the least
    cache.get("c", lambda: build("c"))
    assert "b" not in cache and "a" in cache and len(cache) == 2
    assert cache.get("a", lambda: build("a"), valid=lambda value: value is not a) is not a
    assert built == ["a", "b", "c", "a"] and cache.computed == 4
    with pytest.raises(ParameterError, match="at least 1"):
        LRU(0)
