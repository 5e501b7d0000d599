"""JSON terminology API (``/v1/terminology``) for the SAS front end."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.errors import InvalidInput
from gateway.terminology.canonical import nos_name
from gateway.terminology.service import TerminologyService, parse_coding
from gateway.web.deps import cache_headers
from gateway.web.error_docs import json_errors
from gateway.web.schemas import (
    ResolvedCode,
    TermMatch,
    TermSearchResult,
    ValueSetRef,
    ValueSetsOfCode,
)

CodingParam = Annotated[
    str | None,
    QueryParameter(
        required=False,
        max_length=1300,
        description="system|code, e.g. urn:oid:1.2.250.1.213.2.28|SM54",
    ),
]
SystemParam = Annotated[str | None, QueryParameter(required=False, max_length=1024)]
CodeParam = Annotated[str | None, QueryParameter(required=False, max_length=256)]


def _system_and_code(coding: str | None, system: str | None, code: str | None) -> tuple[str, str]:
    """``coding=system|code``, else ``system`` and ``code``; 400 naming what is missing."""
    if coding:
        system, code = parse_coding(coding)
    if not system:
        raise InvalidInput(
            "Give 'coding=system|code' or both 'system' and 'code'", parameter="system"
        )
    if not code:
        raise InvalidInput("Parameter 'code' is required", parameter="code")
    return system, code


class TerminologyController(Controller):
    path = "/v1/terminology"
    tags = ["Terminology (JSON)"]
    opt = {ACCESS: SEARCH}

    @get(
        "/resolve",
        summary="Resolve a NOS coding to its label and status",
        responses=json_errors(400, 404, 503),
    )
    async def resolve(
        self,
        terminology: NamedDependency[TerminologyService],
        coding: CodingParam = None,
        system: SystemParam = None,
        code: CodeParam = None,
        version: Annotated[str | None, QueryParameter(required=False, max_length=128)] = None,
    ) -> Response[ResolvedCode]:
        system, code = _system_and_code(coding, system, code)
        found = await terminology.lookup(system, code, version)
        cs, concept, state = found.value.codesystem, found.value.concept, found.state
        body = ResolvedCode(
            system=cs.url,
            code=concept.code,
            display=concept.display,
            status=concept.status,
            version=cs.version,
            nos=cs.nos,
            oid=cs.oids[0] if cs.oids else None,
            inactive=concept.inactive,
        )
        return Response(body, headers=cache_headers(state))

    @get(
        "/valuesets",
        summary="The value sets containing a code",
        description="Every value set held (latest version of each; the snapshot's, and those "
        "fetched from the SMT) whose expansion contains the code.",
        responses=json_errors(400, 503),
    )
    async def valuesets(
        self,
        terminology: NamedDependency[TerminologyService],
        coding: CodingParam = None,
        system: SystemParam = None,
        code: CodeParam = None,
    ) -> Response[ValueSetsOfCode]:
        system, code = _system_and_code(coding, system, code)
        found = await terminology.valuesets_containing(system, code)
        refs = [
            ValueSetRef(vs.url, vs.version, nos_name(vs.url), vs.resource.name, vs.resource.title)
            for vs in found.value
        ]
        return Response(ValueSetsOfCode(system, code, refs), headers=cache_headers(found.state))

    @get(
        "/search",
        summary="Fuzzy French label search, optionally within a value set",
        responses=json_errors(400, 404, 422, 503),
    )
    async def search(
        self,
        terminology: NamedDependency[TerminologyService],
        q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
        valueset: Annotated[
            str | None,
            QueryParameter(
                required=False,
                max_length=1024,
                description="Canonical URL, OID or JDV name (JDV_J239)",
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 10,
        include_inactive: Annotated[bool, QueryParameter(name="include_inactive")] = False,
    ) -> Response[TermSearchResult]:
        result = await terminology.search(
            q, valueset=valueset, limit=limit, include_inactive=include_inactive
        )
        matches = [TermMatch(m.system, m.code, m.display, m.score) for m in result.value]
        return Response(TermSearchResult(q, valueset, matches), headers=cache_headers(result.state))
