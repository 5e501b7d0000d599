"""The one error boundary: every exception becomes an OperationOutcome or a JSON problem.

``/fhir/*`` answers FHIR ``OperationOutcome`` (``application/fhir+json``); every other route
answers ``{"error": {"code", "message", "details"}}``. Litestar's own validation and
routing errors are translated too, so no caller ever sees a 500 for bad input.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from gateway.errors import GatewayError, RateLimited, Unauthorized, UpstreamUnavailable
from gateway.web.schemas import (
    ErrorBody,
    ErrorResponse,
    OperationOutcome,
    OutcomeDetails,
    OutcomeIssue,
)

log = logging.getLogger("gateway.errors")
#: Values quoted in validation messages ("Invalid enum value 'x'"): a free-text field may
#: hold patient data by mistake, so answers never echo it.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_MISSING = re.compile(r"Missing required \w+ parameter '([^']+)'")
FHIR_JSON = "application/fhir+json"
_HTTP_CODES = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
_HTTP_ISSUES = {
    400: "invalid",
    404: "not-found",
    405: "not-supported",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    401: "login",
    403: "forbidden",
}


def _is_fhir(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/fhir")


def render_error(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    fhir_issue: str,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    if _is_fhir(request):
        parameter = details.get("parameter")
        issue = OutcomeIssue(
            severity="error",
            code=fhir_issue,
            details=OutcomeDetails(text=message),
            diagnostics=code,
            expression=[str(parameter)] if parameter else None,
        )
        outcome = OperationOutcome(resourceType="OperationOutcome", issue=[issue])
        body, media = msgspec.json.encode(outcome), FHIR_JSON
    else:
        problem = ErrorResponse(ErrorBody(code=code, message=message, details=details))
        body, media = msgspec.json.encode(problem), MediaType.JSON
    return Response(content=body, status_code=status, media_type=media, headers=headers)


def gateway_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, GatewayError)
    headers: dict[str, str] = {}
    if isinstance(exc, UpstreamUnavailable | RateLimited) and "retry_after_s" in exc.details:
        headers["Retry-After"] = str(max(1, math.ceil(float(exc.details["retry_after_s"]))))
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    if exc.status_code >= 500:
        log.warning("request failed", extra={"error": exc.code, "status": exc.status_code})
    return render_error(
        request,
        exc.status_code,
        exc.code,
        exc.message,
        exc.details,
        exc.fhir_issue_code,
        headers or None,
    )


def _redacted(text: str) -> str:
    return _QUOTED.sub("(value not shown)", text)


def validation_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, ValidationException)
    problems = [
        p for p in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(p, dict)
    ]
    keys = [str(p["key"]) for p in problems if p.get("key")]
    reasons = [_redacted(str(p["message"])) for p in problems if p.get("message")]
    missing = _MISSING.search(str(exc.detail))
    if keys:
        message = f"Invalid parameter '{keys[0]}': {reasons[0] if reasons else 'bad value'}"
    elif missing:
        keys = [missing.group(1)]
        message = f"Missing required parameter '{keys[0]}'"
    else:
        message = f"Invalid request: {'; '.join(reasons) or _redacted(str(exc.detail))}"
    details: dict[str, Any] = {"parameter": keys[0]} if keys else {}
    if len(keys) > 1:
        details["parameters"] = keys
    return render_error(request, 400, "invalid_input", message, details, "invalid")


def http_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
    headers = {k: v for k, v in (exc.headers or {}).items()} or None
    return render_error(
        request, status, code, str(exc.detail), {}, _HTTP_ISSUES.get(status, "exception"), headers
    )


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return render_error(
        request, 500, "internal_error", "Internal error; see server logs", {}, "exception"
    )


EXCEPTION_HANDLERS = {
    GatewayError: gateway_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
