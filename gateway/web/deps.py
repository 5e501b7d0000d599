"""Access to the service container from a request, and response helpers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

from gateway.cache import CacheState
from gateway.container import Services

FHIR_JSON = "application/fhir+json"


def services(request: Request[Any, Any, Any]) -> Services:
    found: Services = request.app.state.services
    return found


def fhir_response(body: Any, state: CacheState | None = None, status: int = 200) -> Response[bytes]:
    headers = cache_headers(state) if state is not None else None
    return Response(
        content=msgspec.json.encode(body), media_type=FHIR_JSON, status_code=status, headers=headers
    )


def cache_headers(state: CacheState) -> dict[str, str]:
    if state is CacheState.STALE:
        return {"X-Cache": state.value, "Warning": '110 sas-gateway "Response is stale"'}
    return {"X-Cache": state.value}
