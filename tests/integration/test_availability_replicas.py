"""Availability across two gateway processes and a real ``redis-server``: one replica polls
each agenda source (a lease), both serve what it read, and the other takes over when the
poller dies."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.availability.demo_agenda import DemoAgenda
from gateway.settings import DEMO_SNAPSHOT_DIR
from tests.conftest import copy_mappings
from tests.integration.test_replica_convergence import redis, replica_env, wait_until
from tests.processes import RedisServer, start_gateway

__all__ = ["redis"]  # the fixture, imported for this module's tests


class Agenda(BaseHTTPRequestHandler):
    """The demo agenda over real HTTP (the gateways are other processes)."""

    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        # Its own address: the agenda's next links are built on it, and the gateway follows
        # only those on the host it asked.
        request = httpx.Request("GET", f"http://{self.headers['Host']}{self.path}")
        response = asyncio.run(DemoAgenda().handle_async_request(request))
        body = asyncio.run(response.aread())
        self.send_response(response.status_code)
        self.send_header("Content-Type", response.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def agenda_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Agenda)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()


def sources(base: str) -> dict[str, Any]:
    ready = httpx.get(f"{base}/health/ready", timeout=5).json()
    found: dict[str, Any] = ready["availability"]["sources"]
    return found


def test_one_replica_polls_both_serve_and_the_other_takes_over(
    redis: RedisServer, agenda_url: str, tmp_path: Path
) -> None:
    snapshot = Path(shutil.copytree(DEMO_SNAPSHOT_DIR, tmp_path / "snapshot"))
    subscriptions = snapshot / "availability" / "subscriptions.csv"
    lines = subscriptions.read_text(encoding="utf-8").splitlines()
    kept = [line.replace(",demo,", ",shared,") for line in lines[:200]]
    subscriptions.write_text("\n".join(kept) + "\n", encoding="utf-8")
    mappings = copy_mappings(tmp_path / "mappings")
    (mappings / "agenda_sources.csv").write_text(
        f"name,kind,base_url,rate_per_s,window_hours\nshared,psindiv,{agenda_url},200,24\n",
        encoding="utf-8",
    )
    env = replica_env(
        redis, mappings, GATEWAY_SNAPSHOT_DIR=str(snapshot), GATEWAY_AVAILABILITY_INTERVAL="1"
    )
    started = [start_gateway(env) for _ in range(2)]
    try:
        (first, a), (second, b) = started
        wait_until(
            lambda: all(sources(x)["shared"]["status"] == "live" for x in (a, b)),
            "both replicas never served live slots",
        )
        polled = {x: sources(x)["shared"]["polled_here"] for x in (a, b)}
        assert sorted(polled.values()) == [False, True], polled
        assert sources(a)["shared"]["slots"] == sources(b)["shared"]["slots"] > 0
        poller, other = (first, b) if polled[a] else (second, a)
        poller.terminate()
        poller.wait(timeout=20)
        wait_until(lambda: sources(other)["shared"]["polled_here"], "nobody took over")
        calls = Agenda.calls
        time.sleep(2.5)
        assert Agenda.calls > calls  # the survivor reads the source now
        assert sources(other)["shared"]["status"] == "live"
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
