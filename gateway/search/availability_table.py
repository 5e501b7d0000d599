"""Availability laid over one practice-location index, for ranking and cards.

Built once per (index version, availability version), off the event loop, then swapped
in: per row, whether the practitioner takes part in the SAS, accepts patients beyond
their slots, and their availability status; and every slot held, flat, with the row
(practice location) it is attached to. The first slot per row for a request's filters
(consultation mode, day) is then one vectorised pass (``np.minimum.at``), cached for a
minute (slots that have started drop out as time passes).

A slot goes to the practitioner's location at the slot's address (same postcode and
street), else at its postcode, else the location nearest to that postcode's commune,
else the practitioner's first location. A CPTS slot (type ``CPTS``) counts only for a
practitioner taking part through that CPTS, on the declared site (``cpts_site_insee``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.availability.slots import ReadSlot, SlotPlace
from gateway.availability.state import Availability, Status
from gateway.availability.subscriptions import Subscription
from gateway.directory.locations_file import NO_SLOT
from gateway.geo.communes import CommuneIndex
from gateway.geo.earth import haversine_km
from gateway.search.locations import PracticeLocations
from gateway.text import normalise

MODE_BITS = {"AMB": 1, "HH": 2, "VR": 4}
STATUSES: tuple[Status, ...] = ("none", "live", "stale", "unknown")
_STATUS_CODE = {name: code for code, name in enumerate(STATUSES)}


@dataclass(frozen=True, slots=True)
class SlotFilter:
    """``modes``: bits of ``MODE_BITS`` (0: any); bounds in epoch seconds, inclusive."""

    modes: int = 0
    start_from: int | None = None
    start_to: int | None = None


@dataclass(slots=True)
class LiveTable:
    index_version: str
    availability: Availability
    participant: npt.NDArray[np.bool_]
    beyond: npt.NDArray[np.bool_]
    status: npt.NDArray[np.uint8]
    #: Flat slots sorted by (row, start).
    slot_row: npt.NDArray[np.int64]
    slot_start: npt.NDArray[np.int64]
    slot_modes: npt.NDArray[np.uint8]
    slots: list[ReadSlot]
    _first: dict[tuple[Any, ...], npt.NDArray[np.int64]] = field(default_factory=dict)

    def first_slot(self, wanted: SlotFilter, now: float) -> npt.NDArray[np.int64]:
        key = (wanted, int(now) // 60)
        found = self._first.get(key)
        if found is None:
            mask = _selected(self.slot_start, self.slot_modes, wanted, now)
            found = np.full(self.participant.size, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(found, self.slot_row[mask], self.slot_start[mask])
            found[found == np.iinfo(np.int64).max] = NO_SLOT
            if len(self._first) > 32:
                self._first.clear()
            self._first[key] = found
        return found

    def slots_at(self, row: int, wanted: SlotFilter, now: float, count: int = 3) -> list[ReadSlot]:
        lo = int(np.searchsorted(self.slot_row, row, side="left"))
        hi = int(np.searchsorted(self.slot_row, row, side="right"))
        mask = _selected(self.slot_start[lo:hi], self.slot_modes[lo:hi], wanted, now)
        return [self.slots[lo + int(i)] for i in np.flatnonzero(mask)[:count]]

    def status_at(self, row: int) -> Status:
        return STATUSES[int(self.status[row])]


def _selected(
    start: npt.NDArray[np.int64], modes: npt.NDArray[np.uint8], wanted: SlotFilter, now: float
) -> npt.NDArray[np.bool_]:
    """Slots not started yet and matching the filter."""
    mask = start > int(now)
    if wanted.modes:
        mask &= (modes & np.uint8(wanted.modes)) != 0
    if wanted.start_from is not None:
        mask &= start >= wanted.start_from
    if wanted.start_to is not None:
        mask &= start <= wanted.start_to
    return mask


def build_table(
    index_version: str,
    locations: PracticeLocations,
    availability: Availability,
    communes: CommuneIndex,
    now: float,
) -> LiveTable:
    """Synchronous and CPU-bound: run it in a worker thread."""
    n = len(locations)
    participant = np.zeros(n, dtype=bool)
    beyond = np.zeros(n, dtype=bool)
    status = np.zeros(n, dtype=np.uint8)
    rows: list[int] = []
    held: list[ReadSlot] = []
    for idnps, sub in availability.subscriptions.items.items():
        if not idnps.isdigit():
            continue
        positions = locations.positions_of(int(idnps))
        if not positions.size:
            continue
        participant[positions] = sub.participant
        beyond[positions] = sub.participant and sub.beyond_slots
        status[positions] = _STATUS_CODE[availability.status(idnps, now)]
        attach = _Attach(locations, positions, communes, sub)
        for found in availability.slots(idnps, now):
            row = attach.row(found)
            if row is not None:
                rows.append(row)
                held.append(found)
    slot_row = np.array(rows, dtype=np.int64)
    slot_start = np.array([s.slot.start for s in held], dtype=np.int64)
    slot_modes = np.array(
        [sum(MODE_BITS.get(m, 0) for m in s.slot.modes) for s in held], dtype=np.uint8
    )
    order = np.lexsort((slot_start, slot_row))
    return LiveTable(
        index_version,
        availability,
        participant,
        beyond,
        status,
        slot_row[order],
        slot_start[order],
        slot_modes[order],
        [held[int(i)] for i in order],
    )


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
