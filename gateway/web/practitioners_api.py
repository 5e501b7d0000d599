"""Practitioner cards (``/v1/practitioners``) for the search front end."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import PathParameter, QueryParameter

from gateway.directory.cards import PractitionerCard
from gateway.directory.identifiers import parse_practitioner_id
from gateway.web.deps import cache_headers, services
from gateway.web.error_docs import json_errors


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

    @get(
        "/{idnps:str}",
        summary="Practitioner card by IDNPS (or RPPS)",
        responses=json_errors(400, 404, 503),
    )
    async def card(
        self,
        request: Request[Any, Any, Any],
        idnps: Annotated[str, PathParameter(max_length=80, description="IDNPS, token or RPPS")],
    ) -> Response[PractitionerCard]:
        pid = parse_practitioner_id(idnps, parameter="idnps")
        card, state = await services(request).practitioners.card(pid)
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
        request: Request[Any, Any, Any],
        name: Annotated[str, QueryParameter(min_length=2, max_length=120)],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
    ) -> Response[PractitionerCandidates]:
        found = await services(request).practitioners.search(name, limit)
        body = PractitionerCandidates(
            candidates=[
                ScoredCard(**msgspec.structs.asdict(c.card), score=c.score)
                for c in found.candidates
            ],
            identified=found.identified,
            rpps=found.rpps,
        )
        return Response(body, headers=cache_headers(found.state))
