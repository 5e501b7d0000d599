"""Two gateway processes sharing a real ``redis-server``: cache sharing and pub/sub events.

``redis-server`` comes from Debian: the fixture installs it with apt-get when missing and
it can (root), otherwise the test is skipped with the reason. The Annuaire is a real local
HTTP stub counting its calls, since the gateways are separate processes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import DEMO_SNAPSHOT_DIR
from tests.conftest import copy_mappings
from tests.processes import gateways, redis_or_skip

MARTIN = "819990000002"
BUNDLE = DEMO_SNAPSHOT_DIR / "directory" / "Bundle-demo-practitioners.json"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = redis_or_skip()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


class Annuaire(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        bundle: dict[str, Any] = json.loads(BUNDLE.read_text(encoding="utf-8"))
        bundle["type"] = "searchset"
        keep = {"demo-org-paris8", "demo-org-gennevilliers", "demo-mg-1"}
        keep |= {"demo-mg-1-role-0", "demo-mg-1-role-1"}
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] in keep]
        body = json.dumps(bundle).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def annuaire_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Annuaire)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir/v2"
    finally:
        server.shutdown()


@pytest.fixture
def replicas(redis_url: str, annuaire_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    mappings = copy_mappings(tmp_path / "mappings")
    env = {
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_REDIS_PREFIX": f"test{time.monotonic_ns()}",
        "GATEWAY_ANNUAIRE_URL": annuaire_url,
        "GATEWAY_ANNUAIRE_API_KEY": "k",
        "GATEWAY_SMT_URL": "",
        "GATEWAY_GEOCODER_URL": "",
        "GATEWAY_ROR_URL": "",
        "GATEWAY_MAPPINGS_DIR": str(mappings),
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_API_KEYS_FILE": "",
    }
    with gateways(env) as (a, b):
        yield a, b, mappings


def mappings_version(base: str) -> str:
    version: str = httpx.get(f"{base}/health/ready", timeout=5).json()["mappings"]["version"]
    return version


def test_a_value_fetched_by_one_replica_is_served_by_the_other(
    replicas: tuple[str, str, Path],
) -> None:
    a, b, _ = replicas
    before = Annuaire.calls
    first = httpx.get(f"{a}/v1/practitioners/{MARTIN}", timeout=10)
    assert first.status_code == 200, first.text
    assert Annuaire.calls == before + 1
    second = httpx.get(f"{b}/v1/practitioners/{MARTIN}", timeout=10)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Annuaire.calls == before + 1  # B answered from the shared tier
    # A purge on A empties the shared tier and B's own cache: B asks the Annuaire again.
    assert httpx.post(f"{a}/admin/cache/purge", timeout=10).status_code == 200
    time.sleep(0.5)
    assert httpx.get(f"{b}/v1/practitioners/{MARTIN}", timeout=10).status_code == 200
    assert Annuaire.calls == before + 2


def test_a_mappings_reload_on_one_replica_is_seen_by_the_other(
    replicas: tuple[str, str, Path],
) -> None:
    a, b, mappings = replicas
    old = mappings_version(b)
    with (mappings / "lrm_authorities.csv").open("a", encoding="utf-8") as handle:
        handle.write("SAMU-92-SCALE,SAMU 92,92,yes,no\n")
    reloaded = httpx.post(f"{a}/admin/mappings/reload", timeout=10)
    assert reloaded.status_code == 200, reloaded.text
    new = reloaded.json()["version"]
    assert new != old
    deadline = time.monotonic() + 10
    while mappings_version(b) != new and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mappings_version(b) == new
    resolved = httpx.get(
        f"{b}/v1/contextual-search/resolve", params={"origin": "SAMU-92-SCALE"}, timeout=10
    )
    assert resolved.json()["origin"]["valid"] is True
