"""In-memory cache of geocoded patient addresses: hashed keys, short TTL, single-flight.

Patient addresses are personal health data (DESIGN §6): entries live in this process only,
in a bounded ``cachetools.TTLCache`` whose expired entries are purged on every call, under
``gateway.cache.hashed_key`` keys (salted hash: the clear address is never a key). Only
geocoder answers are stored ("no match" included); failures never are. Concurrent misses
on one address share one geocoder call.

Hand-written rather than ``gateway.cache.CachedLoader``: that loader keeps expired entries
until evicted, to serve them stale when the upstream fails; personal data must not linger.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import asdict, dataclass
from typing import Generic, TypeVar

from cachetools import TTLCache

from gateway.cache import hashed_key
from gateway.cache.single_flight import SingleFlight

T = TypeVar("T")
_MISSING = object()


@dataclass(slots=True)
class AddressCacheStats:
    hits: int = 0
    misses: int = 0
    coalesced: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class AddressCache(Generic[T]):
    def __init__(
        self,
        *,
        ttl_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = AddressCacheStats()
        self._entries: TTLCache[Hashable, T] = TTLCache(maxsize=max_entries, ttl=ttl_s, timer=clock)
        self._flights: SingleFlight[T] = SingleFlight(on_join=self._joined)

    def __len__(self) -> int:
        self._entries.expire()
        return len(self._entries)

    def keys(self) -> list[Hashable]:
        return list(self._entries.keys())

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count

    def _joined(self) -> None:
        self.stats.coalesced += 1

    @staticmethod
    def key(*parts: str) -> Hashable:
        """Salted hash of the normalised parts (case and spacing do not matter)."""
        return hashed_key("geocode", *(" ".join(p.casefold().split()) for p in parts))

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        self._entries.expire()
        cached = self._entries.get(key, _MISSING)
        if cached is not _MISSING:
            self.stats.hits += 1
            return cached  # type: ignore[return-value]
        self.stats.misses += 1

        async def produce() -> T:
            value = await fetch()
            self._entries[key] = value
            return value

        return await self._flights.run(key, produce)
