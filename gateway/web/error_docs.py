"""The error answers of each operation, for the OpenAPI document.

Every route handler declares the errors it can answer with ``responses=``::

    @get("/{idnps:str}", responses=json_errors(400, 404, 503))     # outside /fhir
    @get("/CodeSystem/$lookup", responses=fhir_errors(400, 404, 503))  # under /fhir

listing the statuses its own code can raise (400 for any parameter or body, 404, 413 for a
body, 422, 503 for an upstream-backed route…). Both add the statuses of the app-wide API
key guard (``gateway.web.auth_guard``: 401, 403, 429), which any route may answer once a
keys file is set (``/health/*``, ``/metrics`` too when ``public_ops`` is off). The body is
the one ``gateway.web.errors`` sends for the family: ``{"error": {...}}`` as
``application/json``, or a FHIR ``OperationOutcome`` as ``application/fhir+json`` under
``/fhir``. ``tests/integration/test_openapi.py`` checks every operation declares them and
the fuzzing test checks the answers match.
"""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from gateway.web.errors import FHIR_JSON
from gateway.web.schemas import ErrorResponse, OperationOutcome

#: Answered by the API key guard on any route.
GUARD_STATUSES = (401, 403, 429)
_DESCRIPTIONS = {
    400: "Invalid parameter or body (details name it)",
    401: "No or unknown API key",
    403: "The API key's role may not use this route",
    404: "Not found",
    413: "Request body too large",
    422: "Well-formed but not supported, or rejected",
    429: "Too many requests for this API key (see Retry-After)",
    503: "An upstream is unavailable or answered unusably; retry later (see Retry-After)",
}


def _responses(
    statuses: tuple[int, ...], container: type[object], media_type: str
) -> dict[int, ResponseSpec]:
    unknown = sorted(set(statuses) - set(_DESCRIPTIONS))
    if unknown:
        raise ValueError(f"no description for error statuses {unknown}")
    return {
        status: ResponseSpec(
            data_container=container,
            description=_DESCRIPTIONS[status],
            media_type=media_type,
            generate_examples=False,
        )
        for status in sorted({*statuses, *GUARD_STATUSES})
    }


def json_errors(*statuses: int) -> dict[int, ResponseSpec]:
    """``statuses`` (and the guard's) answered as ``{"error": {code, message, details}}``."""
    return _responses(statuses, ErrorResponse, "application/json")


def fhir_errors(*statuses: int) -> dict[int, ResponseSpec]:
    """``statuses`` (and the guard's) answered as a FHIR ``OperationOutcome``."""
    return _responses(statuses, OperationOutcome, FHIR_JSON)
