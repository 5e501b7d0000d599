"""The SAS ranking: the one production implementation, for ``GET /v1/search`` (over the
in-memory practice-location index) and ``POST /v1/rank`` (over the caller's candidates, see
:mod:`gateway.search.candidates`).

The rules are listed in :mod:`gateway.search.ranking`, a plain-Python reference kept as the
test oracle (tests check that both order alike). Vectorised with numpy so that a 10 km
search in central Paris (~70,000 locations inside the circle out of 1,000,000) ranks in a
few milliseconds:

* one composite sort key per hit: the availability group (which already puts participants
  first) in the high part, then nearness (``1 - dot``) for an address search, or a seeded
  hash of the row for commune/département/postcode searches: ``mix(row_hash ^ seed_hash)``
  (the same seed gives the same order; ``row_hash`` depends on the practitioner and
  location, i.e. on the card id ``<idnps>-<ordinal>``, not on the index layout);
* only the requested page is selected (``argpartition``), then sorted, ties by position;
* CPTS: for each CPTS covering the searched commune, its best-ranked member becomes the
  CPTS card and its other members are dropped;
* preferred-doctor locations are found by IDNPS without any geographic filter, placed
  first (earliest slot first) and removed from the rest;
* fewer than ``min_results`` other results in the circle → the radius grows once by the
  département's enlargement value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from gateway.directory.locations_file import NO_SLOT
from gateway.geo.spatial import chord_to_km, unit_vectors
from gateway.search.locations import PracticeLocations, mix

#: ``address``: distance order; the others (commune, département, postcode): seeded order.
LocationType = Literal["address", "city", "county", "postcode"]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_GROUP_SHIFT = np.uint64(61)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    lat: float
    lon: float
    location_type: LocationType
    radius_km: float
    seed: str = ""
    #: Added once to the radius when fewer than ``min_results`` results are found.
    enlargement_km: float = 0.0
    min_results: int = 0
    #: CPTS FINESS codes whose zone covers the searched commune.
    cpts: Collection[str] = ()
    preferred_doctor: int | None = None
    #: ("profession", TRE_G15 code) or ("specialty", TRE_R38 code).
    specialty: tuple[str, str] | None = None
    #: Only the preferred doctor's cards (e.g. the specialty asked for is unknown).
    only_preferred: bool = False
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True, slots=True)
class CptsGroup:
    """What a CPTS card stands for: its members inside the circle."""

    finess: str
    members: int
    #: Whether any member takes part in the SAS.
    participant: bool
    #: The earliest member slot (epoch seconds), ``NO_SLOT`` if none has one.
    first_slot: int


@dataclass(frozen=True, slots=True)
class RankedRow:
    #: Grid position of the location (for a CPTS card: its best-ranked member).
    position: int
    kind: str
    preferred_doctor: bool
    distance_km: float
    cpts: CptsGroup | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    rows: list[RankedRow]
    radius_km: float
    enlarged: bool
    total: int
    #: Covering CPTS that had a member inside the circle (so a card in the ranking).
    cpts_ranked: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RowStatus:
    """Per-row SAS participation and first slot, in place of the index's own columns (live
    availability, see ``gateway.search.availability_table``)."""

    participant: npt.NDArray[np.bool_]
    first_slot: I64
    #: When set, only these rows are candidates (the complementary offer).
    only: npt.NDArray[np.bool_] | None = None


def seed_hash(seed: str) -> np.uint64:
    """The first 8 bytes (big-endian) of the seed's SHA-256."""
    return np.uint64(int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big"))


class SearchEngine:
    def __init__(self, locations: PracticeLocations) -> None:
        self.locations = locations

    def search(self, query: SearchQuery, status: RowStatus | None = None) -> SearchPage:
        columns = self.locations.columns
        live = status or RowStatus(columns["participant"], columns["first_slot"])
        radius = query.radius_km
        positions, dots = self._candidates(query, radius, live)
        enlarged = False
        too_few = positions.size < query.min_results and not query.only_preferred
        if too_few and query.enlargement_km > 0:
            radius += query.enlargement_km
            positions, dots = self._candidates(query, radius, live)
            enlarged = True
        head = self._preferred(query, live)
        keys = self._keys(query, positions, dots, live)
        (kept, keys), cpts_at = self._collapse(query, positions, keys, live)
        total = len(head) + int(kept.size)
        start = (query.page - 1) * query.page_size
        stop = start + query.page_size
        rows = head[start:stop]
        rest_start, rest_stop = max(0, start - len(head)), max(0, stop - len(head))
        if rest_stop > rest_start and kept.size:
            chosen = _top(kept, keys, positions[kept], rest_stop)[rest_start:rest_stop]
            for i in chosen:
                position = int(positions[i])
                group = cpts_at.get(int(i))
                rows.append(
                    RankedRow(
                        position,
                        "cpts" if group else "practitioner",
                        False,
                        float(chord_to_km(dots[i : i + 1])[0]),
                        group,
                    )
                )
        ranked = frozenset(group.finess for group in cpts_at.values())
        return SearchPage(rows, radius, enlarged, total, ranked)

    def _candidates(self, query: SearchQuery, radius: float, rows: RowStatus) -> tuple[I64, F64]:
        if query.only_preferred:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        hits = self.locations.grid.within(query.lat, query.lon, radius)
        columns = self.locations.columns
        mask: npt.NDArray[np.bool_] | None = None
        if rows.only is not None:
            mask = rows.only[hits.positions]
        if query.specialty is not None:
            kind, code = query.specialty
            wanted = columns[kind][hits.positions] == code.encode("utf-8")
            mask = wanted if mask is None else mask & wanted
        if query.preferred_doctor is not None:
            others = columns["idnps"][hits.positions] != query.preferred_doctor
            mask = others if mask is None else mask & others
        if mask is None:
            return hits.positions, hits.dots
        return hits.positions[mask], hits.dots[mask]

    def _keys(
        self, query: SearchQuery, positions: I64, dots: F64, rows: RowStatus
    ) -> npt.NDArray[np.uint64]:
        participant = rows.participant[positions]
        has_slot = rows.first_slot[positions] != NO_SLOT
        # [slots & participant], [slots], [no slot & participant], [rest]
        group = (np.where(has_slot, 0, 2) + np.where(participant, 0, 1)).astype(np.uint64)
        if query.location_type == "address":
            # Nearness as an integer that keeps the order of (1 - dot) (≤ 2 for any point).
            near = (np.clip(1.0 - dots, 0.0, 2.0) * float(1 << 59)).astype(np.uint64)
        else:
            near = mix(self.locations.row_hash[positions] ^ seed_hash(query.seed)) >> np.uint64(3)
        keys: npt.NDArray[np.uint64] = (group << _GROUP_SHIFT) | near
        return keys

    def _collapse(
        self, query: SearchQuery, positions: I64, keys: npt.NDArray[np.uint64], rows: RowStatus
    ) -> tuple[tuple[I64, npt.NDArray[np.uint64]], dict[int, CptsGroup]]:
        """(kept hit indices, their keys), and hit index → the CPTS card it becomes."""
        cpts_at: dict[int, CptsGroup] = {}
        if not query.cpts or not positions.size:
            return (np.arange(positions.size), keys), cpts_at
        member_of = self.locations.columns["cpts"][positions]
        dropped = np.zeros(positions.size, dtype=bool)
        for finess in sorted(set(query.cpts)):
            members = np.flatnonzero(member_of == finess.encode("utf-8"))
            if not members.size:
                continue
            best = members[np.lexsort((positions[members], keys[members]))[0]]
            dropped[members] = True
            dropped[best] = False
            slots = rows.first_slot[positions[members]]
            known = slots[slots != NO_SLOT]
            cpts_at[int(best)] = CptsGroup(
                finess,
                int(members.size),
                bool(rows.participant[positions[members]].any()),
                int(known.min()) if known.size else NO_SLOT,
            )
        kept = np.flatnonzero(~dropped)
        return (kept, keys[kept]), cpts_at

    def _preferred(self, query: SearchQuery, rows: RowStatus) -> list[RankedRow]:
        if query.preferred_doctor is None:
            return []
        found = self.locations.positions_of(query.preferred_doctor)
        if rows.only is not None:  # the complementary offer: the médecin traitant too
            found = found[rows.only[found]]
        slots = rows.first_slot[found]
        # Earliest slot first, no slot last, then position.
        later = np.where(slots == NO_SLOT, np.iinfo(np.int64).max, slots)
        ordered = found[np.lexsort((found, later))]
        x, y, z = unit_vectors(np.array([query.lat]), np.array([query.lon]))
        g = self.locations.grid
        dots = g.x[ordered] * x[0] + g.y[ordered] * y[0] + g.z[ordered] * z[0]
        distances = chord_to_km(dots)
        return [
            RankedRow(int(p), "practitioner", True, float(d))
            for p, d in zip(ordered, distances, strict=True)
        ]


def _top(ids: I64, keys: npt.NDArray[np.uint64], ties: I64, count: int) -> I64:
    """The ``count`` first ``ids`` by (key, tie), in order, without sorting them all.

    ``argpartition`` alone would pick an arbitrary subset of the items tied with the
    boundary key, so pages could repeat or skip cards: every item tied with it is kept
    before the exact sort."""
    if count < ids.size:
        boundary = keys[np.argpartition(keys, count - 1)[count - 1]]
        keep = keys <= boundary
        ids, keys, ties = ids[keep], keys[keep], ties[keep]
    ordered: I64 = ids[np.lexsort((ties, keys))]
    return ordered[:count]
