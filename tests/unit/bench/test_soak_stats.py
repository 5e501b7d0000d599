"""``bench.soak``'s summary of ``/admin/cache/stats``, whose caches report different columns."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench._stubs import MAX_BYTES, MAX_ENTRIES, bounds_check, stats_table
from gateway.cache.stats import CacheStats
from gateway.geo.address_cache import AddressCacheStats
from gateway.geo.service import GeoStats


def _stats() -> dict[str, dict[str, Any]]:
    """The shape gateway/web/ops.py answers: loader caches, then the geocode component's."""
    loader = CacheStats(hits=671, misses=3, stale=7).as_dict()
    geocode = (
        AddressCacheStats(hits=8, misses=250).as_dict() | GeoStats(geocoder_calls=250).as_dict()
    )
    return {
        "terminology": loader | {"entries": 15, "bytes": 108_627},
        "geocode": geocode | {"entries": 250},
        "directory": CacheStats(hits=105).as_dict() | {"entries": 99, "bytes": 83_712},
    }


def test_every_column_of_every_cache_is_shown_and_absent_ones_are_dashes() -> None:
    header, terminology, geocode, directory = (line.split() for line in stats_table(_stats()))
    assert header[:4] == ["cache", "hits", "misses", "stale"]  # first cache's order first
    assert {"geocoder_calls", "fallbacks", "entries", "bytes"} <= set(header)
    row = dict(zip(header, geocode, strict=True))
    assert (row["cache"], row["hits"], row["entries"]) == ("geocode", "8", "250")
    assert (row["stale"], row["bytes"]) == ("-", "-")
    assert dict(zip(header, terminology, strict=True))["geocoder_calls"] == "-"
    assert dict(zip(header, directory, strict=True))["bytes"] == "83712"


def test_the_table_lines_are_aligned() -> None:
    lines = stats_table(_stats())
    assert len({len(line) for line in lines}) == 1


def test_bounds_check_only_the_caches_reporting_a_figure() -> None:
    stats = _stats()
    peak = Counter({"terminology": 15, "geocode": 250, "directory": 99})
    ok, text = bounds_check(peak, stats)
    assert ok
    assert "geocode 250" in text
    assert "bytes (terminology, directory)" in text
    assert not bounds_check(peak | Counter({"geocode": MAX_ENTRIES + 1}), stats)[0]
    stats["directory"]["bytes"] = MAX_BYTES + 1
    assert not bounds_check(peak, stats)[0]


def test_no_cache_at_all_is_reported_not_a_crash() -> None:
    assert stats_table({}) == ["  cache"]
    ok, text = bounds_check(Counter(), {})
    assert ok
    assert "none reported" in text
