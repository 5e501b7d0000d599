"""SAS ranking of candidate cards (DESIGN §2 "SAS search"), pure and framework-free.

Rules, applied in this order:

1. **Preferred doctor** (médecin traitant): every candidate whose ``idnps`` equals the
   query's ``preferred_doctor`` becomes a flagged card placed **first**, whatever its
   distance (not subject to the radius, kept even without coordinates). Among themselves
   they are ordered by earliest ``first_slot`` (no slot last, then input order). They are
   removed from the main results.
2. **Strict circle**: the other candidates are kept only when their haversine distance to
   the centre is ``<= radius_km``; a candidate without coordinates is excluded.
3. **Base order**: SAS participants before non-participants; within each group, distance
   ascending when ``location_type`` is ``"address"``, otherwise a seeded random order
   (``random.Random`` seeded with a SHA-256 digest of ``seed``: the same seed and input
   always give the same order, and nobody is systematically favoured).
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
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gateway.geo.earth import haversine_km

LocationType = Literal["address", "city", "county", "postcode"]
CardKind = Literal["practitioner", "cpts"]


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


def seeded_rng(seed: str) -> random.Random:
    """A PRNG that depends only on ``seed`` (``hash()`` is salted per process)."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


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
        ordered = list(eligible)
        seeded_rng(query.seed).shuffle(ordered)
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
