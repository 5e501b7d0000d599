"""Health, readiness, metrics and cache administration."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gateway.app import build_assembly
from gateway.directory.component import DirectoryComponent
from gateway.settings import DEMO_SNAPSHOT_DIR, ConfigError
from gateway.terminology.component import TerminologyComponent
from tests.conftest import AppClient, make_client, offline_settings
from tests.samples import R38_OID


async def test_liveness(client: AppClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_lists_snapshot_versions_and_upstream_state(client: AppClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    loaded = {
        (r["resourceType"], r["url"].rsplit("/", 1)[-1], r["version"])
        for r in body["snapshot"]["resources"]
    }
    assert ("CodeSystem", "TRE-R38-SpecialiteOrdinale", "0.0.0-demo") in loaded
    assert ("ValueSet", "JDV-J239-SpecialitesSNP-SAS", "0.0.0-demo") in loaded
    assert body["upstreams"]["smt"]["state"] == "offline"


async def test_readiness_is_false_with_an_empty_snapshot(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    async with make_client(offline_settings(tmp_path / "empty")) as empty:
        response = await empty.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["snapshot"]["files"] == 0


def test_a_snapshot_directory_that_does_not_exist_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_SNAPSHOT_DIR"):
        build_assembly(offline_settings(tmp_path / "missing"))


async def test_metrics_count_requests_by_route_template(client: AppClient) -> None:
    for _ in range(3):
        await client.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM54"})
    await client.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|NOPE"})
    text = (await client.get("/metrics")).text
    assert (
        'gateway_http_requests_total{method="GET",route="/v1/terminology/resolve",status="200"} 3.0'
    ) in text
    assert 'route="/v1/terminology/resolve",status="404"} 1.0' in text
    assert "gateway_http_request_duration_seconds_bucket" in text
    assert 'gateway_cache_events_total{cache="terminology",event="hits"}' in text
    assert "SM54" not in text  # labels never carry request values


async def test_request_id_is_echoed_or_generated(client: AppClient) -> None:
    given = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health/live", headers={"X-Request-ID": "bad id\n"})
    assert generated.headers["x-request-id"] != "bad id\n"
    assert len(generated.headers["x-request-id"]) == 32


async def test_cache_stats_and_purge(client: AppClient) -> None:
    stats = (await client.get("/admin/cache/stats")).json()
    assert set(stats["terminology"]) >= {"hits", "misses", "stale", "evictions", "entries", "bytes"}
    purge = await client.post("/admin/cache/purge")
    assert purge.status_code == 200
    assert purge.json()["purged"] >= 0
    # the snapshot stays loaded: terminology still answers offline
    still = await client.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM54"})
    assert still.status_code == 200


async def test_unknown_route_is_a_json_404(client: AppClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    fhir = await client.get("/fhir/Patient")
    assert fhir.status_code == 404
    assert fhir.json()["resourceType"] == "OperationOutcome"


async def test_wrong_method_is_405(client: AppClient) -> None:
    response = await client.delete("/v1/terminology/resolve")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_unmatched_routes_are_observed_too(client: AppClient) -> None:
    response = await client.get("/v1/nothing-here", headers={"X-Request-ID": "r-404"})
    assert response.headers["x-request-id"] == "r-404"
    wrong_method = await client.delete("/health/live")
    assert wrong_method.status_code == 405
    assert "x-request-id" in wrong_method.headers
    text = (await client.get("/metrics")).text
    assert 'gateway_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "nothing-here" not in text


async def test_non_ascii_request_id_is_replaced(client: AppClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "abcé".encode()})
    assert response.headers["x-request-id"].isascii()
    assert response.headers["x-request-id"] != "abcé"


async def test_start_up_reads_each_snapshot_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: Counter[Path] = Counter()
    read_bytes = Path.read_bytes

    def counting(path: Path) -> bytes:
        reads[path] += 1
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", counting)
    services = build_assembly(offline_settings())
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    try:
        snapshot_reads = {p: n for p, n in reads.items() if p.is_relative_to(DEMO_SNAPSHOT_DIR)}
        resources = sorted(p for p in snapshot_reads if p.suffix == ".json")
        assert resources == sorted(DEMO_SNAPSHOT_DIR.rglob("*.json"))
        assert set(snapshot_reads.values()) == {1}  # the CSV subscriptions too
        report = services.parts.snapshot.read
        directory = services.get(DirectoryComponent)
        assert services.get(TerminologyComponent).report is report
        assert report.errors == []
        assert report.count("Practitioner") == len(directory.practitioners.snapshot.practitioners)
        assert directory.cpts.current.report.files == report.files
        assert len(directory.cpts.current) > 0
        assert services.ready
    finally:
        await services.aclose()
