"""Response helpers shared by the controllers (cache headers, ready-made FHIR JSON)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import msgspec
from litestar.response.base import ASGIResponse

from gateway.cache import CacheState
from gateway.terminology.indexed import Memo

FHIR_JSON = "application/fhir+json"


def cache_headers(state: CacheState) -> dict[str, str]:
    if state is CacheState.STALE:
        return {"X-Cache": state.value, "Warning": '110 sas-gateway "Response is stale"'}
    return {"X-Cache": state.value}


_CACHE_HEADERS = {state: cache_headers(state) for state in CacheState}


def fhir_response(body: Any, state: CacheState | None = None, status: int = 200) -> ASGIResponse:
    """A ready-to-send FHIR JSON answer (skips litestar's response conversion: hot path)."""
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    headers = _CACHE_HEADERS[state] if state is not None else None
    return ASGIResponse(body=content, headers=headers, media_type=FHIR_JSON, status_code=status)


def encoded(memo: Memo, key: Hashable, build: Callable[[], Any]) -> bytes:
    """The JSON encoding of ``build()``, memoised on the resource it derives from."""
    found = memo.get(key)
    if isinstance(found, bytes):
        return found
    body = msgspec.json.encode(build())
    memo[key] = body
    return body
