"""msgspec Structs of the JSON API (``/v1``): the response contract of DESIGN §4, and the
error bodies of both families (``gateway.web.errors`` encodes its answers with these, and
``gateway.web.error_docs`` declares them in the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class ResolvedCode(msgspec.Struct):
    system: str
    code: str
    display: str
    status: str
    version: str | None
    nos: str | None
    oid: str | None
    inactive: bool


class ValueSetRef(msgspec.Struct):
    url: str
    version: str | None
    nos: str | None
    name: str | None
    title: str | None


class ValueSetsOfCode(msgspec.Struct):
    system: str
    code: str
    valuesets: list[ValueSetRef]


class TermMatch(msgspec.Struct):
    system: str
    code: str
    display: str
    score: float


class TermSearchResult(msgspec.Struct):
    query: str
    valueset: str | None
    matches: list[TermMatch]


class ErrorBody(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(description="Stable machine-readable identifier")]
    message: str
    details: Annotated[
        dict[str, object],
        msgspec.Meta(description="e.g. ``parameter``: the parameter or body field at fault"),
    ]


class ErrorResponse(msgspec.Struct):
    """Every error outside ``/fhir``."""

    error: ErrorBody


class OutcomeDetails(msgspec.Struct):
    text: str


class OutcomeIssue(msgspec.Struct, omit_defaults=True):
    severity: Literal["error"]
    #: FHIR issue type (``invalid``, ``not-found``, ``transient``…).
    code: str
    details: OutcomeDetails
    #: The gateway's error code (as ``error.code`` outside ``/fhir``).
    diagnostics: str
    #: The parameter at fault, when known.
    expression: list[str] | None = None


class OperationOutcome(msgspec.Struct):
    """Every error under ``/fhir`` (``application/fhir+json``)."""

    resourceType: Literal["OperationOutcome"]  # noqa: N815 (the FHIR field name)
    issue: list[OutcomeIssue]
