"""``POST /v1/rank``: caller-supplied candidate cards, ranked by the search engine.

There is one SAS ranking in production, :class:`gateway.search.engine.SearchEngine`: the
candidates become a small practice-location table and the engine orders it exactly as it
orders ``GET /v1/search``'s index (same seeded order for the same seed, same CPTS cards,
same preferred-doctor head). What differs is only how the table is built:

* one grid cell for the whole table, so a grid position is the candidate's rank in the
  input (ties, e.g. two cards at one address, keep the caller's order);
* longitudes are turned so that the centre is on meridian 0 (distances do not change), so a
  circle across the antimeridian is found whole;
* a preferred-doctor candidate without coordinates is kept (at the centre, never inside the
  circle since the engine leaves the preferred doctor out of it) and shown without
  distance; other candidates without coordinates cannot be inside the circle: left out;
* a card's seeded rank depends on its id and the seed only (:func:`card_identity`): an id
  ``<idnps>-<ordinal>`` (``/v1/search``'s card ids) hashes as ``/v1/search`` hashes that
  location, so re-ranking ``/v1/search``'s cards gives ``/v1/search``'s order;
* when the query has an ``insee``, every distinct ``cpts_finess`` is a CPTS covering the
  commune (the front end sends only the CPTS membership it resolved for it);
* slots become their order (only their order matters to the engine), so the cards show the
  caller's own datetimes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from gateway.directory.locations_file import NO_SLOT, Columns, validate
from gateway.search.engine import LocationType, SearchEngine, SearchQuery
from gateway.search.locations import PracticeLocations, mix

CardKind = Literal["practitioner", "cpts"]
_U64 = (1 << 64) - 1
_LOCATION_ID = re.compile(r"^([0-9]{1,18})-([0-9]{1,3})$")
#: Wider than the whole sphere: one grid cell, grid order = input order.
_ONE_CELL_DEG = 1000.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PREFERRED = 1  # the preferred doctor's "idnps" in the table; every other candidate: 0


@dataclass(frozen=True, slots=True)
class Candidate:
    """One card supplied by the caller."""

    id: str
    idnps: str | None = None
    lat: float | None = None
    lon: float | None = None
    sas_participant: bool = False
    first_slot: datetime | None = None
    cpts_finess: str | None = None


@dataclass(frozen=True, slots=True)
class RankQuery:
    center_lat: float
    center_lon: float
    location_type: LocationType
    radius_km: float
    seed: str
    insee: str | None = None
    preferred_doctor: str | None = None


@dataclass(frozen=True, slots=True)
class RankedCard:
    id: str
    kind: CardKind
    preferred_doctor: bool
    #: None for a CPTS card and for a preferred-doctor card without coordinates.
    distance_km: float | None
    sas_participant: bool
    first_slot: datetime | None


@dataclass(frozen=True, slots=True)
class RankedPage:
    cards: list[RankedCard]
    #: Every eligible card (after CPTS grouping), before pagination.
    total: int


def card_identity(card_id: str) -> int:
    """The 64-bit value a card's seeded rank is drawn from: ``idnps * 256 + ordinal`` for
    a ``/v1/search`` card id ``<idnps>-<ordinal>`` (what the practice-location index
    hashes), else the first 8 bytes of the id's SHA-256."""
    found = _LOCATION_ID.match(card_id)
    if found is not None and int(found[2]) < 256:
        return (int(found[1]) * 256 + int(found[2])) & _U64
    return int.from_bytes(hashlib.sha256(card_id.encode("utf-8")).digest()[:8], "big")


class _CandidateTable(PracticeLocations):
    """The candidates as practice locations, with row hashes from the card ids."""

    def __init__(self, columns: Columns, identities: npt.NDArray[np.uint64]) -> None:
        super().__init__(columns, cell_deg=_ONE_CELL_DEG)
        self.row_hash = mix(identities[self.grid.order])


def _microseconds(slot: datetime) -> int:
    return (slot - _EPOCH) // timedelta(microseconds=1)


