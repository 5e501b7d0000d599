"""``GET /v1/cpts?insee=…``: the CPTS whose intervention zone covers a commune.

Thin controller over the current ``CptsIndex`` (the ``cpts`` holder, by dependency injection).
A malformed INSEE code is a 400 naming ``insee``; a commune no CPTS covers answers
``{"cpts": []}``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.component import Live
from gateway.directory.cpts import CptsIndex, CptsMatch
from gateway.directory.identifiers import is_finess
from gateway.errors import InvalidInput, NotFound
from gateway.geo.insee import parse_insee
from gateway.web.error_docs import json_errors


class CptsCard(msgspec.Struct):
    finess: str | None
    name: str
    phone: str | None
    #: Level at which the zone matched: commune, territoire, departement or region.
    zone_level: str
    members_url: str | None


class CptsResult(msgspec.Struct):
    cpts: list[CptsCard]


class ZoneOut(msgspec.Struct):
    level: str
    code: str


class CptsZone(msgspec.Struct):
    finess: str
    name: str
    #: As the ROR declares it (commune, territoire, departement, region and a code).
    zones: list[ZoneOut]
    #: Every commune of the zone (INSEE codes), expanded with the commune reference.
    communes: list[str]


def members_url(finess: str | None) -> str | None:
    """Where the front end lists the CPTS's SAS members (``/v1/cpts/{finess}/members``)."""
    return f"/v1/cpts/{finess}/members" if finess else None


def cpts_card(match: CptsMatch) -> CptsCard:
    return CptsCard(
        finess=match.cpts.finess,
        name=match.cpts.name,
        phone=match.cpts.phone,
        zone_level=match.zone_level.value,
        members_url=members_url(match.cpts.finess),
    )


class CptsController(Controller):
    path = "/v1/cpts"
    tags = ["Directory"]
    opt = {ACCESS: SEARCH}

    @get(
        "/",
        summary="CPTS covering a commune",
        description="CPTS whose ROR intervention zone contains the commune, most specific "
        "zone level first (commune, territoire de santé, département, région).",
        responses=json_errors(400, 404, 503),
    )
    async def covering(
        self,
        cpts: NamedDependency[Live[CptsIndex]],
        insee: Annotated[
            str,
            QueryParameter(
                min_length=1, max_length=16, description="INSEE commune code, e.g. 92036"
            ),
        ],
    ) -> CptsResult:
        code = parse_insee(insee)
        return CptsResult([cpts_card(match) for match in cpts.current.covering(code)])

    @get(
        "/{finess:str}/zone",
        summary="The communes of a CPTS's intervention zone",
        description="The zone as the ROR declares it and every commune it covers (INSEE "
        "codes; a département- or région-level zone expanded with the commune reference).",
        responses=json_errors(400, 404, 503),
    )
    async def zone(
        self,
        cpts: NamedDependency[Live[CptsIndex]],
        finess: Annotated[str, Parameter(max_length=20, description="the CPTS FINESS")],
    ) -> CptsZone:
        finess = finess.upper()  # Corsica: 2A…, 2B…
        if not is_finess(finess):
            raise InvalidInput(
                "finess must be 9 characters: digits, or 2A/2B then 7 digits", parameter="finess"
            )
        found = cpts.current.zone(finess)
        if found is None:
            raise NotFound(f"No CPTS with FINESS {finess}")
        item, communes = found
        return CptsZone(
            finess,
            item.name,
            [ZoneOut(z.level.value, z.code) for z in item.zones],
            list(communes),
        )
