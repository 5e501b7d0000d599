"""The availability table of the index in force, rebuilt aside when either changes.

A refresh of availability swaps a new ``Availability``; the table over the current index
is then rebuilt and swapped in, while searches keep using the previous one. After an index
swap, the first search builds the table of the new index (once, others wait for it).

A build walks every subscription and slot (under a second for 500,000 slots): it runs on
the event loop in slices of :data:`SLICE_S`, so that requests are served between two
slices instead of waiting for the GIL behind a worker thread (``TableBuilder``); only the
final sort goes to a thread. Between two slices the build *sleeps* :data:`PAUSE_S`, it
does not merely yield: while the loop always has a callback ready it never blocks in its
poll, and the server's own threads (granian hands requests over from Rust threads, which
need the GIL) only get the GIL by forcing a switch, 5 ms each time: requests then queued
for 100-270 ms behind a build although the loop itself never lagged. What does not
depend on the slots (``PlaceRows``) is kept from one build to the next while the index
and the subscriptions stay the same.

Rebuilds are serialised, and one asked for an availability that the table was already
built from is skipped; a rebuild also waits :data:`REBUILD_DELAY_S` first, so that sources
refreshed together (each refresh asks for one, within milliseconds of the others at
start-up or after ``POST /admin/availability/refresh``) share one build.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from gateway.availability.state import Availability
from gateway.component import Live
from gateway.geo.communes import CommuneIndex
from gateway.search.availability_build import PlaceRows, TableBuilder
from gateway.search.availability_table import LiveTable
from gateway.search.live_index import LocationIndex

#: Longest stretch of building between two turns of the event loop, in seconds.
SLICE_S = 0.001
#: Pause between two slices (the event loop's timers have a 1 ms resolution).
PAUSE_S = 0.001
#: How long a rebuild waits for other sources' swaps to join it, in seconds.
REBUILD_DELAY_S = 0.1


class AvailabilityTables:
    def __init__(
        self,
        availability: Live[Availability],
        index: Live[LocationIndex],
        communes: CommuneIndex,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.availability = availability
        self.index = index
        self.communes = communes
        self.clock = clock
        self._table: LiveTable | None = None
        #: Rows of the index and subscriptions in force, kept from one build to the next.
        self._places: PlaceRows | None = None
        self._lock = asyncio.Lock()

    async def table_for(self, index: LocationIndex) -> LiveTable:
        table = self._table
        if table is not None and table.index_version == index.version:
            return table
        async with self._lock:
            table = self._table
            if table is None or table.index_version != index.version:
                table = await self._build(index)
        return table

    async def rebuild(self) -> None:
        """After an availability swap: the current index's table, built aside (skipped
        when a rebuild that waited before this one already used this availability)."""
        async with self._lock:
            if self._covers_current():
                return
            await asyncio.sleep(REBUILD_DELAY_S)  # the swaps made meanwhile join this build
            await self._build(self.index.current)

    def _covers_current(self) -> bool:
        table = self._table
        return (
            table is not None
            and table.index_version == self.index.current.version
            and table.availability is self.availability.current
        )

    async def _build(self, index: LocationIndex) -> LiveTable:
        availability = self.availability.current
        places = self._places
        if places is None or not places.covers(index.version, availability.subscriptions):
            places = PlaceRows(
                index.version, index.locations, availability.subscriptions, self.communes
            )
            self._places = places
        builder = TableBuilder(places, availability, self.clock())
        deadline = time.perf_counter() + SLICE_S
        for _ in builder.steps():
            if time.perf_counter() >= deadline:
                await asyncio.sleep(PAUSE_S)  # requests and the server's threads run
                deadline = time.perf_counter() + SLICE_S
        table = await asyncio.to_thread(builder.finish)
        self._table = table
        return table
