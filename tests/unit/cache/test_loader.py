"""CachedLoader: single-flight, soft/hard TTL, stale-while-revalidate, stale-if-error, negatives.

Time is a fake clock injected into the loader; nothing here sleeps for real.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from gateway.cache import BoundedStore, CachedLoader, CacheState, Freshness, versioned_key
from gateway.errors import (
    UnknownCode,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamUnavailable,
)

SOFT, HARD, NEGATIVE, STALE_IF_ERROR = 10.0, 100.0, 5.0, 1_000.0
FRESH = Freshness(
    soft_ttl_s=SOFT, hard_ttl_s=HARD, negative_ttl_s=NEGATIVE, stale_if_error_s=STALE_IF_ERROR
)
KEY = ("CodeSystem", "https://example.org/cs", "")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Fetch:
    """A counting fetch function; each call takes the next outcome (the last one repeats).

    An outcome that is an exception instance is raised. If ``gate`` is set, every call waits
    for it before answering, so tests control when the upstream "responds".
    """

    def __init__(self, *outcomes: Any, gate: asyncio.Event | None = None) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.gate = gate

    async def __call__(self) -> Any:
        index = min(self.calls, len(self.outcomes) - 1)
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.outcomes[index]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def down() -> UpstreamUnavailable:
    return UpstreamUnavailable("smt is down", upstream="smt")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def loader(clock: FakeClock) -> CachedLoader:
    return CachedLoader(BoundedStore(max_entries=100, max_bytes=1_000_000), clock=clock)


async def release_when(condition: Callable[[], bool], gate: asyncio.Event) -> None:
    """Open ``gate`` once ``condition`` holds (bounded: opens anyway after many turns)."""
    for _ in range(10_000):
        if condition():
            break
        await asyncio.sleep(0)
    gate.set()


# --- single-flight -------------------------------------------------------------------------


async def test_200_concurrent_cold_gets_call_fetch_once(loader: CachedLoader) -> None:
    gate = asyncio.Event()
    fetch = Fetch("value", gate=gate)

    releaser = asyncio.create_task(release_when(lambda: loader.stats.coalesced >= 199, gate))
    results = await asyncio.gather(*(loader.get(KEY, fetch, FRESH) for _ in range(200)))
    await releaser

    assert fetch.calls == 1
    assert len(results) == 200
    assert all(r.value == "value" for r in results)
    assert all(r.state is CacheState.MISS for r in results)
    assert loader.stats.misses == 200
    assert loader.stats.coalesced == 199
    assert len(loader.store) == 1


async def test_failed_leader_propagates_error_to_all_followers_and_stores_nothing(
    loader: CachedLoader,
) -> None:
    gate = asyncio.Event()
    fetch = Fetch(down(), gate=gate)

    *results, _ = await asyncio.gather(
        *(loader.get(KEY, fetch, FRESH) for _ in range(50)),
        release_when(lambda: loader.stats.coalesced >= 49, gate),
        return_exceptions=True,
    )

    assert fetch.calls == 1
    assert len(results) == 50
    assert all(isinstance(r, UpstreamUnavailable) for r in results)
    assert len(loader.store) == 0
    assert loader.store.get(KEY) is None
    assert not len(loader._flights)  # the failed flight is not left behind

    fetch.outcomes = ["recovered"]
    fetch.gate = None
    result = await loader.get(KEY, fetch, FRESH)
    assert (result.value, result.state) == ("recovered", CacheState.MISS)
    assert fetch.calls == 2


async def test_cancelled_leader_does_not_cancel_followers(loader: CachedLoader) -> None:
    gate = asyncio.Event()
    fetch = Fetch("value", gate=gate)

    leader = asyncio.create_task(loader.get(KEY, fetch, FRESH))
    await asyncio.sleep(0)  # the leader is now waiting on the upstream
    follower = asyncio.create_task(loader.get(KEY, fetch, FRESH))
    await asyncio.sleep(0)  # the follower joined the leader's flight
    assert loader.stats.coalesced == 1

    leader.cancel()
    gate.set()
    result = await follower

    assert leader.cancelled()
    assert (result.value, result.state) == ("value", CacheState.MISS)
    assert fetch.calls == 2  # the follower fetched on its own behalf
    assert loader.store.get(KEY) is not None


# --- soft / hard TTL -----------------------------------------------------------------------


async def test_hit_within_soft_ttl_does_not_fetch(loader: CachedLoader, clock: FakeClock) -> None:
    fetch = Fetch("v1", "v2")
    first = await loader.get(KEY, fetch, FRESH)
    assert (first.value, first.state) == ("v1", CacheState.MISS)

    clock.advance(SOFT - 1)
    second = await loader.get(KEY, fetch, FRESH)

    assert (second.value, second.state) == ("v1", CacheState.HIT)
    assert second.age_s == pytest.approx(SOFT - 1)
    assert fetch.calls == 1
    assert loader.stats.hits == 1
    assert loader.stats.refreshes == 0


async def test_after_soft_ttl_serves_stale_at_once_and_refreshes_once_in_background(
    loader: CachedLoader, clock: FakeClock
) -> None:
    fetch = Fetch("v1")
    await loader.get(KEY, fetch, FRESH)
    clock.advance(SOFT + 1)

    gate = asyncio.Event()  # the refresh hangs until the test releases it
    fetch.outcomes, fetch.gate = ["v2"], gate
    stale = [await loader.get(KEY, fetch, FRESH) for _ in range(5)]
    stale += await asyncio.gather(*(loader.get(KEY, fetch, FRESH) for _ in range(5)))

    # Served immediately, although the refresh has not completed.
    assert all((r.value, r.state) == ("v1", CacheState.STALE) for r in stale)
    assert stale[0].age_s == pytest.approx(SOFT + 1)
    assert not gate.is_set()

    gate.set()
    await loader.drain()

    assert fetch.calls == 2  # the initial fetch and exactly one background refresh
    assert loader.stats.refreshes == 1
    assert loader.stats.stale == 10
    after = await loader.get(KEY, fetch, FRESH)
    assert (after.value, after.state) == ("v2", CacheState.HIT)
    assert fetch.calls == 2


async def test_stale_refresh_that_completes_at_once_still_runs_only_once(
    loader: CachedLoader, clock: FakeClock
) -> None:
    # A fetch answering without suspending (e.g. from another cache layer) must not let a
    # second stale read schedule a second refresh.
    fetch = Fetch("v1", "v2", "v3")
    await loader.get(KEY, fetch, FRESH)
    clock.advance(SOFT + 1)

    first = await loader.get(KEY, fetch, FRESH)
    second = await loader.get(KEY, fetch, FRESH)
    await loader.drain()

    assert first.state is CacheState.STALE
    assert second.state is CacheState.STALE
    assert fetch.calls == 2
    assert loader.stats.refreshes == 1
    assert (await loader.get(KEY, fetch, FRESH)).value == "v2"


async def test_failed_background_refresh_keeps_serving_the_stale_entry(
    loader: CachedLoader, clock: FakeClock
) -> None:
    fetch = Fetch("v1", down())
    await loader.get(KEY, fetch, FRESH)
    clock.advance(SOFT + 1)

    assert (await loader.get(KEY, fetch, FRESH)).state is CacheState.STALE
    await loader.drain()

    assert fetch.calls == 2
    assert loader.stats.refresh_errors == 1
    again = await loader.get(KEY, fetch, FRESH)
    assert (again.value, again.state) == ("v1", CacheState.STALE)
    await loader.drain()
    assert fetch.calls == 2  # a down upstream is not retried on every read…

    clock.advance(FRESH.retry_after_error_s + 1)
    await loader.get(KEY, fetch, FRESH)
    await loader.drain()
    assert fetch.calls == 3  # …but again once the retry delay has passed


async def test_refresh_answering_not_found_keeps_the_good_entry(
    loader: CachedLoader, clock: FakeClock
) -> None:
    fetch = Fetch("v1", UnknownCode("gone"))
    await loader.get(KEY, fetch, FRESH)
    clock.advance(SOFT + 1)
    await loader.get(KEY, fetch, FRESH)
    await loader.drain()

    kept = await loader.get(KEY, fetch, FRESH)
    assert (kept.value, kept.state) == ("v1", CacheState.STALE)
    assert loader.stats.refresh_errors == 1


async def test_after_hard_ttl_get_refetches_synchronously(
    loader: CachedLoader, clock: FakeClock
) -> None:
    fetch = Fetch("v1", "v2")
    await loader.get(KEY, fetch, FRESH)
    clock.advance(HARD + 1)

    result = await loader.get(KEY, fetch, FRESH)

    assert (result.value, result.state) == ("v2", CacheState.MISS)
    assert fetch.calls == 2
    assert loader.stats.refreshes == 0  # not a background refresh
    assert not loader._background
    assert (await loader.get(KEY, fetch, FRESH)).state is CacheState.HIT


# --- stale-if-error and fallback -----------------------------------------------------------


async def test_stale_if_error_serves_old_value_when_upstream_is_down_past_hard_ttl(
    loader: CachedLoader, clock: FakeClock
) -> None:
    fetch = Fetch("v1", down())
    await loader.get(KEY, fetch, FRESH)
    clock.advance(HARD + STALE_IF_ERROR / 2)

    result = await loader.get(KEY, fetch, FRESH)

    assert (result.value, result.state) == ("v1", CacheState.STALE)
    assert result.age_s == pytest.approx(HARD + STALE_IF_ERROR / 2)
    assert fetch.calls == 2
    assert loader.stats.upstream_errors == 1


async def test_past_stale_if_error_window_the_upstream_error_propagates(
    loader: CachedLoader, clock: FakeClock
) -> None:
    fetch = Fetch("v1", down())
    await loader.get(KEY, fetch, FRESH)
    clock.advance(HARD + STALE_IF_ERROR + 1)

    with pytest.raises(UpstreamUnavailable):
        await loader.get(KEY, fetch, FRESH)
    assert fetch.calls == 2


async def test_fallback_is_used_when_there_is_no_entry_and_fetch_fails(
    loader: CachedLoader,
) -> None:
    fallback_calls: list[str] = []

    def fallback() -> str:
        fallback_calls.append("called")
        return "snapshot"

    result = await loader.get(KEY, Fetch(down()), FRESH, fallback=fallback)

    assert (result.value, result.state) == ("snapshot", CacheState.STALE)
    assert fallback_calls == ["called"]
    assert len(loader.store) == 0  # the fallback value is not cached as an upstream answer


async def test_fallback_is_not_used_when_fetch_succeeds(loader: CachedLoader) -> None:
    def fallback() -> str:
        raise AssertionError("fallback must not be called")

    result = await loader.get(KEY, Fetch("upstream"), FRESH, fallback=fallback)

    assert (result.value, result.state) == ("upstream", CacheState.MISS)


async def test_fallback_returning_none_lets_the_error_propagate(loader: CachedLoader) -> None:
    with pytest.raises(UpstreamUnavailable):
        await loader.get(KEY, Fetch(down()), FRESH, fallback=lambda: None)


# --- what is (not) remembered --------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(down(), id="UpstreamUnavailable"),
        pytest.param(UpstreamBadResponse("html", upstream="smt"), id="UpstreamBadResponse"),
        pytest.param(UpstreamError("timed out", upstream="smt"), id="UpstreamError"),
        pytest.param(TimeoutError(), id="TimeoutError"),
    ],
)
async def test_upstream_failures_are_not_remembered(
    loader: CachedLoader, error: BaseException
) -> None:
    fetch = Fetch(error)

    for expected_calls in (1, 2, 3):
        with pytest.raises(type(error)):
            await loader.get(KEY, fetch, FRESH)
        assert fetch.calls == expected_calls

    assert len(loader.store) == 0
    assert loader.stats.negative_hits == 0


async def test_unknown_code_is_cached_for_negative_ttl_then_refetched(
    loader: CachedLoader, clock: FakeClock
) -> None:
    fetch = Fetch(UnknownCode("XYZ is not in TRE_R38", details={"code": "XYZ"}), "now known")

    with pytest.raises(UnknownCode):
        await loader.get(KEY, fetch, FRESH)
    assert fetch.calls == 1

    clock.advance(NEGATIVE - 1)
    with pytest.raises(UnknownCode) as remembered:
        await loader.get(KEY, fetch, FRESH)
    assert fetch.calls == 1  # answered from the negative entry
    assert loader.stats.negative_hits == 1
    assert remembered.value.details == {"code": "XYZ"}
    assert remembered.value.message == "XYZ is not in TRE_R38"

    clock.advance(2)  # past negative_ttl_s
    result = await loader.get(KEY, fetch, FRESH)
    assert (result.value, result.state) == ("now known", CacheState.MISS)
    assert fetch.calls == 2


async def test_negative_hits_do_not_accumulate_tracebacks(loader: CachedLoader) -> None:
    fetch = Fetch(UnknownCode("unknown"))
    raised: list[UnknownCode] = []
    for _ in range(30):
        with pytest.raises(UnknownCode) as info:
            await loader.get(KEY, fetch, FRESH)
        raised.append(info.value)

    depths = [len(traceback.extract_tb(exc.__traceback__)) for exc in raised]
    assert fetch.calls == 1
    assert depths[-1] == depths[1]  # the 30th hit carries no more frames than the 2nd
    assert len({id(exc) for exc in raised}) == 30  # callers never share one instance


# --- keys, seed, invalidate, size ----------------------------------------------------------

URL = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"


async def test_two_versions_of_one_code_system_are_two_entries(loader: CachedLoader) -> None:
    v1, v2 = versioned_key("CodeSystem", URL, "1"), versioned_key("CodeSystem", URL, "2")
    assert v1 != v2
    fetch_v1, fetch_v2 = Fetch("content v1"), Fetch("content v2")

    await loader.get(v1, fetch_v1, FRESH)
    await loader.get(v2, fetch_v2, FRESH)

    assert len(loader.store) == 2
    hit_v1, hit_v2 = await loader.get(v1, fetch_v1, FRESH), await loader.get(v2, fetch_v2, FRESH)
    assert (hit_v1.value, hit_v1.state) == ("content v1", CacheState.HIT)
    assert (hit_v2.value, hit_v2.state) == ("content v2", CacheState.HIT)
    assert (fetch_v1.calls, fetch_v2.calls) == (1, 1)


async def test_seeded_entry_older_than_soft_ttl_is_served_stale_and_refreshed(
    loader: CachedLoader,
) -> None:
    loader.seed(KEY, "snapshot", FRESH, age_s=SOFT)
    fetch = Fetch("upstream")

    result = await loader.get(KEY, fetch, FRESH)
    await loader.drain()

    assert (result.value, result.state) == ("snapshot", CacheState.STALE)
    assert fetch.calls == 1
    assert (await loader.get(KEY, fetch, FRESH)).value == "upstream"


async def test_invalidate_forces_a_refetch(loader: CachedLoader) -> None:
    fetch = Fetch("v1", "v2")
    await loader.get(KEY, fetch, FRESH)

    loader.invalidate(KEY)
    result = await loader.get(KEY, fetch, FRESH)

    assert (result.value, result.state) == ("v2", CacheState.MISS)
    assert fetch.calls == 2


async def test_value_too_large_for_the_store_is_returned_but_not_cached(clock: FakeClock) -> None:
    loader = CachedLoader(
        BoundedStore(max_entries=10, max_bytes=100), clock=clock, sizeof=lambda _: 101
    )
    fetch = Fetch("big")

    first = await loader.get(KEY, fetch, FRESH)
    second = await loader.get(KEY, fetch, FRESH)

    assert (first.value, first.state) == ("big", CacheState.MISS)
    assert second.state is CacheState.MISS
    assert fetch.calls == 2
    assert len(loader.store) == 0