def _slot_order(slots: list[datetime | None]) -> list[int]:
    """Each slot's rank by (instant, input order); ``NO_SLOT`` for none."""
    timed = sorted((_microseconds(s), i) for i, s in enumerate(slots) if s is not None)
    order = [NO_SLOT] * len(slots)
    for rank, (_, i) in enumerate(timed):
        order[i] = rank
    return order


def _turned(lon: float, center_lon: float) -> float:
    """The longitude once the centre is moved to meridian 0, in [-180, 180)."""
    return (lon - center_lon + 180.0) % 360.0 - 180.0


def _kept(query: RankQuery, candidates: Sequence[Candidate]) -> tuple[list[Candidate], list[bool]]:
    """The candidates that can be ranked, and which of them are the preferred doctor."""
    kept: list[Candidate] = []
    preferred: list[bool] = []
    for c in candidates:
        is_preferred = query.preferred_doctor is not None and c.idnps == query.preferred_doctor
        if is_preferred or (c.lat is not None and c.lon is not None):
            kept.append(c)
            preferred.append(is_preferred)
    return kept, preferred


def _table(
    query: RankQuery,
    kept: list[Candidate],
    preferred: list[bool],
    code_of: dict[str, str],
    slot_order: list[int],
) -> _CandidateTable:
    columns: dict[str, Any] = {
        "idnps": np.array([_PREFERRED if p else 0 for p in preferred], dtype=np.int64),
        "ordinal": np.zeros(len(kept), dtype=np.uint8),
        "lat": np.array([query.center_lat if c.lat is None else c.lat for c in kept]),
        "lon": np.array([0.0 if c.lon is None else _turned(c.lon, query.center_lon) for c in kept]),
        "participant": np.array([c.sas_participant for c in kept], dtype=bool),
        "first_slot": np.array(slot_order, dtype=np.int64),
        "cpts": np.array([code_of.get(c.cpts_finess or "", "") for c in kept], dtype="S14"),
    }
    for name in ("insee", "profession", "specialty", "family", "given"):
        columns[name] = np.full(len(kept), b"")
    identities = np.array([card_identity(c.id) for c in kept], dtype=np.uint64)
    return _CandidateTable(validate(columns, "candidates"), identities)


def rank_page(
    query: RankQuery, candidates: Sequence[Candidate], *, page: int = 1, page_size: int = 20
) -> RankedPage:
    """Rank ``candidates`` by the SAS rules (the engine's) and return one page of cards."""
    kept, preferred = _kept(query, candidates)
    finess = (
        list(dict.fromkeys(c.cpts_finess for c in kept if c.cpts_finess))
        if query.insee is not None
        else []
    )
    code_of = {f: str(i) for i, f in enumerate(finess)}  # short codes: the column is S14
    slot_order = _slot_order([c.first_slot for c in kept])
    table = _table(query, kept, preferred, code_of, slot_order)
    result = SearchEngine(table).search(
        SearchQuery(
            query.center_lat,
            0.0,  # the centre's longitude once turned
            query.location_type,
            query.radius_km,
            seed=query.seed,
            cpts=list(code_of.values()),
            preferred_doctor=_PREFERRED if query.preferred_doctor is not None else None,
            page=page,
            page_size=page_size,
        )
    )
    by_code = {code: f for f, code in code_of.items()}
    by_slot = {order: c.first_slot for order, c in zip(slot_order, kept, strict=True)}
    cards: list[RankedCard] = []
    for row in result.rows:
        c = kept[int(table.grid.order[row.position])]
        if row.cpts is not None:
            group = row.cpts
            slot = None if group.first_slot == NO_SLOT else by_slot[group.first_slot]
            cards.append(
                RankedCard(by_code[group.finess], "cpts", False, None, group.participant, slot)
            )
            continue
        distance = None if c.lat is None or c.lon is None else row.distance_km
        cards.append(
            RankedCard(
                c.id, "practitioner", row.preferred_doctor, distance, c.sas_participant,
                c.first_slot,
            )
        )  # fmt: skip
    return RankedPage(cards, result.total)
