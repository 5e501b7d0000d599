"""Geocoding while the directory is paged (``gateway sync locations``).

Paging the Annuaire is bound by its quota (17 calls/s, one page after the other: each
waits for the previous ``next`` link), and the geocoder is another host. Each applied
page offers the addresses its active roles point to; those the address cache lacks
queue up, and one worker geocodes them a full batch at a time while paging goes on. A
national first run then costs about the longer of paging and geocoding instead of their
sum. When paging ends the worker sends what is left; the sweep after it
(``locations_export.geocode_new``) finds what the pipeline never saw (a run resumed after
a stop, organizations that changed without their roles).

One batch is in flight at a time, as before; when paging fails, that batch still
completes (and nothing more is sent). The worker and the paging share the store's
connection on the event loop: each writes and commits without awaiting in between, so
neither commits half of the other's work. A failing batch stops geocoding for this run,
like the sweep: the addresses keep their commune point and are asked again next run. An
address sent and not placed (its commune unknown) is not sent again in the same run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from itertools import islice
from types import TracebackType
from typing import Self

from gateway.directory.locations_export import GeocodeFigures, place_batch
from gateway.directory.locations_store import LocationsStore, OrganizationRow
from gateway.geo.batch import AddressQuery, BatchGeocoder


class GeocodingPipeline:
    """``async with`` it around the paging; :meth:`offer` each page's organizations."""

    def __init__(
        self,
        store: LocationsStore,
        geocoder: BatchGeocoder,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.geocoder = geocoder
        self.on_batch = on_batch
        self.figures = GeocodeFigures()
        self._queue: dict[str, AddressQuery] = {}
        self._in_flight: set[str] = set()
        #: Sent in this run and not placed (no commune point either): not asked again.
        self.unplaced: set[str] = set()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def stopped(self) -> bool:
        """Whether a batch failed (nothing more is geocoded in this run)."""
        return self.figures.error is not None

    def offer(self, organizations: Iterable[OrganizationRow]) -> None:
        """Queue the addresses of ``organizations`` that the cache, the queue and the
        batch in flight all lack."""
        if self._task is None or self.stopped:
            return
        fresh = {
            o.address_key: o
            for o in organizations
            if o.address_key not in self._queue
            and o.address_key not in self._in_flight
            and o.address_key not in self.unplaced
        }
        cached = self.store.known("geocoded", fresh)
        for key, organization in fresh.items():
            if key not in cached:
                self._queue[key] = AddressQuery(
                    key, organization.line, organization.postcode, organization.insee
                )
        if len(self._queue) >= self.geocoder.batch_size:
            self._wake.set()

    async def __aenter__(self) -> Self:
        if self.geocoder.enabled:
            self._task = asyncio.get_running_loop().create_task(self._work())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._closing = True
        self._wake.set()
        if kind is None:
            await task  # paging finished: send what is queued; a worker's error surfaces
            return
        if issubclass(kind, Exception):
            # Paging failed (the run stops with its error): the batch in flight is kept,
            # the queue is left to the next run's sweep.
            self._queue.clear()
        else:
            task.cancel()  # interrupted: stop now (a batch in flight is asked again)
        await asyncio.gather(task, return_exceptions=True)

    async def _work(self) -> None:
        size = self.geocoder.batch_size
        while True:
            if len(self._queue) < size and not self._closing:
                await self._wake.wait()
                self._wake.clear()
                continue
            if not self._queue:
                return
            keys = sorted(islice(self._queue, size))  # the cache's B-tree takes them in order
            batch = [self._queue.pop(key) for key in keys]
            self._in_flight.update(keys)
            self.figures.addresses += len(batch)
            try:
                placed = await place_batch(self.store, self.geocoder, batch, self.figures)
            finally:
                self._in_flight.clear()
            if placed is None:
                self._queue.clear()
                return
            self.unplaced.update(key for key in keys if key not in placed)
            if self.on_batch is not None:
                self.on_batch(len(batch))
