"""``GET /v1/cpts?insee=…``: the CPTS whose intervention zone covers a commune.

Thin controller over the ``CptsIndex`` kept in the application state (``app.state.cpts``).
A malformed INSEE code is a 400 naming ``insee``; a commune no CPTS covers answers
``{"cpts": []}``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import QueryParameter

from gateway.directory.cpts import CptsIndex, CptsMatch, parse_insee
from gateway.errors import UpstreamUnavailable
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


def cpts_card(match: CptsMatch) -> CptsCard:
    return CptsCard(
        finess=match.cpts.finess,
        name=match.cpts.name,
        phone=match.cpts.phone,
        zone_level=match.zone_level.value,
        members_url=match.cpts.members_url,
    )


def cpts_index(request: Request[Any, Any, Any]) -> CptsIndex:
    index = getattr(request.app.state, "cpts", None)
    if not isinstance(index, CptsIndex):
        raise UpstreamUnavailable("The CPTS directory is not loaded", upstream="ror")
    return index


class CptsController(Controller):
    path = "/v1/cpts"
    tags = ["Directory"]

    @get(
        "/",
        summary="CPTS covering a commune",
        description="CPTS whose ROR intervention zone contains the commune, most specific "
        "zone level first (commune, territoire de santé, département, région).",
        responses=json_errors(400, 404, 503),
    )
    async def covering(
        self,
        request: Request[Any, Any, Any],
        insee: Annotated[
            str,
            QueryParameter(
                min_length=1, max_length=16, description="INSEE commune code, e.g. 92036"
            ),
        ],
    ) -> CptsResult:
        code = parse_insee(insee)
        return CptsResult([cpts_card(match) for match in cpts_index(request).covering(code)])
