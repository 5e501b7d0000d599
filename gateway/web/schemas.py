"""msgspec Structs of the JSON API (``/v1``): the response contract of DESIGN §4."""

from __future__ import annotations

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
    code: str
    message: str
    details: dict[str, object]


class ErrorResponse(msgspec.Struct):
    error: ErrorBody
