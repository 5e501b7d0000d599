"""Practitioner cards (``/v1/practitioners``) for the search front end."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.directory.cards import PractitionerCard
from gateway.directory.identifiers import parse_practitioner_id
from gateway.directory.practitioners import PractitionerService
from gateway.web.deps import cache_headers
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
    opt = {ACCESS: SEARCH}

    @get(
        "/{idnps:str}",
        summary="Practitioner card by IDNPS (or RPPS)",
        responses=json_errors(400, 404, 503),
    )
    async def card(
        self,
        practitioners: NamedDependency[PractitionerService],
        idnps: Annotated[str, PathParameter(max_length=80, description="IDNPS, token or RPPS")],
    ) -> Response[PractitionerCard]:
        pid = parse_practitioner_id(idnps, parameter="idnps")
        card, state = await practitioners.card(pid)
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
