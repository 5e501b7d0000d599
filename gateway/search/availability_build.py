"""Building the availability table (``gateway.search.availability_table``).

Building walks every subscription and slot in Python (about a second for 500,000 slots),
so :class:`TableBuilder` does it a few subscriptions per step: the caller runs the steps
in short slices on the event loop, between requests (``gateway.search.live_availability``).
A worker thread would not spare the loop: it holds the GIL, and every request would wait
for it at each switch interval (5 ms) while the table is built. Only the sort, which numpy
runs without the GIL, goes to a thread (:meth:`TableBuilder.finish`).

A slot goes to the practitioner's location at the slot's address (same postcode and
street), else at its postcode, else the location nearest to that postcode's commune,
else the practitioner's first location. A CPTS slot (type ``CPTS``) counts only for a
practitioner taking part through that CPTS, on the declared site (``cpts_site_insee``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from gateway.availability.slots import ReadSlot, SlotPlace
from gateway.availability.state import Availability, SourceState
from gateway.availability.subscriptions import Subscription, Subscriptions
from gateway.geo.communes import CommuneIndex
from gateway.geo.earth import haversine_km
from gateway.search.availability_table import STATUSES, LiveTable, SlotFilter, mode_bits
from gateway.search.locations import PracticeLocations
from gateway.text import normalise

#: Subscriptions handled per builder step (a few dozen microseconds each).
STEP = 16
#: Slots gathered before they are turned into arrays and a tuple (a chunk of the table).
CHUNK = 4096
_UNSET = object()
_STATUS_CODE = {name: code for code, name in enumerate(STATUSES)}


def build_table(
    index_version: str,
    locations: PracticeLocations,
    availability: Availability,
    communes: CommuneIndex,
    now: float,
) -> LiveTable:
    """The whole table at once (synchronous and CPU-bound; the service builds it in steps)."""
    places = PlaceRows(index_version, locations, availability.subscriptions, communes)
    builder = TableBuilder(places, availability, now)
    for _ in builder.steps():
        pass
    return builder.finish()


class PlaceRows:
    """What one index and one set of subscriptions say, whatever the slots: per row,
    participation and the complementary offer; per practitioner, their rows (and where
    each place of theirs goes, memoised as slots come); per source, its practitioners'
    rows. Filled by the first build over them, then kept for the next ones: between two
    refreshes only the slots change."""

    def __init__(
        self,
        index_version: str,
        locations: PracticeLocations,
        subscriptions: Subscriptions,
        communes: CommuneIndex,
    ) -> None:
        n = len(locations)
        self.index_version = index_version
        self.locations = locations
        self.subscriptions = subscriptions
        self.communes = communes
        self.participant = np.zeros(n, dtype=bool)
        self.beyond = np.zeros(n, dtype=bool)
        #: By IDNPS: where its slots go; None when it has no row in this index.
        self.attach: dict[str, _Attach | None] = {}
        self._by_source: dict[str, list[npt.NDArray[np.int64]]] = {}

    def covers(self, index_version: str, subscriptions: Subscriptions) -> bool:
        return self.index_version == index_version and self.subscriptions is subscriptions

    def of(self, idnps: str, sub: Subscription) -> _Attach | None:
        """The practitioner's ``_Attach`` (worked out on first sight), None without rows."""
        known = self.attach.get(idnps, _UNSET)
        if known is not _UNSET:
            return known  # type: ignore[return-value]
        attach = None
        if idnps.isdigit():
            positions = self.locations.positions_of(int(idnps))
            if positions.size:
                self.participant[positions] = sub.participant
                self.beyond[positions] = sub.participant and sub.beyond_slots
                self._by_source.setdefault(sub.source, []).append(positions)
                attach = _Attach(self.locations, positions, self.communes, sub)
        self.attach[idnps] = attach
        return attach

    def status(self, code: Callable[[str], int]) -> npt.NDArray[np.uint8]:
        """Per row, the status code of its practitioner's source (0: not subscribed)."""
        status = np.zeros(self.participant.size, dtype=np.uint8)
        for name, positions in self._by_source.items():
            if len(positions) > 1:
                positions[:] = [np.concatenate(positions)]
            status[positions[0]] = code(name)
        return status


