"""``GET /v1/search``: SAS-ranked practice locations around a point (thin controller over
:class:`gateway.search.service.SearchService`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.availability.slots import OfferedSlot
from gateway.coded import CodeDisplay
from gateway.component import Live
from gateway.directory.cpts import CptsIndex
from gateway.search.engine import LocationType
from gateway.search.filters import consultation_modes, slot_window
from gateway.search.result_cards import ResultCard
from gateway.search.service import SearchRequest, SearchService
from gateway.web.cpts_api import members_url
from gateway.web.error_docs import json_errors
from gateway.web.rank_api import MAX_PAGE_SIZE
from gateway.web.slot_params import ConsultationParam, SlotBoundParam

_NO_STORE = {"Cache-Control": "no-store"}


class CptsOut(msgspec.Struct):
    finess: str | None
    name: str
    phone: str | None
    #: Members of this CPTS found inside the circle (the card stands for all of them).
    members_in_radius: int
    members_url: str | None


class SlotOut(msgspec.Struct):
    start: datetime
    end: datetime
    #: TRE_R314 slot types: PUBLIC, PRO, SNP, CPTS.
    types: list[str]
    #: Consultation modes: AMB (at the practice), HH (home visit), VR (teleconsultation).
    modes: list[str]
    walk_in: bool
    booking_url: str | None


class ParticipationOut(msgspec.Struct):
    #: individual, or cpts (also shows the CPTS slots of its declared site).
    mode: str
    cpts_finess: str | None
    #: Accepts patients beyond their slots (the SAS complementary offer).
    beyond_slots: bool


def slot_out(slot: OfferedSlot) -> SlotOut:
    return SlotOut(
        datetime.fromtimestamp(slot.start, UTC), datetime.fromtimestamp(slot.end, UTC),
        list(slot.types), list(slot.modes), slot.walk_in, slot.booking_url,
    )  # fmt: skip


class SearchCard(msgspec.Struct):
    #: ``<idnps>-<n>`` for a practice location, the CPTS FINESS for a CPTS card.
    id: str
    kind: str
    preferred_doctor: bool
    #: null for a CPTS covering the commune with no member inside the circle.
    distance_km: float | None
    sas_participant: bool
    first_slot: datetime | None
    idnps: str | None
    family: str | None
    given: str | None
    profession: CodeDisplay | None
    specialty: CodeDisplay | None
    insee: str | None
    lat: float | None
    lon: float | None
    cpts: CptsOut | None
    #: live, stale (last good slots of a failing source), unknown (no recent answer: not
    #: "no slot"), none (agenda not read).
    availability: str
    #: The next slots of this location (at most 3) matching the filters.
    slots: list[SlotOut]
    participation: ParticipationOut | None


class SearchResponse(msgspec.Struct):
    results: list[SearchCard]
    radius_km: float
    #: True when the radius was enlarged because too few results were found.
    enlarged: bool
    total: int
    departement: str | None
    #: False: the specialty is not a known code, so only the preferred doctor's cards are
    #: returned; null when no specialty was asked for.
    specialty_known: bool | None


def _card(card: ResultCard) -> SearchCard:
    practitioner = card.kind == "practitioner"
    return SearchCard(
        id=card.id,
        kind=card.kind,
        preferred_doctor=card.preferred_doctor,
        distance_km=card.distance_km,
        sas_participant=card.sas_participant,
        first_slot=card.first_slot,
        idnps=card.idnps if practitioner else None,
        family=card.family if practitioner else None,
        given=card.given if practitioner else None,
        profession=card.profession if practitioner else None,
        specialty=card.specialty if practitioner else None,
        insee=card.insee,
        lat=card.lat,
        lon=card.lon,
        cpts=CptsOut(
            card.cpts.finess,
            card.cpts.name,
            card.cpts.phone,
            card.cpts_members,
            members_url(card.cpts.finess),
        )
        if card.cpts is not None
        else None,
        availability=card.availability,
        slots=[slot_out(s) for s in card.slots],
        participation=ParticipationOut(p.mode, p.cpts_finess, p.beyond_slots)
        if (p := card.participation) is not None
        else None,
    )


class SearchController(Controller):
    path = "/v1/search"
    tags = ["Search"]
    opt = {ACCESS: SEARCH}

    @get(
        "/",
        summary="SAS-ranked practice locations around a point",
        description=(
            "Strict circle (radius requested, else the département's default; enlarged once "
            "when too few results), preferred doctor first, participants first, distance "
            "(address) or seeded random order (city, county, postcode), availability "
            "partition, CPTS card in place of its members when `insee` is given."
        ),
        responses=json_errors(400, 404, 503),
    )
    async def search(
        self,
        search: NamedDependency[SearchService],
        cpts: NamedDependency[Live[CptsIndex]],
        lat: Annotated[float, QueryParameter(ge=-90.0, le=90.0)],
        lon: Annotated[float, QueryParameter(ge=-180.0, le=180.0)],
        radius_km: Annotated[float | None, QueryParameter(required=False, gt=0.0, le=200.0)] = None,
        specialty: Annotated[
            str | None,
            QueryParameter(
                required=False,
                max_length=300,
                description="system|code (urn:oid or URL), or a bare TRE_R38/TRE_G15 code",
            ),
        ] = None,
        preferred_doctor: Annotated[
            str | None, QueryParameter(required=False, max_length=80, description="IDNPS")
        ] = None,
        location_type: Annotated[LocationType, QueryParameter(required=False)] = "address",
        insee: Annotated[
            str | None,
            QueryParameter(required=False, max_length=16, description="searched commune (CPTS)"),
        ] = None,
        seed: Annotated[str, QueryParameter(required=False, max_length=200)] = "",
        page: Annotated[int, QueryParameter(required=False, ge=1, le=10_000)] = 1,
        page_size: Annotated[int, QueryParameter(required=False, ge=1, le=MAX_PAGE_SIZE)] = 20,
        consultation: ConsultationParam = None,
        slots_from: SlotBoundParam = None,
        slots_to: SlotBoundParam = None,
        supplementary: Annotated[
            bool,
            QueryParameter(
                required=False,
                description="the complementary offer: participants accepting patients beyond "
                "their slots",
            ),
        ] = False,
    ) -> Response[SearchResponse]:
        window = slot_window(slots_from, slots_to)
        found = await search.search(
            SearchRequest(
                lat=lat,
                lon=lon,
                location_type=location_type,
                radius_km=radius_km,
                specialty=specialty,
                preferred_doctor=preferred_doctor,
                insee=insee,
                seed=seed,
                page=page,
                page_size=page_size,
                consultation=consultation_modes(consultation),
                slots_from=window[0],
                slots_to=window[1],
                supplementary=supplementary,
            ),
            cpts.current,
        )
        body = SearchResponse(
            results=[_card(c) for c in found.cards],
            radius_km=found.radius_km,
            enlarged=found.enlarged,
            total=found.total,
            departement=found.departement,
            specialty_known=found.specialty_known,
        )
        return Response(body, headers={**_NO_STORE, "X-Locations-Version": found.index_version})
