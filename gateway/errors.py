"""The gateway's single error hierarchy.

Every failure a caller can see is one of these; ``gateway.web.errors`` maps them to
HTTP responses at one boundary (FHIR ``OperationOutcome`` under ``/fhir``, a JSON
problem ``{"error": {"code", "message", "details"}}`` elsewhere)::

    GatewayError                      500  internal (never raised on purpose)
    ├── InvalidInput                  400  malformed parameter or body
    │   └── UnsupportedOperation      422  well-formed but not supported here
    │       └── ExpansionTooCostly         an expansion larger than the configured limit
    ├── NotFound                      404  semantic negative (cacheable, short TTL)
    │   ├── UnknownCodeSystem
    │   ├── UnknownValueSet
    │   ├── UnknownConceptMap
    │   ├── UnknownCode
    │   ├── UnknownPractitioner
    │   └── UnknownCommune (gateway.geo.communes)
    ├── Unauthorized                  401  no or unknown API key
    ├── Forbidden                     403  the key's role may not use this route
    ├── RateLimited                   429  the key's request rate is exceeded (Retry-After)
    ├── MappingsRejected              422  a steward table failed validation on reload
    ├── LocationsRejected             422  a practice-locations file cannot be served
    └── UpstreamError                 502  an upstream failed (never cached)
        ├── UpstreamUnavailable       503  down, timed out, circuit open, rate limited
        └── UpstreamBadResponse       503  HTML instead of FHIR JSON, truncated payload…

Services raise these; they know nothing about HTTP frameworks.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base class; ``code`` is a stable machine-readable identifier."""

    status_code = 500
    code = "internal_error"
    #: FHIR ``OperationOutcome.issue.code`` for this kind of error.
    fhir_issue_code = "exception"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class InvalidInput(GatewayError):
    """A parameter or body the caller sent is malformed; ``parameter`` names it."""

    status_code = 400
    code = "invalid_input"
    fhir_issue_code = "invalid"

    def __init__(
        self, message: str, *, parameter: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        merged = dict(details or {})
        if parameter is not None:
            merged.setdefault("parameter", parameter)
        super().__init__(message, details=merged)
        self.parameter = parameter


class UnsupportedOperation(InvalidInput):
    status_code = 422
    code = "unsupported"
    fhir_issue_code = "not-supported"


class ExpansionTooCostly(UnsupportedOperation):
    """A ``$expand`` would return more codes than the server allows in one answer."""

    code = "too_costly"
    fhir_issue_code = "too-costly"


class NotFound(GatewayError):
    """A semantic negative: the thing asked for does not exist."""

    status_code = 404
    code = "not_found"
    fhir_issue_code = "not-found"


class UnknownCodeSystem(NotFound):
    code = "unknown_code_system"


class UnknownValueSet(NotFound):
    code = "unknown_value_set"


class UnknownConceptMap(NotFound):
    code = "unknown_concept_map"


class UnknownCode(NotFound):
    code = "unknown_code"
    fhir_issue_code = "code-invalid"


class UnknownPractitioner(NotFound):
    code = "unknown_practitioner"


class Unauthorized(GatewayError):
    status_code = 401
    code = "unauthorized"
    fhir_issue_code = "login"


class Forbidden(GatewayError):
    status_code = 403
    code = "forbidden"
    fhir_issue_code = "forbidden"


class RateLimited(GatewayError):
    """``details["retry_after_s"]`` says when to try again."""

    status_code = 429
    code = "rate_limited"
    fhir_issue_code = "throttled"


class MappingsRejected(GatewayError):
    """A reload found invalid steward tables; ``details["problems"]`` lists them (file:line).
    The tables in force stay active."""

    status_code = 422
    code = "mappings_rejected"
    fhir_issue_code = "invalid"


class LocationsRejected(GatewayError):
    """The practice-locations file cannot be served; the index in force stays."""

    status_code = 422
    code = "locations_rejected"
    fhir_issue_code = "invalid"


class UpstreamError(GatewayError):
    """An upstream failed to give a usable answer. Never cached as an answer."""

    status_code = 502
    code = "upstream_error"
    fhir_issue_code = "transient"

    def __init__(
        self, message: str, *, upstream: str, details: dict[str, Any] | None = None
    ) -> None:
        merged = dict(details or {})
        merged.setdefault("upstream", upstream)
        super().__init__(message, details=merged)
        self.upstream = upstream


class UpstreamUnavailable(UpstreamError):
    status_code = 503
    code = "upstream_unavailable"


class UpstreamBadResponse(UpstreamError):
    """Answered, but unusably (HTML, truncated JSON…). Callers see the same 503 as for an
    unavailable upstream (the data is temporarily unavailable; retry later); ``code`` tells
    the two apart."""

    status_code = 503
    code = "upstream_bad_response"
