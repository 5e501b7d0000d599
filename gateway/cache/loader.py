"""Read-through loader: single-flight, stale-while-revalidate, stale-if-error, negatives.

``CachedLoader.get(key, fetch, freshness)`` returns a ``CacheResult`` whose ``state`` tells
the caller whether the value is fresh (HIT / MISS) or STALE (served past its soft TTL while
a background refresh runs, or served because the upstream failed). Rules (DESIGN §5):

* per-key single-flight: N concurrent misses on one key → one ``fetch`` call (if the
  leading caller is cancelled, a follower fetches in its place instead of being cancelled);
* soft TTL: serve the entry and refresh it in the background (one refresh at a time; after
  a failed refresh the next waits ``retry_after_error_s``, and a refresh answering "not
  found" keeps the entry: NOS codes are never deleted);
* hard TTL: the entry must be refetched before being served;
* stale-if-error: a failed fetch (``UpstreamError``) serves the last good entry, however old
  within ``stale_if_error_s``, or the caller's ``fallback`` (e.g. the bundled snapshot);
* only semantic negatives (``NotFound``) are remembered, for ``negative_ttl_s``; transport
  errors, timeouts and 5xx are never stored.

Hand-written on top of ``cachetools``: no maintained library combines asyncio
single-flight with soft/hard TTLs and stale-if-error (``aiocache`` and ``cachetools``'
decorators only offer plain TTL memoisation).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from gateway.cache.single_flight import SingleFlight
from gateway.cache.store import BoundedStore, Entry
from gateway.errors import NotFound, UpstreamError
from gateway.settings import CacheSettings, DirectoryCacheSettings

T = TypeVar("T")
log = logging.getLogger("gateway.cache")


class CacheState(StrEnum):
    HIT = "HIT"
    MISS = "MISS"
    STALE = "STALE"


@dataclass(frozen=True, slots=True)
class Freshness:
    soft_ttl_s: float
    hard_ttl_s: float
    negative_ttl_s: float
    stale_if_error_s: float
    #: After a failed background refresh, serve the stale entry this long before retrying.
    retry_after_error_s: float = 30.0

    @classmethod
    def of(cls, cache: CacheSettings, soft_ttl_s: float, hard_ttl_s: float) -> Freshness:
        """Soft/hard TTLs of one kind of data; negatives and stale-if-error are global."""
        return cls(soft_ttl_s, hard_ttl_s, cache.negative_ttl_s, cache.stale_if_error_s)

    @classmethod
    def terminology(cls, cache: CacheSettings) -> Freshness:
        return cls.of(cache, cache.terminology_soft_ttl_s, cache.terminology_hard_ttl_s)

    @classmethod
    def cards(cls, cache: CacheSettings, directory: DirectoryCacheSettings) -> Freshness:
        return cls.of(cache, directory.card_soft_ttl_s, directory.card_hard_ttl_s)


class _GoneDuringRefresh(Exception):
    """A background refresh got a semantic negative for an entry we hold: keep the entry."""

    def __init__(self, original: NotFound) -> None:
        super().__init__(original.message)
        self.original = original


@dataclass(frozen=True, slots=True)
class CacheResult(Generic[T]):
    value: T
    state: CacheState
    age_s: float = 0.0


def _default_size(_: Any) -> int:
    return 1024


def _reraisable(exc: BaseException) -> BaseException:
    """A copy of a remembered negative, raised instead of the shared instance.

    Re-raising one instance appends every caller's frames to its ``__traceback__`` (an
    unbounded leak for a hot unknown code) and lets concurrent callers share tracebacks.
    """
    return copy.copy(exc)


class CachedLoader:
    def __init__(
        self,
        store: BoundedStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        sizeof: Callable[[Any], int] = _default_size,
    ) -> None:
        self.store = store
        self.stats = store.stats
        self._clock = clock
        self.sizeof = sizeof
        self._flights: SingleFlight[Entry] = SingleFlight(on_join=self._joined)
        self._background: set[asyncio.Task[None]] = set()
        #: Keys with a background refresh scheduled or running (one refresh at a time).
        self._refreshing: set[Hashable] = set()
        #: Keys whose last background refresh failed → when the next one may be tried.
        self._retry_at: dict[Hashable, float] = {}

    async def get(
        self,
        key: Hashable,
        fetch: Callable[[], Awaitable[T]],
        freshness: Freshness,
        *,
        fallback: Callable[[], T | None] | None = None,
    ) -> CacheResult[T]:
        now = self._clock()
        entry = self.store.get(key)
        if entry is not None and now < entry.hard_deadline:
            if entry.negative:
                self.stats.negative_hits += 1
                raise _reraisable(entry.value)
            if now < entry.soft_deadline:
                self.stats.hits += 1
                return CacheResult(entry.value, CacheState.HIT, now - entry.stored_at)
            self._refresh_in_background(key, fetch, freshness)
            self.stats.stale += 1
            return CacheResult(entry.value, CacheState.STALE, now - entry.stored_at)

        self.stats.misses += 1
        try:
            fresh = await self._single_flight(key, fetch, freshness)
        except _GoneDuringRefresh as gone:  # joined a refresh that got a negative
            raise _reraisable(gone.original) from None
        except UpstreamError:
            self.stats.upstream_errors += 1
            stale = self._stale_for_error(entry, now, freshness, fallback)
            if stale is None:
                raise
            return stale
        if fresh.negative:
            raise _reraisable(fresh.value)
        return CacheResult(fresh.value, CacheState.MISS, 0.0)

    def _joined(self) -> None:
        self.stats.coalesced += 1

    def seed(self, key: Hashable, value: Any, freshness: Freshness, *, age_s: float = 0.0) -> None:
        """Store a value obtained elsewhere (e.g. a snapshot), as if fetched ``age_s`` ago."""
        self.store.put(
            key, self._entry(value, freshness, negative=False, now=self._clock() - age_s)
        )

    def invalidate(self, key: Hashable) -> None:
        self.store.delete(key)

    async def drain(self) -> None:
        """Wait for background refreshes (used at shutdown and in tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def _stale_for_error(
        self,
        entry: Entry | None,
        now: float,
        freshness: Freshness,
        fallback: Callable[[], T | None] | None,
    ) -> CacheResult[T] | None:
        if (
            entry is not None
            and not entry.negative
            and now - entry.hard_deadline <= freshness.stale_if_error_s
        ):
            self.stats.stale += 1
            return CacheResult(entry.value, CacheState.STALE, now - entry.stored_at)
        if fallback is not None:
            value = fallback()
            if value is not None:
                self.stats.stale += 1
                return CacheResult(value, CacheState.STALE, 0.0)
        return None

    async def _single_flight(
        self, key: Hashable, fetch: Callable[[], Awaitable[Any]], freshness: Freshness
    ) -> Entry:
        async def produce() -> Entry:
            entry = await self._fetch_entry(fetch, freshness)
            self.store.put(key, entry)
            return entry

        return await self._flights.run(key, produce)

    async def _fetch_entry(
        self, fetch: Callable[[], Awaitable[Any]], freshness: Freshness
    ) -> Entry:
        try:
            value = await fetch()
        except NotFound as exc:
            return self._entry(exc, freshness, negative=True, now=self._clock())
        return self._entry(value, freshness, negative=False, now=self._clock())

    def _entry(self, value: Any, freshness: Freshness, *, negative: bool, now: float) -> Entry:
        if negative:
            ttl = freshness.negative_ttl_s
            return Entry(value, now, now + ttl, now + ttl, 256, negative=True)
        return Entry(
            value,
            stored_at=now,
            soft_deadline=now + freshness.soft_ttl_s,
            hard_deadline=now + freshness.hard_ttl_s,
            size=self.sizeof(value),
        )

    def _defer_refresh(self, key: Hashable, freshness: Freshness) -> None:
        self._retry_at[key] = self._clock() + freshness.retry_after_error_s
        if len(self._retry_at) > self.store.max_entries:
            now = self._clock()
            self._retry_at = {k: t for k, t in self._retry_at.items() if t > now}

    def _refresh_in_background(
        self, key: Hashable, fetch: Callable[[], Awaitable[Any]], freshness: Freshness
    ) -> None:
        if key in self._flights or key in self._refreshing:
            return
        retry_at = self._retry_at.get(key)
        if retry_at is not None:
            if self._clock() < retry_at:
                return  # the last refresh failed recently: keep serving stale, quietly
            del self._retry_at[key]
        self._refreshing.add(key)
        self.stats.refreshes += 1

        async def guarded() -> Any:
            try:
                return await fetch()
            except NotFound as exc:
                # NOS codes are never deleted: one empty answer must not turn a good entry
                # into a 404; the next hard-TTL refetch decides.
                raise _GoneDuringRefresh(exc) from exc

        async def refresh() -> None:
            try:
                await self._single_flight(key, guarded, freshness)
            except (UpstreamError, _GoneDuringRefresh) as exc:
                # The stale entry stays, served until its stale-if-error window ends; the
                # next refresh waits a while so a down upstream is not hammered.
                self.stats.refresh_errors += 1
                self._defer_refresh(key, freshness)
                log.warning("background refresh failed", extra={"error": type(exc).__name__})
            except Exception:
                self.stats.refresh_errors += 1
                self._defer_refresh(key, freshness)
                log.exception("background refresh crashed")

        task = asyncio.get_running_loop().create_task(refresh())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(lambda _: self._refreshing.discard(key))
