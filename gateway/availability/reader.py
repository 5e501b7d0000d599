"""Reading one agenda source: the free slots of its subscribed practitioners.

The SAS IG "Consommateur" searches (``../shared/reference/sas/spec``), 25 IDNPS tokens per
request (sos: 25 SOS Médecins associations, "3" + SIRET, whose sites' Schedules are
searched with their free Slots revincluded; slots are then held per association, and the
sites seen are kept too), the window now → now + ``window_hours``, ``next`` links followed
(``gateway.fhir.search_pages``); the source's rate limit, retries and breaker are its
``UpstreamClient``'s. Batches run a few at a time so that latency, not only the rate limit,
does not bound a refresh. Slots already started are dropped, a slot seen twice (on two
pages) counts once, a malformed slot or resource is skipped and counted (its problem is
logged: agenda data carry no patient data), and any batch failing after its retries fails
the whole refresh of this source (the caller keeps the last good slots).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from gateway.availability.sites import SosSite
from gateway.availability.slots import ReadSlot, read_slots
from gateway.directory.identifiers import IDNPS_SYSTEM, IDNST_SYSTEM
from gateway.fhir import search_pages
from gateway.mappings.agenda import AgendaSource
from gateway.upstream import UpstreamClient

log = logging.getLogger("gateway")
BATCH = 25
MAX_PAGES = 200
_PSINDIV = [("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor")]
_CPTS = [
    ("_include", "Slot:service-type-reference"),
    ("_include:iterate", "HealthcareService:organization"),
]
_SOS = [
    ("_revinclude", "Slot:schedule"),
    ("_include", "Schedule:actor:Location"),
    ("_include:iterate", "Location:organization"),
]
_HAS_START = "_has:Slot:schedule:start"


@dataclass(slots=True)
class Harvest:
    #: By IDNPS, sorted by (start, slot id). Tuples, not lists: a tuple of slots (not
    #: tracked by the garbage collector) is untracked at the next collection, whereas every
    #: full collection would visit every slot of every list (500,000 slots: 100+ ms
    #: pauses, a few per refresh).
    slots: dict[str, tuple[ReadSlot, ...]] = field(default_factory=dict)
    calls: int = 0
    problems: int = 0
    #: sos: the consultation sites of the associations asked, by association then site key.
    sites: dict[tuple[str, str], SosSite] = field(default_factory=dict)


def _order(found: ReadSlot) -> tuple[int, str]:
    return found.slot.start, found.slot_id


def _merged(held: tuple[ReadSlot, ...], new: list[ReadSlot]) -> tuple[ReadSlot, ...]:
    """``held`` (sorted) with a page's ``new`` slots, sorted by (start, slot id), a slot
    seen on an earlier page once. One sort per owner and page: sources answer by start
    (psindiv) or by site (sos: each site's slots after the previous site's), and timsort
    merges such runs in linear time; keeping each slot in place as it came re-sorted an
    association's whole tuple per slot (2.6 s of stalled loop for one page of 20 sites)."""
    if not held or _order(held[-1]) < _order(min(new, key=_order)):
        ordered = sorted(new, key=_order) if len(new) > 1 else new
        combined = [*held, *ordered]
    else:
        combined = sorted([*held, *new], key=_order)
    out: list[ReadSlot] = []
    for found in combined:
        if out and _order(out[-1]) == _order(found):
            continue  # the same slot on two pages
        out.append(found)
    return tuple(out)


def instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class AgendaReader:
    def __init__(
        self,
        source: AgendaSource,
        upstream: UpstreamClient,
        *,
        clock: Callable[[], float] = time.time,
        concurrency: int = 4,
    ) -> None:
        self.source = source
        self.upstream = upstream
        self.clock = clock
        self.concurrency = concurrency

    def query(self, idnps: Sequence[str], now: float) -> str:
        """The search of one batch (a path with its query string: ``start`` appears twice);
        for sos, ``idnps`` are the associations' identifiers."""
        if self.source.kind == "sos":
            end = instant(now + self.source.window_hours * 3600)
            pairs = [
                *_SOS,
                (_HAS_START, f"ge{instant(now)}"),
                (_HAS_START, f"le{end}"),
                ("_has:Slot:schedule:status", "free"),
                ("actor:Location.organization.identifier",
                 ",".join(f"{IDNST_SYSTEM}|{i}" for i in idnps)),
            ]  # fmt: skip
            return f"/Schedule?{urlencode(pairs)}"
        pairs = list(_PSINDIV)
        if self.source.kind == "cpts":
            pairs += _CPTS
        tokens = ",".join(f"{IDNPS_SYSTEM}|{i}" for i in idnps)
        pairs += [
            ("start", f"ge{instant(now)}"),
            ("start", f"le{instant(now + self.source.window_hours * 3600)}"),
            ("schedule.actor:Practitioner.identifier", tokens),
            ("status", "free"),
        ]
        return f"/Slot?{urlencode(pairs)}"

    async def read(self, idnps: Sequence[str]) -> Harvest:
        """Slots by IDNPS (sos: by association), sorted by start. Raises ``UpstreamError``
        when a batch fails."""
        now = self.clock()
        harvest = Harvest()
        wanted = sorted(set(idnps))
        batches = [wanted[i : i + BATCH] for i in range(0, len(wanted), BATCH)]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(batch: list[str]) -> None:
            async with gate:
                await self._batch(batch, now, harvest)

        # A failing source opens its breaker: the batches still waiting fail fast.
        results = await asyncio.gather(*(one(b) for b in batches), return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
        return harvest

    async def _batch(self, batch: list[str], now: float, harvest: Harvest) -> None:
        asked = set(batch)
        horizon = now + self.source.window_hours * 3600
        pages = search_pages(self.upstream, self.query(batch, now), {}, max_pages=MAX_PAGES)
        async for page in pages:
            harvest.calls += 1
            read = read_slots(page.bundle)
            harvest.problems += len(read.problems)
            for problem in read.problems[:3]:
                log.warning(
                    "agenda slot skipped", extra={"source": self.source.name, "problem": problem}
                )
            fresh: dict[str, list[ReadSlot]] = {}
            for found in read.slots:
                owner = found.site.association if found.site else found.idnps
                if owner not in asked:
                    continue
                if found.site is not None:
                    harvest.sites[owner, found.site.key] = found.site
                # Started slots are gone; an SOS Schedule's revincluded slots are not bound
                # by the search's window, so the window is applied here too.
                if now < found.slot.start <= horizon:
                    fresh.setdefault(owner, []).append(found)
            for owner, new in fresh.items():
                held = harvest.slots.get(owner, ())
                harvest.slots[owner] = _merged(held, new)
