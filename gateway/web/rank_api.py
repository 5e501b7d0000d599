"""``POST /v1/rank``: the front end sends its candidate cards, the gateway orders them.

A thin adapter over :func:`gateway.search.candidates.rank_page`, which ranks with the search
engine (the rules are listed in :mod:`gateway.search.ranking`): the same seed gives the same
order here as in ``GET /v1/search``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, post
from litestar.params import JSONBody

from gateway.auth.policy import ACCESS, SEARCH
from gateway.directory.identifiers import IDNPS_REGEX
from gateway.errors import InvalidInput
from gateway.geo.insee import INSEE_REGEX
from gateway.search.candidates import Candidate, CardKind, RankQuery, rank_page
from gateway.search.engine import LocationType
from gateway.web.error_docs import json_errors

MAX_CANDIDATES = 10_000
MAX_PAGE_SIZE = 100

Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Idnps = Annotated[str, msgspec.Meta(pattern=IDNPS_REGEX, description="8 + 11-digit RPPS")]


class Center(msgspec.Struct, forbid_unknown_fields=True):
    lat: Latitude
    lon: Longitude


class RankCandidate(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    idnps: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    sas_participant: bool = False
    first_slot: AwareDatetime | None = None
    cpts_finess: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None


class RankRequest(msgspec.Struct, forbid_unknown_fields=True):
    center: Center
    location_type: LocationType
    radius_km: Annotated[float, msgspec.Meta(gt=0.0, le=200.0)]
    seed: Annotated[str, msgspec.Meta(max_length=200)]
    candidates: Annotated[list[RankCandidate], msgspec.Meta(max_length=MAX_CANDIDATES)]
    insee: Annotated[str, msgspec.Meta(pattern=INSEE_REGEX)] | None = None
    preferred_doctor: Idnps | None = None
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    page_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)] = 20


class RankResult(msgspec.Struct):
    id: str
    kind: CardKind
    preferred_doctor: bool
    distance_km: float | None
    sas_participant: bool
    first_slot: datetime | None


class RankResponse(msgspec.Struct):
    results: list[RankResult]
    radius_km: float
    #: The radius is never enlarged by ``/v1/rank``; the caller chooses it.
    enlarged: bool
    #: Eligible results (after CPTS grouping) before pagination.
    total: int


def _to_candidate(index: int, c: RankCandidate) -> Candidate:
    if (c.lat is None) != (c.lon is None):
        missing = "lon" if c.lon is None else "lat"
        raise InvalidInput(
            f"Invalid parameter 'candidates[{index}].{missing}': lat and lon go together",
            parameter=f"candidates[{index}].{missing}",
        )
    return Candidate(
        id=c.id,
        idnps=c.idnps,
        lat=c.lat,
        lon=c.lon,
        sas_participant=c.sas_participant,
        first_slot=c.first_slot,
        cpts_finess=c.cpts_finess,
    )


class RankController(Controller):
    path = "/v1/rank"
    tags = ["Search"]
    opt = {ACCESS: SEARCH}

    @post(
        "/",
        status_code=200,
        summary="Order caller-supplied candidate cards by the SAS rules",
        responses=json_errors(400, 413),
    )
    async def rank_cards(self, data: JSONBody[RankRequest]) -> Response[RankResponse]:
        query = RankQuery(
            center_lat=data.center.lat,
            center_lon=data.center.lon,
            location_type=data.location_type,
            radius_km=data.radius_km,
            seed=data.seed,
            insee=data.insee,
            preferred_doctor=data.preferred_doctor,
        )
        candidates = [_to_candidate(i, c) for i, c in enumerate(data.candidates)]
        ranked = rank_page(query, candidates, page=data.page, page_size=data.page_size)
        results = [
            RankResult(
                id=card.id,
                kind=card.kind,
                preferred_doctor=card.preferred_doctor,
                distance_km=None if card.distance_km is None else round(card.distance_km, 2),
                sas_participant=card.sas_participant,
                first_slot=card.first_slot,
            )
            for card in ranked.cards
        ]
        body = RankResponse(
            results=results, radius_km=data.radius_km, enlarged=False, total=ranked.total
        )
        # Distances from the patient's point: never stored by a cache on the way.
        return Response(body, headers={"Cache-Control": "no-store"})
