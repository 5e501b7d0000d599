"""SAS ranking of candidate cards (DESIGN §2 "SAS search"): the reference rules, in plain
Python, kept as the **test oracle only**.

No production route uses this module: ``GET /v1/search`` and ``POST /v1/rank`` both rank
with :class:`gateway.search.engine.SearchEngine` (``/v1/rank`` through
:mod:`gateway.search.candidates`). Tests check that the engine orders exactly as
:func:`rank` does, for every location type; a change to the rules goes here and in the
engine together.

Rules, applied in this order:

1. **Preferred doctor** (médecin traitant): every candidate whose ``idnps`` equals the
   query's ``preferred_doctor`` becomes a flagged card placed **first**, whatever its
   distance (not subject to the radius, kept even without coordinates). Among themselves
   they are ordered by earliest ``first_slot`` (no slot last, then input order). They are
   removed from the main results.
2. **Strict circle**: the other candidates are kept only when their haversine distance to
   the centre is ``<= radius_km``; a candidate without coordinates is excluded.
3. **Base order**: SAS participants before non-participants; within each group, distance
   ascending when ``location_type`` is ``"address"``, otherwise a seeded random order:
   ascending ``splitmix64(splitmix64(card_identity(id)) ^ sha256(seed)[:8]) >> 3``, ties
   by input order; ``card_identity`` (:mod:`gateway.search.candidates`) is
   ``idnps * 256 + ordinal`` for a ``/v1/search`` card id ``<idnps>-<ordinal>``, else the
   first 8 bytes of the id's SHA-256. This is the engine's seeded order, the one
   ``/v1/search`` has always served: the same seed and cards always give the same order,
   a card's place depends on its id and the seed only, and nobody is systematically
   favoured.
4. **Availability partition** (stable): [slots & participant], [slots],
   [no slot & participant], [rest]; "slots" means ``first_slot`` is not null.
5. **CPTS**: when the query carries an ``insee`` code, every distinct ``cpts_finess`` found
   among the ranked (non-preferred) cards is taken as a CPTS covering that commune (the
   front end only sends CPTS membership it has already resolved for the commune). The
   first card of each CPTS's members is replaced by a CPTS card (``kind="cpts"``,
   ``id`` = the CPTS FINESS, no distance, participant if any member is, earliest member
   slot) and the other members' cards are dropped. Preferred-doctor cards are never
   collapsed. Without ``insee`` nothing is collapsed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gateway.geo.earth import haversine_km
from gateway.search.candidates import Candidate, CardKind, RankQuery, card_identity
from gateway.search.engine import LocationType

__all__ = ["Candidate", "LocationType", "RankQuery", "RankedCard", "rank", "seeded_key"]
_U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class RankedCard:
    id: str
    kind: CardKind
    preferred_doctor: bool
    distance_km: float | None
    sas_participant: bool
    first_slot: datetime | None
    #: Candidate ids this card stands for (itself, or every member of a CPTS card).
    members: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class _Scored:
    index: int
    candidate: Candidate
    distance_km: float | None


def _splitmix64(value: int) -> int:
    """The splitmix64 finaliser on Python integers (the engine's is numpy's uint64)."""
    z = (value + 0x9E3779B97F4A7C15) & _U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _U64
    return z ^ (z >> 31)


def seeded_key(card_id: str, seed: str) -> int:
    """A card's place in the seeded order (smaller first); depends on nothing else."""
    seed_bits = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")
    return _splitmix64(_splitmix64(card_identity(card_id)) ^ seed_bits) >> 3


def _distance(query: RankQuery, candidate: Candidate) -> float | None:
    if candidate.lat is None or candidate.lon is None:
        return None
    return haversine_km(query.center_lat, query.center_lon, candidate.lat, candidate.lon)


def _slot_key(scored: _Scored) -> tuple[int, float, int]:
    slot = scored.candidate.first_slot
    if slot is None:
        return (1, 0.0, scored.index)
    return (0, slot.timestamp(), scored.index)


def _availability_group(candidate: Candidate) -> int:
    has_slot = candidate.first_slot is not None
    if has_slot and candidate.sas_participant:
        return 0
    if has_slot:
        return 1
    if candidate.sas_participant:
        return 2
    return 3


def _card(scored: _Scored, *, preferred: bool) -> RankedCard:
    c = scored.candidate
    return RankedCard(
        id=c.id,
        kind="practitioner",
        preferred_doctor=preferred,
        distance_km=scored.distance_km,
        sas_participant=c.sas_participant,
        first_slot=c.first_slot,
        members=(c.id,),
    )


def _base_order(query: RankQuery, eligible: list[_Scored]) -> list[_Scored]:
    if query.location_type == "address":
        ordered = sorted(eligible, key=lambda s: (s.distance_km or 0.0, s.index))
    else:
        ordered = sorted(eligible, key=lambda s: (seeded_key(s.candidate.id, query.seed), s.index))
    ordered.sort(key=lambda s: not s.candidate.sas_participant)  # stable
    ordered.sort(key=lambda s: _availability_group(s.candidate))  # stable partition
    return ordered


def _earliest(slots: Sequence[datetime | None]) -> datetime | None:
    known = [s for s in slots if s is not None]
    return min(known, key=lambda s: s.timestamp()) if known else None


def _collapse_cpts(ordered: list[_Scored]) -> list[RankedCard]:
    members: dict[str, list[_Scored]] = {}
    for scored in ordered:
        finess = scored.candidate.cpts_finess
        if finess is not None:
            members.setdefault(finess, []).append(scored)
    cards: list[RankedCard] = []
    for scored in ordered:
        finess = scored.candidate.cpts_finess
        if finess is None:
            cards.append(_card(scored, preferred=False))
            continue
        group = members.pop(finess, None)
        if group is None:  # a later member of an already placed CPTS
            continue
        cards.append(
            RankedCard(
                id=finess,
                kind="cpts",
                preferred_doctor=False,
                distance_km=None,
                sas_participant=any(s.candidate.sas_participant for s in group),
                first_slot=_earliest([s.candidate.first_slot for s in group]),
                members=tuple(s.candidate.id for s in group),
            )
        )
    return cards


def rank(query: RankQuery, candidates: Sequence[Candidate]) -> list[RankedCard]:
    """Apply the SAS rules (module docstring) and return every eligible card, in order."""
    preferred: list[_Scored] = []
    eligible: list[_Scored] = []
    for index, candidate in enumerate(candidates):
        scored = _Scored(index, candidate, _distance(query, candidate))
        if query.preferred_doctor is not None and candidate.idnps == query.preferred_doctor:
            preferred.append(scored)
        elif scored.distance_km is not None and scored.distance_km <= query.radius_km:
            eligible.append(scored)
    head = [_card(s, preferred=True) for s in sorted(preferred, key=_slot_key)]
    ordered = _base_order(query, eligible)
    if query.insee is not None:
        return head + _collapse_cpts(ordered)
    return head + [_card(s, preferred=False) for s in ordered]
