"""ASGI middleware: request id, access log line, request metrics.

Pure ASGI (no per-request Request object) to keep the hot path cheap. The access log
records the route *template* and status, never the query string or path values.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from gateway.observability.logging import REQUEST_ID, AccessLog
from gateway.observability.metrics import Metrics

_REQUEST_ID_HEADER = b"x-request-id"
# Unique per process and cheap: a random prefix and a counter (uuid4 costs a syscall).
_PREFIX = secrets.token_hex(8)
_counter = itertools.count(1)


def _new_request_id() -> str:
    return f"{_PREFIX}{next(_counter):016x}"


def _valid(request_id: str) -> bool:
    return (
        0 < len(request_id) <= 64 and request_id.isascii() and request_id.replace("-", "").isalnum()
    )


class ObservabilityMiddleware:
    def __init__(self, app: Any, metrics: Metrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = AccessLog() if access_log else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_HEADER:
                request_id = value.decode("latin-1")
                break
        if not _valid(request_id):
            request_id = _new_request_id()
        started = time.perf_counter()
        status = 500
        header = (_REQUEST_ID_HEADER, request_id.encode())

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            self.metrics.observe(scope["method"], route, status, elapsed)
            if self.access_log is not None:
                self.access_log.write(scope["method"], route, status, elapsed, request_id)
            REQUEST_ID.reset(token)
