"""BoundedStore: LRU by entry count and by approximate bytes, with exact bytes accounting."""

from __future__ import annotations

from collections.abc import Hashable

from gateway.cache import BoundedStore, CacheStats, Entry


def entry(size: int, value: object = "v") -> Entry:
    return Entry(value, stored_at=0.0, soft_deadline=10.0, hard_deadline=100.0, size=size)


def keys(store: BoundedStore, *candidates: Hashable) -> set[Hashable]:
    """Which of ``candidates`` are still stored (``get`` would also touch LRU order)."""
    return {key for key in candidates if key in store._lru}


def test_entry_count_bound_evicts_least_recently_used_and_counts_evictions() -> None:
    store = BoundedStore(max_entries=3, max_bytes=1_000_000)
    for key in ("a", "b", "c"):
        assert store.put(key, entry(10, value=key))
    assert store.get("a") is not None  # "a" becomes most recently used; "b" is now LRU

    assert store.put("d", entry(10))

    assert keys(store, "a", "b", "c", "d") == {"a", "c", "d"}
    assert len(store) == 3
    assert store.stats.evictions == 1
    assert store.bytes == 30

    store.put("e", entry(10))  # next LRU is "c"
    assert keys(store, "a", "c", "d", "e") == {"a", "d", "e"}
    assert store.stats.evictions == 2


def test_byte_bound_evicts_lru_entries_until_under_max_bytes() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("a", entry(400))
    store.put("b", entry(400))
    store.put("c", entry(100))
    assert store.bytes == 900

    # 900 + 700 = 1600: "a" (1200) and then "b" (800) must go, "c" stays.
    assert store.put("d", entry(700))

    assert keys(store, "a", "b", "c", "d") == {"c", "d"}
    assert store.bytes == 800
    assert store.bytes <= store.max_bytes
    assert store.stats.evictions == 2


def test_byte_bound_follows_recency_not_insertion_order() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("a", entry(400))
    store.put("b", entry(400))
    store.get("a")  # "b" is now the least recently used

    store.put("c", entry(300))

    assert keys(store, "a", "b", "c") == {"a", "c"}
    assert store.bytes == 700


def test_entry_larger_than_max_bytes_is_refused() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("small", entry(100))

    assert store.put("huge", entry(1_001)) is False

    assert store.get("huge") is None
    assert keys(store, "small") == {"small"}  # nothing was evicted to make room
    assert store.bytes == 100
    assert store.stats.evictions == 0


def test_entry_of_exactly_max_bytes_is_accepted_and_evicts_everything_else() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("a", entry(1))

    assert store.put("full", entry(1_000)) is True

    assert keys(store, "a", "full") == {"full"}
    assert store.bytes == 1_000


def test_bytes_accounting_after_overwrite() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("a", entry(100, value="old"))
    store.put("b", entry(50))

    store.put("a", entry(300, value="new"))

    assert store.bytes == 350
    assert len(store) == 2
    got = store.get("a")
    assert got is not None
    assert got.value == "new"
    assert store.stats.evictions == 0  # replacing a key is not an eviction


def test_overwrite_that_grows_past_max_bytes_evicts_others_not_itself() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("a", entry(400))
    store.put("b", entry(400))

    store.put("a", entry(900))

    assert keys(store, "a", "b") == {"a"}
    assert store.bytes == 900
    assert store.stats.evictions == 1


def test_bytes_accounting_after_delete() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("a", entry(100))
    store.put("b", entry(200))

    store.delete("a")
    assert store.bytes == 200
    assert store.get("a") is None

    store.delete("a")  # deleting a missing key is a no-op
    store.delete("never-stored")
    assert store.bytes == 200
    assert len(store) == 1
    assert store.stats.evictions == 0


def test_bytes_accounting_after_clear() -> None:
    store = BoundedStore(max_entries=100, max_bytes=1_000)
    store.put("a", entry(100))
    store.put("b", entry(200))

    assert store.clear() == 2

    assert store.bytes == 0
    assert len(store) == 0
    assert store.get("a") is None
    assert store.stats.evictions == 0  # an explicit purge is not an eviction

    store.put("c", entry(300))  # accounting restarts from zero
    assert store.bytes == 300


def test_bytes_accounting_after_entry_count_eviction() -> None:
    store = BoundedStore(max_entries=2, max_bytes=1_000)
    store.put("a", entry(100))
    store.put("b", entry(200))

    store.put("c", entry(300))  # evicts "a" through the entry bound

    assert keys(store, "a", "b", "c") == {"b", "c"}
    assert store.bytes == 500


def test_bytes_always_equal_sum_of_stored_sizes_after_mixed_operations() -> None:
    store = BoundedStore(max_entries=5, max_bytes=1_000)
    operations: list[tuple[str, str, int]] = [
        ("put", "a", 300),
        ("put", "b", 300),
        ("put", "c", 300),
        ("put", "a", 50),
        ("delete", "b", 0),
        ("put", "d", 600),
        ("put", "e", 10),
        ("put", "f", 10),
        ("put", "g", 10),
        ("put", "h", 10),
        ("delete", "zz", 0),
        ("put", "d", 999),
    ]
    for op, key, size in operations:
        if op == "put":
            store.put(key, entry(size))
        else:
            store.delete(key)
        stored = sum(e.size for e in store._lru.values())
        assert store.bytes == stored, (op, key, size)
        assert store.bytes <= store.max_bytes
        assert len(store) <= store.max_entries


def test_store_shares_the_stats_object_it_is_given() -> None:
    stats = CacheStats()
    store = BoundedStore(max_entries=1, max_bytes=1_000, stats=stats)

    store.put("a", entry(1))
    store.put("b", entry(1))

    assert store.stats is stats
    assert stats.evictions == 1