class TableBuilder:
    """The table of one (index, availability): ``steps()`` walks the subscriptions,
    yielding every :data:`STEP`; ``finish()`` sorts the slots and returns the table."""

    def __init__(self, places: PlaceRows, availability: Availability, now: float) -> None:
        if availability.subscriptions is not places.subscriptions:
            raise ValueError("places were worked out for other subscriptions")
        self.places = places
        self.availability = availability
        self.now = now
        #: Per step, as tuples: the garbage collector untracks a tuple of slots, whereas a
        #: 500,000-item list is walked by every full collection during the build (~30 ms).
        self._held: list[tuple[ReadSlot, ...]] = []
        # Per step, as small arrays: one array built from a 500,000-item list would hold
        # the GIL (and the event loop) for tens of milliseconds in one C call.
        self._rows: list[npt.NDArray[np.int64]] = []
        self._starts: list[npt.NDArray[np.int64]] = []
        self._modes: list[npt.NDArray[np.uint8]] = []
        self._bits: dict[tuple[str, ...], int] = {}
        self._sources: dict[str, tuple[SourceState | None, int]] = {}

    def steps(self) -> Iterator[None]:
        rows: list[int] = []
        starts: list[int] = []
        modes: list[int] = []
        held: list[ReadSlot] = []
        places = self.places
        for count, (idnps, sub) in enumerate(self.availability.subscriptions.items.items(), 1):
            attach = places.of(idnps, sub)
            if attach is not None:
                self._add(idnps, sub, attach, rows, starts, modes, held)
            if count % STEP == 0:
                if len(rows) >= CHUNK:
                    self._flush(rows, starts, modes, held)
                yield
        self._flush(rows, starts, modes, held)

    def _add(
        self,
        idnps: str,
        sub: Subscription,
        attach: _Attach,
        rows: list[int],
        starts: list[int],
        modes: list[int],
        held: list[ReadSlot],
    ) -> None:
        source, _ = self._source(sub.source)
        if source is None:  # status unknown: no slot shown (Availability.slots)
            return
        bits, now = self._bits, self.now
        place: object = _UNSET
        row = None
        for found in source.slots.get(idnps, ()):
            offered = found.slot
            if offered.start <= now:
                continue
            if "CPTS" in offered.types:
                # Its row also depends on the CPTS it is offered to: asked every time.
                place, row = _UNSET, attach.row(found)
            elif found.place is not place:
                # A practitioner's slots mostly share one place (one object per page read).
                place, row = found.place, attach.row(found)
            if row is not None:
                mode = bits.get(offered.modes)
                if mode is None:
                    mode = bits[offered.modes] = mode_bits(offered.modes)
                rows.append(row)
                starts.append(offered.start)
                modes.append(mode)
                held.append(found)

    def _source(self, name: str) -> tuple[SourceState | None, int]:
        """A source's state when its slots are shown (None when ``unknown``), and the
        status code of its practitioners, worked out once per build."""
        known = self._sources.get(name)
        if known is None:
            state = self.availability.sources.get(name)
            status = state.status(self.now, self.availability.stale_s) if state else "unknown"
            shown = state if status != "unknown" else None
            known = self._sources[name] = (shown, _STATUS_CODE[status])
        return known

    def _flush(
        self, rows: list[int], starts: list[int], modes: list[int], held: list[ReadSlot]
    ) -> None:
        if rows:
            self._rows.append(np.array(rows, dtype=np.int64))
            self._starts.append(np.array(starts, dtype=np.int64))
            self._modes.append(np.array(modes, dtype=np.uint8))
            self._held.append(tuple(held))
            for pending in (rows, starts, modes, held):
                pending.clear()

    def finish(self) -> LiveTable:
        """Sort the slots by (row, start) and return the table (numpy, mostly without the
        GIL: it may run in a worker thread)."""
        sizes = [len(chunk) for chunk in self._held]
        chunk_start = np.cumsum([0, *sizes], dtype=np.int64)[:-1]
        slot_row = np.concatenate([np.empty(0, dtype=np.int64), *self._rows])
        slot_start = np.concatenate([np.empty(0, dtype=np.int64), *self._starts])
        slot_modes = np.concatenate([np.empty(0, dtype=np.uint8), *self._modes])
        order = np.lexsort((slot_start, slot_row))
        places = self.places
        table = LiveTable(
            places.index_version,
            self.availability,
            places.participant,
            places.beyond,
            places.status(lambda name: self._source(name)[1]),
            slot_row[order],
            slot_start[order],
            slot_modes[order],
            tuple(self._held),
            chunk_start,
            order,
        )
        # Most searches ask for the unfiltered first slots, and the first to do so after
        # the swap would compute them on the event loop (3-10 ms over 500,000 slots, GIL
        # held). Here, in the worker thread, numpy releases the GIL for most of it.
        table.first_slot(SlotFilter(), self.now)
        return table


class _Attach:
    """Where one practitioner's slots go (memoised per place: slots share a few places)."""

    def __init__(
        self,
        locations: PracticeLocations,
        positions: npt.NDArray[np.int64],
        communes: CommuneIndex,
        sub: Subscription,
    ) -> None:
        self.loc = locations
        self.positions = [int(p) for p in positions]
        self.communes = communes
        self.sub = sub
        self._memo: dict[tuple[SlotPlace | None, bool], int | None] = {}

    def row(self, found: ReadSlot) -> int | None:
        cpts = "CPTS" in found.slot.types
        if cpts and self.sub.cpts_finess not in {_finess(v) for v in found.cpts_finesses}:
            return None  # offered to another CPTS than the one this practitioner joined
        key = (found.place, cpts)
        if key not in self._memo:
            self._memo[key] = self._site() if cpts else self._place(found.place)
        return self._memo[key]

    def _site(self) -> int | None:
        sub = self.sub
        if sub.mode != "cpts" or not sub.cpts_site_insee:
            return None
        site = {sub.cpts_site_insee, *self.communes.same_city(sub.cpts_site_insee)}
        return next((p for p in self.positions if self.loc.text("insee", p) in site), None)

    def _place(self, place: SlotPlace | None) -> int:
        first = min(self.positions, key=lambda p: int(self.loc.columns["ordinal"][p]))
        if place is None or not place.postcode:
            return first
        same = [p for p in self.positions if place.postcode in self._postcodes(p)]
        street = normalise(place.line)
        exact = [p for p in same if street and normalise(self.loc.text("address", p)) == street]
        if exact or same:
            return (exact or same)[0]
        communes = self.communes.by_postcode(place.postcode)
        if not communes:
            return first
        lat, lon = communes[0].lat, communes[0].lon
        columns = self.loc.columns
        return min(
            self.positions,
            key=lambda p: haversine_km(
                lat, lon, float(columns["lat"][p]), float(columns["lon"][p])
            ),
        )

    def _postcodes(self, position: int) -> set[str]:
        written = self.loc.text("postcode", position)
        if written:
            return {written}
        commune = self.communes.by_insee(self.loc.text("insee", position))
        return set(commune.postcodes) if commune else set()


def _finess(identifier: str) -> str:
    """The IG writes a CPTS's identifier as "1" + FINESS (IDNST); subscriptions the FINESS."""
    return identifier[1:] if len(identifier) == 10 and identifier.startswith("1") else identifier
