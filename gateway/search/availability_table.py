"""Availability laid over one practice-location index, for ranking and cards.

Built once per (index version, availability version), aside, then swapped in: per row,
whether the practitioner takes part in the SAS, accepts patients beyond their slots, and
their availability status; and every slot held, flat, with the row (practice location)
it is attached to, sorted by (row, start). The first slot per row for a request's filters
(consultation mode, day) is then one vectorised pass (the first kept slot of each row),
cached for a minute (slots that have started drop out as time passes).

This module reads the table; ``gateway.search.availability_build`` builds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.availability.slots import ReadSlot
from gateway.availability.state import Availability, Status
from gateway.directory.locations_file import NO_SLOT

MODE_BITS = {"AMB": 1, "HH": 2, "VR": 4}


def mode_bits(modes: Iterable[str]) -> int:
    """The ``MODE_BITS`` of consultation modes (an unknown one adds none)."""
    return sum(MODE_BITS.get(m, 0) for m in modes)


STATUSES: tuple[Status, ...] = ("none", "live", "stale", "unknown")


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
    #: The slots in the order they were collected, in chunks (tuples: the garbage
    #: collector untracks them instead of visiting every slot; never one 500,000-item
    #: sequence built or reordered in a GIL-holding call); ``slot_order[i]`` is the
    #: collection number of the i-th slot in (row, start) order, ``chunk_start[c]`` the
    #: collection number of chunk ``c``'s first slot.
    chunks: tuple[tuple[ReadSlot, ...], ...]
    chunk_start: npt.NDArray[np.int64]
    slot_order: npt.NDArray[np.int64]
    _first: dict[tuple[Any, ...], npt.NDArray[np.int64]] = field(default_factory=dict)

    def first_slot(self, wanted: SlotFilter, now: float) -> npt.NDArray[np.int64]:
        key = (wanted, int(now) // 60)
        found = self._first.get(key)
        if found is None:
            mask = _selected(self.slot_start, self.slot_modes, wanted, now)
            rows, starts = self.slot_row[mask], self.slot_start[mask]
            # Sorted by (row, start): a row's first kept slot is its earliest.
            first = np.ones(rows.size, dtype=bool)
            first[1:] = rows[1:] != rows[:-1]
            found = np.full(self.participant.size, NO_SLOT, dtype=np.int64)
            found[rows[first]] = starts[first]
            if len(self._first) > 32:
                self._first.clear()
            self._first[key] = found
        return found

    def slots_at(self, row: int, wanted: SlotFilter, now: float, count: int = 3) -> list[ReadSlot]:
        lo = int(np.searchsorted(self.slot_row, row, side="left"))
        hi = int(np.searchsorted(self.slot_row, row, side="right"))
        mask = _selected(self.slot_start[lo:hi], self.slot_modes[lo:hi], wanted, now)
        return [self.slot(lo + int(i)) for i in np.flatnonzero(mask)[:count]]

    def slot(self, i: int) -> ReadSlot:
        """The i-th slot in (row, start) order."""
        number = int(self.slot_order[i])
        chunk = int(np.searchsorted(self.chunk_start, number, side="right")) - 1
        return self.chunks[chunk][number - int(self.chunk_start[chunk])]

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
