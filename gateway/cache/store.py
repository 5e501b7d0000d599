"""Bounded LRU storage of cache entries, by entry count *and* approximate bytes.

Built on ``cachetools.LRUCache`` (entry bound and LRU order); the byte bound is enforced
on top because cachetools measures a single size per cache.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from gateway.cache.stats import CacheStats


@dataclass(frozen=True, slots=True)
class Entry:
    value: Any
    stored_at: float
    soft_deadline: float
    hard_deadline: float
    size: int
    #: A semantic negative ("unknown code"): ``value`` is the exception to re-raise.
    negative: bool = False


class _CountingLRU(LRUCache[Hashable, Entry]):
    def __init__(self, maxsize: int, stats: CacheStats, owner: BoundedStore) -> None:
        super().__init__(maxsize=maxsize)
        self._stats = stats
        self._owner = owner

    def popitem(self) -> tuple[Hashable, Entry]:
        key, entry = super().popitem()
        self._stats.evictions += 1
        self._owner._bytes -= entry.size
        return key, entry


class BoundedStore:
    def __init__(self, max_entries: int, max_bytes: int, stats: CacheStats | None = None) -> None:
        self.stats = stats or CacheStats()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._bytes = 0
        self._lru = _CountingLRU(max_entries, self.stats, self)

    def get(self, key: Hashable) -> Entry | None:
        return self._lru.get(key)

    def put(self, key: Hashable, entry: Entry) -> bool:
        """Store ``entry``; returns False (and stores nothing) if it alone exceeds the bound."""
        if entry.size > self.max_bytes:
            return False
        self.delete(key)
        self._lru[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes and len(self._lru) > 1:
            self._lru.popitem()
        return True

    def delete(self, key: Hashable) -> None:
        old = self._lru.pop(key, None)
        if old is not None:
            self._bytes -= old.size

    def clear(self) -> int:
        count = len(self._lru)
        self._lru.clear()
        self._bytes = 0
        return count

    def __iter__(self) -> Iterator[Hashable]:
        """The keys (a copy: the store may change while the caller iterates)."""
        return iter(list(self._lru.keys()))

    def __len__(self) -> int:
        return len(self._lru)

    @property
    def bytes(self) -> int:
        return self._bytes
