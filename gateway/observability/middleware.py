"""ASGI middleware: request id, access log line, request metrics.

Pure ASGI (no per-request Request object) to keep the hot path cheap. The access log
records the route *template* and status, never the query string or path values.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import structlog

from gateway.observability.metrics import Metrics

_access = logging.getLogger("gateway.access")
_REQUEST_ID = b"x-request-id"


class ObservabilityMiddleware:
    def __init__(self, app: Any, metrics: Metrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                request_id = value.decode("latin-1")[:64]
                break
        if not request_id or not request_id.replace("-", "").isalnum():
            request_id = uuid.uuid4().hex
        started = time.perf_counter()
        status = 500
        rid = request_id.encode()

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (_REQUEST_ID, rid)]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            self.metrics.observe(scope["method"], route, status, elapsed)
            if self.access_log:
                _access.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            structlog.contextvars.unbind_contextvars("request_id")
