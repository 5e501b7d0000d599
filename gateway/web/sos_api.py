"""``GET /v1/sos``: SOS Médecins consultation sites near the patient, with their free slots
(thin controller over :class:`gateway.search.sos.SosService`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.search.availability_table import SlotFilter, mode_bits
from gateway.search.filters import consultation_modes, slot_window
from gateway.search.sos import SiteCard, SosQuery, SosService
from gateway.web.error_docs import json_errors
from gateway.web.search_api import SlotOut, slot_out
from gateway.web.slot_params import ConsultationParam, SlotBoundParam

_NO_STORE = {"Cache-Control": "no-store"}


class AssociationOut(msgspec.Struct):
    #: IDNST: "3" + SIRET.
    identifier: str
    name: str | None


class SosSiteOut(msgspec.Struct):
    #: ``<association>/<site>``: the site's identifier within its association.
    id: str
    #: The consultation site's name, e.g. "Centre de consultation Rennes Nord".
    name: str | None
    phone: str | None
    association: AssociationOut
    #: The agenda source (``mappings/agenda_sources.csv``) its slots are read from.
    source: str
    address: str | None
    postcode: str | None
    city: str | None
    insee: str | None
    lat: float
    lon: float
    #: address: the source gave the site's position; city: placed at its commune's point.
    precision: str
    distance_km: float
    sas_participant: bool
    #: live, stale (last good slots of a failing source), unknown (no recent answer: not
    #: "no slot"), none (not read).
    availability: str
    first_slot: datetime | None
    #: The next slots of this site (at most 3) matching the filters.
    slots: list[SlotOut]


class SosResponse(msgspec.Struct):
    sites: list[SosSiteOut]
    radius_km: float
    #: True when no site was inside the département's default radius, which was enlarged.
    enlarged: bool
    total: int
    departement: str | None


def _site(card: SiteCard) -> SosSiteOut:
    placed, site = card.placed, card.placed.site
    place = site.place
    return SosSiteOut(
        id=f"{site.association}/{site.key}",
        name=site.name,
        phone=site.phone,
        association=AssociationOut(site.association, site.association_name),
        source=placed.source,
        address=place.line or None if place else None,
        postcode=place.postcode or None if place else None,
        city=place.city or None if place else None,
        insee=placed.insee,
        lat=placed.lat,
        lon=placed.lon,
        precision=placed.precision,
        distance_km=card.distance_km,
        sas_participant=placed.participant,
        availability=card.availability,
        first_slot=datetime.fromtimestamp(card.slots[0].start, UTC) if card.slots else None,
        slots=[slot_out(s) for s in card.slots],
    )


class SosController(Controller):
    path = "/v1/sos"
    tags = ["Search"]
    opt = {ACCESS: SEARCH}

    @get(
        "/",
        summary="SOS Médecins consultation sites near the patient, with their free slots",
        description=(
            "The sites the SOS agenda sources have shown, of the subscribed associations, "
            "within the radius (requested, else the département's default, enlarged once "
            "when no site is inside) of the point (`lat`, `lon`) or of the commune (`insee`): "
            "by distance, then sites with slots first (SAS participants first)."
        ),
        responses=json_errors(400, 404),
    )
    async def sos(
        self,
        sos: NamedDependency[SosService],
        lat: Annotated[float | None, QueryParameter(required=False, ge=-90.0, le=90.0)] = None,
        lon: Annotated[float | None, QueryParameter(required=False, ge=-180.0, le=180.0)] = None,
        insee: Annotated[
            str | None,
            QueryParameter(
                required=False, max_length=16, description="the patient's commune (INSEE code)"
            ),
        ] = None,
        radius_km: Annotated[float | None, QueryParameter(required=False, gt=0.0, le=200.0)] = None,
        consultation: ConsultationParam = None,
        slots_from: SlotBoundParam = None,
        slots_to: SlotBoundParam = None,
    ) -> Response[SosResponse]:
        window = slot_window(slots_from, slots_to)
        modes = mode_bits(consultation_modes(consultation))
        found = sos.search(
            SosQuery(lat, lon, insee, radius_km, SlotFilter(modes, window[0], window[1]))
        )
        body = SosResponse(
            sites=[_site(c) for c in found.sites],
            radius_km=found.radius_km,
            enlarged=found.enlarged,
            total=len(found.sites),
            departement=found.departement,
        )
        return Response(body, headers=_NO_STORE)
