"""A real local HTTP stub of the SMT (sockets, real timeouts), driven by ``StubSmt.mode``."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tests.conftest import searchset
from tests.samples import codesystem

#: The call budget the stub's "slow" mode is twice as long as.
BUDGET_S = 0.8


class StubSmt(BaseHTTPRequestHandler):
    mode: ClassVar[str] = "ok"
    #: Seconds the "delay" mode waits before a good answer.
    delay_s: ClassVar[float] = 1.0
    calls: ClassVar[int] = 0
    protocol_version = "HTTP/1.0"  # one connection per request: stop() really refuses

    def do_GET(self) -> None:
        type(self).calls += 1
        url = parse_qs(urlsplit(self.path).query).get("url", [""])[0]
        body = json.dumps(searchset(codesystem(url, [{"code": "604", "display": "CPTS"}]))).encode()
        mode = type(self).mode
        if mode == "slow":
            time.sleep(BUDGET_S * 2)
        if mode == "delay":
            time.sleep(type(self).delay_s)
        if mode == "reset":
            self.connection.close()  # no answer at all
            return
        if mode == "http_503":
            self._send(503, b'{"resourceType":"OperationOutcome"}', "application/fhir+json")
        elif mode == "too_many_requests":
            self._send(429, b"{}", "application/fhir+json", {"Retry-After": "1"})
        elif mode == "html":
            self._send(200, b"<html><body>Maintenance</body></html>", "text/html")
        elif mode == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.connection.close()
        else:
            self._send(200, body, "application/fhir+json")

    def _send(
        self, status: int, body: bytes, kind: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Stub:
    """The stub server; ``stop()`` then ``start()`` again on the same port: upstream down."""

    def __init__(self) -> None:
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), StubSmt)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"
