"""``Resolved[T]``: what every cache-backed service answers, a value and how fresh it is.

The terminology (and whoever builds on it) returns ``Resolved`` from every operation, so a
caller always finds the value in ``.value`` and the cache state (``X-Cache``, ``Warning``
headers) in ``.state``, instead of tuples of varying shapes. An answer combining several
resources is as fresh as its stalest part (``worst``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.cache.loader import CacheState

T = TypeVar("T")

_STATE_RANK = {CacheState.HIT: 0, CacheState.MISS: 1, CacheState.STALE: 2}


def worst(*states: CacheState) -> CacheState:
    """STALE over MISS over HIT; HIT for nothing at all."""
    return max(states, key=_STATE_RANK.__getitem__, default=CacheState.HIT)


@dataclass(frozen=True, slots=True)
class Resolved(Generic[T]):
    value: T
    state: CacheState
