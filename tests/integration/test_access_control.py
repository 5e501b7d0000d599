"""API keys and roles, rate limits, CORS and body limits through HTTP."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.auth.keys import Role, new_key
from gateway.settings import SecuritySettings, Settings
from tests.conftest import AppClient, make_client, offline_settings

KEYS: dict[Role, str] = {}


def keyed_settings(tmp_path: Path, **security: object) -> Settings:
    lines = []
    for role in Role:
        key, line = new_key(role, f"{role.value}-consumer")
        KEYS[role] = key
        lines.append(line)
    path = tmp_path / "api-keys"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    base = offline_settings()
    return replace(base, security=SecuritySettings(api_keys_file=path, **security))  # type: ignore[arg-type]


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[AppClient]:
    async with make_client(keyed_settings(tmp_path)) as client:
        yield client


def key(role: Role) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


async def test_no_key_is_401_in_json_and_in_fhir(guarded: AppClient) -> None:
    response = await guarded.get("/v1/cpts", params={"insee": "92036"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "X-API-Key" in response.headers["www-authenticate"]
    fhir = await guarded.get("/fhir/metadata")
    assert fhir.status_code == 401
    assert fhir.json()["resourceType"] == "OperationOutcome"
    assert fhir.json()["issue"][0]["code"] == "login"


async def test_an_unknown_key_is_401(guarded: AppClient) -> None:
    response = await guarded.get("/v1/cpts?insee=92036", headers={"X-API-Key": "sasgw_nope"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        (Role.SEARCH, "GET", "/v1/cpts?insee=92036", 200),
        (Role.SEARCH, "GET", "/v1/search?lat=48.87&lon=2.31&radius_km=1", 200),
        (Role.SEARCH, "GET", "/v1/contextual-search/resolve?origin=TEST-SAMU000", 200),
        (Role.SEARCH, "POST", "/v1/contextual-search/links", 403),
        (Role.SEARCH, "GET", "/admin/cache/stats", 403),
        (Role.LRM, "POST", "/v1/contextual-search/links", 200),
        (Role.LRM, "GET", "/v1/contextual-search/resolve?origin=TEST-SAMU000", 200),
        (Role.LRM, "GET", "/v1/search?lat=48.87&lon=2.31&radius_km=1", 403),
        (Role.LRM, "POST", "/admin/mappings/reload", 403),
        (Role.ADMIN, "POST", "/admin/mappings/reload", 200),
        (Role.ADMIN, "GET", "/v1/cpts?insee=92036", 200),
    ],
)
async def test_roles(guarded: AppClient, role: Role, method: str, path: str, status: int) -> None:
    body = {"parameters": {"origin": "TEST-SAMU000"}} if method == "POST" else None
    response = await guarded.request(method, path, headers=key(role), json=body)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["error"]["details"]["role"] == role.value


async def test_a_bearer_token_works_too(guarded: AppClient) -> None:
    headers = {"Authorization": f"Bearer {KEYS[Role.SEARCH]}"}
    assert (await guarded.get("/v1/cpts?insee=92036", headers=headers)).status_code == 200


async def test_health_and_metrics_are_public_by_default(guarded: AppClient) -> None:
    assert (await guarded.get("/health/live")).status_code == 200
    assert (await guarded.get("/metrics")).status_code == 200


async def test_ops_routes_can_require_the_admin_role(tmp_path: Path) -> None:
    async with make_client(keyed_settings(tmp_path, public_ops=False)) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/health/ready", headers=key(Role.SEARCH))).status_code == 403
        assert (await client.get("/metrics", headers=key(Role.ADMIN))).status_code == 200


async def test_each_key_has_its_own_rate_limit(tmp_path: Path) -> None:
    async with make_client(keyed_settings(tmp_path, key_rate_per_s=5.0)) as client:
        statuses = [
            (await client.get("/v1/cpts?insee=92036", headers=key(Role.SEARCH))).status_code
            for _ in range(12)
        ]
        assert statuses[:5] == [200] * 5
        assert 429 in statuses
        limited = await client.get("/v1/cpts?insee=92036", headers=key(Role.SEARCH))
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["error"]["code"] == "rate_limited"
        # Another consumer is not affected.
        admin = await client.get("/v1/cpts?insee=92036", headers=key(Role.ADMIN))
        assert admin.status_code == 200


async def test_cors_allows_only_the_configured_origin(tmp_path: Path) -> None:
    front = "https://front.sas.test"
    async with make_client(keyed_settings(tmp_path, cors_origins=(front,))) as client:
        preflight = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        }
        allowed = await client.options("/v1/cpts", headers={"Origin": front, **preflight})
        assert allowed.headers.get("access-control-allow-origin") == front
        other = await client.options(
            "/v1/cpts", headers={"Origin": "https://evil.test", **preflight}
        )
        assert other.headers.get("access-control-allow-origin") != "https://evil.test"
        simple = await client.get(
            "/v1/cpts?insee=92036", headers={"Origin": front, **key(Role.SEARCH)}
        )
        assert simple.headers["access-control-allow-origin"] == front
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_an_oversized_body_is_413(tmp_path: Path) -> None:
    async with make_client(keyed_settings(tmp_path, max_body_bytes=2048)) as client:
        body = {"parameters": {"origin": "x" * 250, **{f"p{i}": "y" * 250 for i in range(20)}}}
        response = await client.post(
            "/v1/contextual-search/links", json=body, headers=key(Role.LRM)
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"


async def test_without_a_keys_file_the_service_is_open_and_says_so(
    log_output: io.StringIO,
) -> None:
    async with make_client(offline_settings()) as client:
        assert (await client.get("/admin/cache/stats")).status_code == 200
        assert "NO API KEYS" not in log_output.getvalue()  # building is not serving
        tasks = await client.assembly.start()
        # The warning is said once at start; other background tasks (watchers) go on.
        _, running = await asyncio.wait(tasks, timeout=2.0)
        for task in running:
            task.cancel()
    assert "NO API KEYS" in log_output.getvalue()
