"""The availability component: agenda sources read on a schedule, slots held per source.

Sources are the stewards' (``mappings/agenda_sources.csv``, followed across mappings
reloads); subscriptions the operators' (``<snapshot>/availability/subscriptions.csv``,
re-read when the file changes). Each source is refreshed every
``GATEWAY_AVAILABILITY_INTERVAL`` seconds by its own task; a refresh builds the source's new
state aside and swaps one new ``Availability`` in, then tells the listeners (the search
tables) to rebuild aside too. ``base_url`` ``demo:`` is the built-in fictitious agenda.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import httpx

from gateway.availability.demo_agenda import DemoAgenda
from gateway.availability.memory import SlotReaper, freeze_more, heap_frozen
from gateway.availability.reader import AgendaReader
from gateway.availability.sharing import adopt, lease_name, publish
from gateway.availability.state import Availability, SourceState, known_sites
from gateway.availability.subscriptions import SUBSCRIPTIONS_FILE, Subscriptions, load_subscriptions
from gateway.availability.tls import agenda_tls
from gateway.component import Component, Gauge, Live, Parts, Registry
from gateway.errors import UpstreamError
from gateway.mappings.agenda import AgendaSource
from gateway.mappings.component import MappingsComponent
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient

log = logging.getLogger("gateway")
DEMO_URL = "http://demo-agenda.invalid/fhir"
Listener = Callable[[], Awaitable[None]]


class AvailabilityComponent(Component):
    name = "availability"

    def __init__(self, parts: Parts, mappings: MappingsComponent, live: Live[Availability]) -> None:
        self.parts = parts
        self.mappings = mappings
        self.live = live
        self.listeners: list[Listener] = []
        #: Per source: whether this replica reads it (False: another replica holds its
        #: lease and this one adopts what it publishes).
        self.polling: dict[str, bool] = {}
        self._readers: dict[str, tuple[AgendaSource, AgendaReader]] = {}
        #: Wall time (slot instants are), not the parts' monotonic cache clock.
        self.clock: Callable[[], float] = time.time
        #: What the subscriptions in force were read from (``subscriptions_stamp``).
        self.subscriptions_stamp: Stamp = None
        #: Frees the slots of replaced source states a slice at a time.
        self.reaper = SlotReaper()

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        mappings = registry.require(MappingsComponent)
        settings = parts.settings.availability
        sources = mappings.active.current.agenda
        stamp = _stamp(parts, sources)
        subscriptions = _subscriptions(parts, sources)
        states = {s.name: SourceState(s.name, s.kind) for s in sources}
        built = cls(parts, mappings, Live(Availability(subscriptions, states, settings.stale_s)))
        built.subscriptions_stamp = stamp
        return built

    def provides(self) -> Mapping[str, object]:
        return {"availability": self}

    def now(self) -> float:
        """Wall time through ``clock`` (replaceable: tests move time forward)."""
        return self.clock()

    # -- reading --------------------------------------------------------------------------
    def sources(self) -> list[AgendaSource]:
        return list(self.mappings.active.current.agenda)

    def reader(self, source: AgendaSource) -> AgendaReader:
        known = self._readers.get(source.name)
        if known is not None and known[0] == source:
            return known[1]
        if known is not None:
            asyncio.get_running_loop().create_task(known[1].upstream.aclose())
        reader = AgendaReader(
            source,
            self._upstream(source),
            clock=self.clock,
            concurrency=self.parts.settings.availability.concurrency,
        )
        self._readers[source.name] = (source, reader)
        return reader

    def _upstream(self, source: AgendaSource) -> UpstreamClient:
        demo = source.base_url == "demo:"
        settings = UpstreamSettings(
            f"agenda-{source.name}",
            DEMO_URL if demo else source.base_url,
            rate_per_s=source.rate_per_s,
            read_timeout_s=10.0,
            budget_s=30.0,
        )
        transport = self.parts.transport(f"agenda-{source.name}")
        if transport is None and demo:
            transport = DemoAgenda(clock=self.clock)
        if transport is None:
            tls = agenda_tls(source.name)
            transport = httpx.AsyncHTTPTransport(verify=tls) if tls is not None else None
        return UpstreamClient(settings, transport=transport)

    async def refresh(self, source: AgendaSource) -> dict[str, Any]:
        """One refresh of ``source`` now; its figures."""
        with heap_frozen():
            return await self._refresh(source)

    async def _refresh(self, source: AgendaSource) -> dict[str, Any]:
        started, now = time.monotonic(), self.clock()
        previous = self.live.current.sources.get(source.name) or SourceState(
            source.name, source.kind
        )
        wanted = self.live.current.subscriptions.owners(source.name)
        reader = self.reader(source)
        calls_before = reader.upstream.status.calls
        try:
            harvest = await reader.read(wanted)
        except UpstreamError as exc:
            message = exc.message
            calls = reader.upstream.status.calls - calls_before
            state = previous.failed(message, now, calls, time.monotonic() - started)
            log.warning("agenda source failed", extra={"source": source.name, "error": message})
        else:
            state = SourceState(
                source.name, source.kind, harvest.slots,
                last_success=now, last_attempt=now, calls=harvest.calls,
                duration_s=time.monotonic() - started, problems=harvest.problems,
                sites=known_sites(previous.sites, harvest.sites, wanted, now),
            )  # fmt: skip
        freeze_more()  # the slots just read: out of the collections still to come
        await self._apply(state)
        return {
            "calls": state.calls,
            "slots": state.slot_count if state.error is None else 0,
            "practitioners": len(state.slots) if state.error is None else 0,
            "subscribed": len(wanted),
            "sites": len(state.sites),
            "problems": state.problems if state.error is None else 0,
            "error": state.error,
            "duration_s": round(state.duration_s, 3),
        }

    async def _apply(self, state: SourceState) -> None:
        previous = self.live.current.sources.get(state.name)
        self.live.swap(self.live.current.with_source(state))
        if previous is not None and previous.slots and state.slots is not previous.slots:
            self.reaper.retire(previous.slots)
        for listener in self.listeners:
            await listener()

    async def refresh_all(self) -> dict[str, dict[str, Any]]:
        sources = self.sources()
        figures = await asyncio.gather(*(self.refresh(s) for s in sources))
        return {s.name: f for s, f in zip(sources, figures, strict=True)}

    # -- lifecycle ------------------------------------------------------------------------
    def background(self) -> Sequence[Callable[[], Awaitable[None]]]:
        return (self._keep_refreshed, self._watch_subscriptions)

    async def _keep_refreshed(self) -> None:
        every = self.parts.settings.availability.interval_s
        running: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                for source in self.sources():
                    task = running.get(source.name)
                    if task is None or task.done():
                        loop = self._loop(source.name, every)
                        running[source.name] = asyncio.create_task(loop)
                await asyncio.sleep(every)
        finally:
            # Cancelled at shutdown: the per-source loops end before their clients close.
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _loop(self, name: str, every: float) -> None:
        shared = self.parts.shared
        # Without a poller's lease, look for its published state this often.
        check = min(every, self.parts.settings.shared_cache.reconcile_s)
        adopted: str | None = None
        while True:
            source = next((s for s in self.sources() if s.name == name), None)
            if source is None:
                return  # removed from the stewards' table
            held = None if shared is None else await shared.lease(lease_name(name), 2 * every)
            self.polling[name] = held is not False
            if held is False and shared is not None:
                found = await adopt(shared, name, adopted)
                if found is not None:
                    adopted = found[1]
                    await self._apply(found[0])
                await asyncio.sleep(check)
                continue
            await self.refresh(source)
            if held and shared is not None:
                await publish(shared, self.live.current.sources[name], 4 * every)
            await asyncio.sleep(every)

    async def _watch_subscriptions(self) -> None:
        while True:
            await asyncio.sleep(min(self.parts.settings.availability.interval_s, 30.0))
            sources = self.sources()
            stamp = _stamp(self.parts, sources)
            if stamp is not None and stamp == self.subscriptions_stamp:
                # Unchanged file, same sources: not parsed again. Parsing 50,000 lines
                # holds the GIL for ~0.7 s, in a thread or not: requests would wait.
                continue
            self.subscriptions_stamp = stamp
            found = await asyncio.to_thread(_subscriptions, self.parts, sources)
            if found.version != self.live.current.subscriptions.version:
                self.live.swap(self.live.current.with_subscriptions(found))
                log.info("subscriptions reloaded", extra={"subscriptions": len(found.items)})
                for listener in self.listeners:
                    await listener()

    def health(self) -> Mapping[str, Any]:
        current, now = self.live.current, self.clock()
        return {
            "availability": {
                "subscriptions": len(current.subscriptions.items),
                "sos_associations": len(current.subscriptions.associations),
                "subscription_problems": len(current.subscriptions.problems),
                "sources": {
                    name: {
                        "kind": state.kind,
                        "status": state.status(now, current.stale_s),
                        "practitioners": len(state.slots),
                        "slots": state.slot_count,
                        "last_success": state.last_success,
                        "error": state.error,
                        "polled_here": self.polling.get(name, True),
                    }
                    for name, state in current.sources.items()
                },
            }
        }

    def gauges(self) -> Sequence[Gauge]:
        current, now = self.live.current, self.clock()
        states = current.sources.values()
        return (
            Gauge(
                "gateway_availability_last_success_timestamp",
                "Last good refresh of an agenda source (Unix time; 0: never)",
                ("source",),
                tuple(((s.name,), s.last_success or 0.0) for s in states),
            ),
            Gauge(
                "gateway_availability_slots",
                "Free slots held per agenda source",
                ("source",),
                tuple(((s.name,), float(s.slot_count)) for s in states),
            ),
            Gauge(
                "gateway_availability_failing",
                "1 when the last refresh of an agenda source failed",
                ("source",),
                tuple(((s.name,), 1.0 if s.error else 0.0) for s in states),
            ),
            Gauge(
                "gateway_availability_stale",
                "1 when an agenda source's slots are stale or unknown",
                ("source",),
                tuple(
                    ((s.name,), 0.0 if s.status(now, current.stale_s) == "live" else 1.0)
                    for s in states
                ),
            ),
        )

    def upstreams(self) -> Sequence[UpstreamClient]:
        return [reader.upstream for _, reader in self._readers.values()]

    async def aclose(self) -> None:
        self.reaper.cancel()
        for _, reader in self._readers.values():
            await reader.upstream.aclose()


Stamp = tuple[int, int, int, tuple[str, ...]] | None


def subscriptions_stamp(path: Path, sources: Sequence[str]) -> Stamp:
    """The subscriptions file's modification time, size and inode (an atomic replacement
    changes the inode), and the source names it is checked against; None without a file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino, tuple(sorted(sources))


def _stamp(parts: Parts, sources: Sequence[AgendaSource]) -> Stamp:
    # A source's kind decides how its rows read (practitioners, or sos associations).
    kinds = [f"{s.name}:{s.kind}" for s in sources]
    return subscriptions_stamp(parts.settings.snapshot.directory / SUBSCRIPTIONS_FILE, kinds)


def _subscriptions(parts: Parts, sources: Sequence[AgendaSource]) -> Subscriptions:
    found = load_subscriptions(
        parts.settings.snapshot.directory / SUBSCRIPTIONS_FILE,
        [s.name for s in sources],
        sos={s.name for s in sources if s.kind == "sos"},
    )
    for problem in found.problems[:20]:
        log.warning("subscription line skipped", extra={"problem": problem})
    return found
