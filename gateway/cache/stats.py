"""Cache counters, exported to ``/metrics`` and ``/admin/cache/stats``."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    stale: int = 0
    negative_hits: int = 0
    evictions: int = 0
    refreshes: int = 0
    refresh_errors: int = 0
    upstream_errors: int = 0
    coalesced: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
