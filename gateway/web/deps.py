"""Access to the service container from a request, and response helpers."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import msgspec
from litestar import Request, Response

from gateway.cache import CacheState
from gateway.container import Services
from gateway.terminology.indexed import Memo

FHIR_JSON = "application/fhir+json"


def services(request: Request[Any, Any, Any]) -> Services:
    found: Services = request.app.state.services
    return found


def cache_headers(state: CacheState) -> dict[str, str]:
    if state is CacheState.STALE:
        return {"X-Cache": state.value, "Warning": '110 sas-gateway "Response is stale"'}
    return {"X-Cache": state.value}


def fhir_response(body: Any, state: CacheState | None = None, status: int = 200) -> Response[bytes]:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    headers = cache_headers(state) if state is not None else None
    return Response(content=content, media_type=FHIR_JSON, status_code=status, headers=headers)


def encoded(memo: Memo, key: Hashable, build: Callable[[], Any]) -> bytes:
    """The JSON encoding of ``build()``, memoised on the resource it derives from."""
    found = memo.get(key)
    if isinstance(found, bytes):
        return found
    body = msgspec.json.encode(build())
    memo[key] = body
    return body
