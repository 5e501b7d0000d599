"""Replicas never stay divergent: a real ``redis-server`` killed and restarted between two
gateway processes (mappings reload and purge while it is down), and per-key rates counted
across replicas."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest.mock import ANY

import httpx
import pytest

from gateway.auth.keys import Role, new_key
from gateway.settings import DEMO_SNAPSHOT_DIR
from tests.conftest import copy_mappings, publish_locations
from tests.processes import RedisServer, gateways, redis_or_skip


def wait_until(condition: Callable[[], bool], message: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(message)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = redis_or_skip()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def replica_env(redis: RedisServer, mappings: Path, **extra: str) -> dict[str, str]:
    return {
        "GATEWAY_REDIS_URL": redis.url,
        "GATEWAY_REDIS_PREFIX": f"conv{time.monotonic_ns()}",
        "GATEWAY_REDIS_RECONCILE": "0.3",
        "GATEWAY_SMT_URL": "",
        "GATEWAY_GEOCODER_URL": "",
        "GATEWAY_ROR_URL": "",
        "GATEWAY_ANNUAIRE_URL": "",
        "GATEWAY_MAPPINGS_DIR": str(mappings),
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_API_KEYS_FILE": "",
        **extra,
    }


@pytest.fixture
def two_replicas(redis: RedisServer, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    mappings = copy_mappings(tmp_path / "mappings")
    env = replica_env(redis, mappings)
    with gateways(env) as (a, b):
        yield a, b, mappings


def ready(base: str) -> dict[str, object]:
    body: dict[str, object] = httpx.get(f"{base}/health/ready", timeout=5).json()
    return body


def version(base: str) -> str:
    return str(ready(base)["mappings"]["version"])  # type: ignore[index]


def test_a_reload_while_valkey_is_down_reaches_the_other_replica_once_it_is_back(
    redis: RedisServer, two_replicas: tuple[str, str, Path]
) -> None:
    a, b, mappings = two_replicas
    old = version(a)
    assert version(b) == old
    redis.stop()
    with (mappings / "lrm_authorities.csv").open("a", encoding="utf-8") as handle:
        handle.write("SAMU-92-DOWN,SAMU 92,92,yes,no\n")
    reloaded = httpx.post(f"{a}/admin/mappings/reload", timeout=10)
    assert reloaded.status_code == 200
    new = reloaded.json()["version"]
    assert new != old
    # A says it could not tell the others, and keeps saying so while Valkey is down.
    body = ready(a)
    assert body["shared_cache"] == "degraded"
    assert body["replication"]["pending"] == {"mappings": new}  # type: ignore[index]
    metrics = httpx.get(f"{a}/metrics", timeout=5).text
    assert "gateway_shared_tier_up 0.0" in metrics
    assert 'gateway_replication_events_total{event="announce_failures"}' in metrics
    redis.start()
    wait_until(lambda: version(b) == new, "B never caught up with A's reload")
    wait_until(lambda: ready(a)["shared_cache"] == "on", "A never reported the tier back on")
    assert ready(a)["replication"]["pending"] == {}  # type: ignore[index]


def test_a_replica_that_missed_the_message_reconciles_from_the_files(
    redis: RedisServer, two_replicas: tuple[str, str, Path]
) -> None:
    a, b, mappings = two_replicas
    with (mappings / "lrm_authorities.csv").open("a", encoding="utf-8") as handle:
        handle.write("SAMU-92-MISSED,SAMU 92,92,yes,no\n")
    redis.stop()
    new = httpx.post(f"{a}/admin/mappings/reload", timeout=10).json()["version"]
    # Valkey comes back empty (no persistence): A's pending announcement is retried, and B
    # catches up although the original message was never delivered.
    redis.start()
    wait_until(lambda: version(b) == new, "B never caught up")


def test_a_purge_while_valkey_is_down_reaches_the_other_replica(
    redis: RedisServer, two_replicas: tuple[str, str, Path]
) -> None:
    a, b, _ = two_replicas

    def purges_applied(base: str) -> int:
        return int(ready(base)["replication"]["purges_applied"])  # type: ignore[index]

    redis.stop()
    assert httpx.post(f"{a}/admin/cache/purge", timeout=10).status_code == 200
    assert ready(a)["replication"]["pending"] == {"purge": ANY}  # type: ignore[index]
    time.sleep(1.0)
    assert purges_applied(b) == 0  # not told yet
    redis.start()
    wait_until(lambda: purges_applied(b) == 1, "B never applied A's purge")
    time.sleep(1.0)  # later rounds do not purge again, and A does not purge twice
    assert (purges_applied(a), purges_applied(b)) == (0, 1)


def test_a_key_rate_is_one_limit_across_replicas(redis: RedisServer, tmp_path: Path) -> None:
    plain, line = new_key(Role.SEARCH, "front")
    keys = tmp_path / "keys"
    keys.write_text(line + "\n", encoding="utf-8")
    mappings = copy_mappings(tmp_path / "mappings")
    env = replica_env(redis, mappings, GATEWAY_API_KEYS_FILE=str(keys), GATEWAY_KEY_RATE="5")
    with gateways(env) as bases:
        headers = {"X-API-Key": plain}
        url = "/v1/terminology/resolve?coding=urn:oid:1.2.250.1.213.2.28|SM54"
        # Align on the start of a one-second window so that all calls fall in the same one.
        time.sleep(1.0 - time.time() % 1.0 + 0.02)
        statuses = [
            httpx.get(f"{base}{url}", headers=headers, timeout=5).status_code
            for _ in range(4)
            for base in bases
        ]
        assert statuses.count(200) == 5, statuses
        assert statuses.count(429) == 3, statuses


def test_a_locations_reload_on_one_replica_reaches_the_other(
    redis: RedisServer, tmp_path: Path
) -> None:
    snapshot = Path(shutil.copytree(DEMO_SNAPSHOT_DIR, tmp_path / "snapshot"))
    mappings = copy_mappings(tmp_path / "mappings")
    # No watcher: only the announcement through Valkey can tell B.
    env = replica_env(
        redis, mappings, GATEWAY_SNAPSHOT_DIR=str(snapshot), GATEWAY_LOCATIONS_POLL="0"
    )
    with gateways(env) as (a, b):

        def locations(base: str) -> str:
            return str(ready(base)["locations"]["version"])  # type: ignore[index]

        old = locations(b)
        new = publish_locations(snapshot, "REPLICATED")
        reloaded = httpx.post(f"{a}/admin/locations/reload", timeout=30)
        assert reloaded.status_code == 200
        assert reloaded.json()["version"] == new != old
        wait_until(lambda: locations(b) == new, "B never loaded A's new index")
        found = httpx.get(f"{b}/v1/search", params={"lat": 48.87, "lon": 2.31}, timeout=10)
        assert found.headers["x-locations-version"] == new
