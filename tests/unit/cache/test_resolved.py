"""``Resolved``: a value and its freshness; a combined answer is as stale as its stalest part."""

from __future__ import annotations

from gateway.cache import CacheState, Resolved, worst


def test_worst_state_wins() -> None:
    assert worst() is CacheState.HIT
    assert worst(CacheState.HIT, CacheState.MISS) is CacheState.MISS
    assert worst(CacheState.STALE, CacheState.MISS, CacheState.HIT) is CacheState.STALE


def test_resolved_is_a_value_and_its_state() -> None:
    stale = Resolved(21, CacheState.STALE)
    assert (stale.value, stale.state) == (21, CacheState.STALE)
    assert stale == Resolved(21, CacheState.STALE) != Resolved(21, CacheState.HIT)
