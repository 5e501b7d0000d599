"""JSON logs through structlog, with the request id of the current request.

Stdlib ``logging`` records (ours and libraries') go through the same JSON renderer. The
per-request access line is written by ``AccessLog`` directly with msgspec (about 5 µs
instead of ~35 µs through the logging machinery; it is on every request's path).
Nothing here ever logs query strings: patient-facing routes carry addresses and names.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec
import structlog

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def _add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    _add_request_id,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_stream: TextIO | None = None


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    global _stream
    _stream = stream or sys.stdout
    renderer = structlog.processors.JSONRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # tracebacks as text, not object reprs
            renderer,
        ],
    )
    handler = logging.StreamHandler(_stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        # Their INFO lines carry full upstream URLs, query strings included.
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class _AccessLine(msgspec.Struct):
    event: str
    request_id: str
    level: str
    logger: str
    timestamp: str
    method: str
    route: str
    status: int
    duration_ms: float


class AccessLog:
    """One JSON line per request, same shape as the structlog lines."""

    _encoder = msgspec.json.Encoder()
    _fallback = logging.getLogger("gateway.access")

    def write(self, method: str, route: str, status: int, seconds: float, request_id: str) -> None:
        duration_ms = round(seconds * 1000, 2)
        if _stream is None:  # logging not configured (library use, tests): plain stdlib
            self._fallback.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
            return
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = _AccessLine(
            "request", request_id, "info", "gateway.access", now, method, route, status, duration_ms
        )
        _stream.write(self._encoder.encode(line).decode() + "\n")
        _stream.flush()
