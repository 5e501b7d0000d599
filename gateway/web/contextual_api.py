"""Contextual search (flow INT_L01): ``GET /v1/contextual-search/resolve`` for the SAS front
end and ``POST /v1/contextual-search/links`` for LRM editors.

Thin controllers over :mod:`gateway.search.contextual` and :mod:`gateway.search.links`.
Answers carry ``Cache-Control: no-store``: they hold a patient's address.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from gateway.auth.policy import ACCESS, LINKS, RESOLVE
from gateway.component import Live
from gateway.directory.cards import PractitionerCard
from gateway.directory.cpts import CptsIndex
from gateway.search.contextual import ContextualSearch, Resolution
from gateway.search.launch import LaunchParams
from gateway.search.links import LinkBuilder
from gateway.web.cpts_api import CptsCard, cpts_card
from gateway.web.error_docs import json_errors

_NO_STORE = {"Cache-Control": "no-store"}
_Text = Annotated[str | None, QueryParameter(required=False, max_length=300)]


class OriginOut(msgspec.Struct):
    code: str | None
    valid: bool
    label: str | None
    test: bool


class CodingOut(msgspec.Struct):
    system: str
    code: str
    display: str


class SpecialtyOut(msgspec.Struct):
    label: str
    coding: CodingOut | None
    #: default, coding or text.
    source: str
    #: False when no specialty results can be searched (unknown or malformed code).
    searchable: bool
    #: For free text: synonym (stewards' table) or fuzzy (close SAS specialty label).
    match: str | None


class PreferredDoctorOut(msgspec.Struct):
    #: found, sas_pf_001 (could not be identified) or sas_pf_002 (not provided).
    status: str
    message: str | None
    #: idnps or name, when found.
    matched_by: str | None
    #: The practitioner card with every practice location, when found.
    card: PractitionerCard | None


class LocationOut(msgspec.Struct):
    lat: float
    lon: float
    insee: str | None
    city: str | None
    departement: str | None
    type: str
    search_type: str
    source: str
    default_radius_km: float | None
    enlargement_km: float | None


class ProblemOut(msgspec.Struct):
    code: str
    parameter: str | None
    message: str


class ContextResponse(msgspec.Struct):
    origin: OriginOut
    specialty: SpecialtyOut | None
    preferred_doctor: PreferredDoctorOut | None
    location: LocationOut | None
    cpts: list[CptsCard]
    errors: list[ProblemOut]
    #: What the SAS does differently from what was asked (e.g. ``default_specialty``).
    warnings: list[ProblemOut]


class LinkRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: INT_L01 parameter → value, as the LRM would send them (unknown names are diagnosed).
    parameters: Annotated[
        dict[str, Annotated[str, msgspec.Meta(max_length=300)]], msgspec.Meta(max_length=30)
    ]


class DiagnosticOut(msgspec.Struct):
    parameter: str
    #: ok, normalised, ignored, warning or error.
    status: str
    message: str


class LinkResponse(msgspec.Struct):
    url: str
    valid: bool
    parameters: dict[str, str]
    diagnostics: list[DiagnosticOut]


def _body(found: Resolution) -> ContextResponse:
    specialty = found.specialty
    doctor = found.preferred_doctor
    loc = found.location
    return ContextResponse(
        origin=OriginOut(
            found.origin.code, found.origin.valid, found.origin.label, found.origin.test
        ),
        specialty=None
        if specialty is None
        else SpecialtyOut(
            specialty.label,
            CodingOut(*specialty.coding) if specialty.coding else None,
            specialty.source,
            specialty.searchable,
            specialty.match,
        ),
        preferred_doctor=None
        if doctor is None
        else PreferredDoctorOut(doctor.status, doctor.message, doctor.matched_by, doctor.card),
        location=None
        if loc is None
        else LocationOut(
            loc.lat,
            loc.lon,
            loc.insee,
            loc.city,
            loc.departement,
            loc.type,
            loc.search_type,
            loc.source,
            loc.default_radius_km,
            loc.enlargement_km,
        ),
        cpts=[cpts_card(match) for match in found.cpts],
        errors=[ProblemOut(p.code, p.parameter, p.message) for p in found.errors],
        warnings=[ProblemOut(p.code, p.parameter, p.message) for p in found.warnings],
    )


class ContextualSearchController(Controller):
    path = "/v1/contextual-search"
    tags = ["Search"]
    opt = {ACCESS: RESOLVE}

    @get(
        "/resolve",
        summary="Resolve an INT_L01 launch (origin, médecin traitant, specialty, address)",
        description=(
            "Takes the INT_L01 parameters verbatim. An unknown or inactive `origin` refuses "
            "the flow (`origin.valid: false`, nothing else resolved). Problems with one "
            "parameter are listed in `errors` without failing the others."
        ),
        responses=json_errors(400, 503),
    )
    async def resolve(
        self,
        contextual: NamedDependency[ContextualSearch],
        cpts: NamedDependency[Live[CptsIndex]],
        origin: _Text = None,
        practitioner: _Text = None,
        specialty: _Text = None,
        streetnumber: _Text = None,
        streetname: _Text = None,
        city: _Text = None,
        inseecode: _Text = None,
    ) -> Response[ContextResponse]:
        params = LaunchParams(
            origin, practitioner, specialty, streetnumber, streetname, city, inseecode
        )
        found = await contextual.resolve(params, cpts.current)
        return Response(_body(found), headers=_NO_STORE)

    @post(
        "/links",
        opt={ACCESS: LINKS},
        status_code=200,
        summary="Build the canonical INT_L01 launch URL, with a diagnostic per parameter",
        responses=json_errors(400, 413, 503),
    )
    async def links(
        self,
        links: NamedDependency[LinkBuilder],
        cpts: NamedDependency[Live[CptsIndex]],
        data: JSONBody[LinkRequest],
    ) -> Response[LinkResponse]:
        link = await links.build(data.parameters, cpts.current)
        body = LinkResponse(
            url=link.url,
            valid=link.valid,
            parameters=link.parameters,
            diagnostics=[DiagnosticOut(d.parameter, d.status, d.message) for d in link.diagnostics],
        )
        return Response(body, headers=_NO_STORE)
