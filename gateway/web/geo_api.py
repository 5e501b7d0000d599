"""JSON geocoding API (``GET /v1/geocode``): a thin controller over ``GeoService``.

The service comes by dependency injection (``geo``). Answers carry ``Cache-Control: no-store``: the
query is a patient's address. Errors are raised from ``gateway.errors`` and rendered by
the app-wide boundary (``gateway.web.errors``).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.geo.service import GeoService
from gateway.web.error_docs import json_errors

_NO_STORE = {"Cache-Control": "no-store"}


class GeocodeResponse(msgspec.Struct):
    lat: float
    lon: float
    #: INSEE code of the commune (arrondissement code in Paris, Lyon, Marseille).
    insee: str | None
    city: str | None
    #: address, street, city or county.
    type: str
    #: 0-1 confidence.
    score: float
    #: "geocoder" (BAN/Géoplateforme) or "communes" (commune reference: offline fallback).
    source: str


class GeoController(Controller):
    path = "/v1/geocode"
    tags = ["Geography"]
    opt = {ACCESS: SEARCH}

    @get(
        "/",
        summary="Geocode a free-text address or an INT_L01 address (inseecode wins over city)",
        description=(
            "Give `q`, or `inseecode` (or `city`) with optional `streetname` and "
            "`streetnumber` (digits only are kept). Falls back to the commune's point "
            "(`source: communes`) when the geocoder is offline, failing or finds nothing."
        ),
        responses=json_errors(400, 404, 503),
    )
    async def geocode(
        self,
        geo: NamedDependency[GeoService],
        q: Annotated[
            str | None,
            QueryParameter(required=False, max_length=200, description="Free-text address"),
        ] = None,
        inseecode: Annotated[
            str | None,
            QueryParameter(
                required=False, max_length=16, description="INSEE commune code, e.g. 92036"
            ),
        ] = None,
        streetnumber: Annotated[str | None, QueryParameter(required=False, max_length=32)] = None,
        streetname: Annotated[str | None, QueryParameter(required=False, max_length=200)] = None,
        city: Annotated[str | None, QueryParameter(required=False, max_length=200)] = None,
    ) -> Response[GeocodeResponse]:
        result = await geo.geocode(
            q=q,
            inseecode=inseecode,
            streetnumber=streetnumber,
            streetname=streetname,
            city=city,
        )
        body = GeocodeResponse(
            lat=result.lat,
            lon=result.lon,
            insee=result.insee,
            city=result.city,
            type=result.type,
            score=result.score,
            source=result.source,
        )
        return Response(body, headers=_NO_STORE)
