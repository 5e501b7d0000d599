"""Practitioner cards (``/v1/practitioners``) for the search front end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.directory.cards import Location, PractitionerCard
from gateway.directory.identifiers import parse_practitioner_id
from gateway.directory.practitioners import PractitionerService
from gateway.geo.earth import haversine_km
from gateway.search.result_cards import LocationAvailability, epoch_to_datetime
from gateway.search.service import SearchService
from gateway.web.deps import cache_headers
from gateway.web.error_docs import json_errors
from gateway.web.search_api import ParticipationOut, SlotOut, slot_out


class AvailableLocation(Location, kw_only=True):
    sas_participant: bool = False
    first_slot: datetime | None = None
    slots: list[SlotOut] = []
    #: live | stale | unknown | none (see the search results).
    availability: str = "none"
    participation: ParticipationOut | None = None


class CardWithAvailability(PractitionerCard, kw_only=True):
    locations: list[AvailableLocation]  # type: ignore[assignment]  # the same, with slots


def with_availability(
    card: PractitionerCard, held: list[LocationAvailability]
) -> CardWithAvailability:
    """Each card location gets the live availability of the nearest indexed location of
    the same practitioner (the card's comes from the directory, the index's from the sync)."""
    out = []
    for location in card.locations:
        match = None
        if held and location.lat is not None and location.lon is not None:
            lat, lon = location.lat, location.lon
            match = min(held, key=lambda h: haversine_km(lat, lon, h.lat, h.lon))
        fields = msgspec.structs.asdict(location)
        if match is None:
            out.append(AvailableLocation(**fields))
            continue
        part = match.participation
        out.append(
            AvailableLocation(
                **fields,
                sas_participant=match.sas_participant,
                first_slot=epoch_to_datetime(match.first_slot),
                slots=[slot_out(s) for s in match.slots],
                availability=match.availability,
                participation=ParticipationOut(part.mode, part.cpts_finess, part.beyond_slots)
                if part is not None
                else None,
            )
        )
    base = {k: v for k, v in msgspec.structs.asdict(card).items() if k != "locations"}
    return CardWithAvailability(**base, locations=out)


class ScoredCard(PractitionerCard):
    score: float


class PractitionerCandidates(msgspec.Struct):
    candidates: list[ScoredCard]
    #: SAS rule: the name designates exactly one RPPS among its strong matches.
    identified: bool
    rpps: str | None


class PractitionersController(Controller):
    path = "/v1/practitioners"
    tags = ["Directory"]
    opt = {ACCESS: SEARCH}

    @get(
        "/{idnps:str}",
        summary="Practitioner card by IDNPS (or RPPS)",
        responses=json_errors(400, 404, 503),
    )
    async def card(
        self,
        practitioners: NamedDependency[PractitionerService],
        search: NamedDependency[SearchService],
        idnps: Annotated[str, PathParameter(max_length=80, description="IDNPS, token or RPPS")],
    ) -> Response[CardWithAvailability]:
        pid = parse_practitioner_id(idnps, parameter="idnps")
        found, state = await practitioners.card(pid)
        card = with_availability(found, await search.practitioner_availability(pid.idnps))
        headers = cache_headers(state)
        if pid.warnings:
            headers["Warning"] = f'199 sas-gateway "{pid.warnings[0]}"'
        return Response(card, headers=headers)

    @get(
        "/",
        summary="Practitioner candidates by name (accent/case-insensitive, any order)",
        responses=json_errors(400, 503),
    )
    async def search(
        self,
        practitioners: NamedDependency[PractitionerService],
        name: Annotated[str, QueryParameter(min_length=2, max_length=120)],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
    ) -> Response[PractitionerCandidates]:
        found = await practitioners.search(name, limit)
        body = PractitionerCandidates(
            candidates=[
                ScoredCard(**msgspec.structs.asdict(c.card), score=c.score)
                for c in found.candidates
            ],
            identified=found.identified,
            rpps=found.rpps,
        )
        return Response(body, headers=cache_headers(found.state))
