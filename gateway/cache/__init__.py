"""Bounded in-process cache with single-flight, stale-while-revalidate and stale-if-error."""

from gateway.cache.keys import hashed_key, versioned_key
from gateway.cache.loader import CachedLoader, CacheResult, CacheState, Freshness
from gateway.cache.resolved import Resolved, worst
from gateway.cache.stats import CacheStats
from gateway.cache.store import BoundedStore, Entry

__all__ = [
    "BoundedStore",
    "CacheResult",
    "CacheState",
    "CacheStats",
    "CachedLoader",
    "Entry",
    "Freshness",
    "Resolved",
    "hashed_key",
    "versioned_key",
    "worst",
]
