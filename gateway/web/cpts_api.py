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
from litestar.params import QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.component import Live
from gateway.directory.cpts import CptsIndex, CptsMatch
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
