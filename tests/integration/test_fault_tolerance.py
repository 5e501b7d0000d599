"""Upstream failure modes against a real local stub SMT (sockets, real timeouts).

For each mode: warm data keeps being served (marked stale), a cold request fails fast with
a clear 503 inside the call budget, the breaker opens (the upstream stops being called)
and recovers once the upstream is back, nothing answers 500, and no failure is cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from gateway.settings import CacheSettings, UpstreamSettings
from gateway.terminology.component import TerminologyComponent
from tests.conftest import AppClient, make_client, offline_settings
from tests.stubs import BUDGET_S, Stub, StubSmt

WARM = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
COLD = "https://mos.esante.gouv.fr/NOS/TRE_R72-FamilleActivite/FHIR/TRE-R72-FamilleActivite"
RESET_S = 0.4
MODES = ["down", "http_503", "slow", "html", "truncated", "too_many_requests", "reset"]


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def gateway(stub: Stub) -> AsyncIterator[AppClient]:
    stub_url = stub.url
    StubSmt.mode, StubSmt.calls = "ok", 0
    smt = UpstreamSettings(
        name="smt",
        url=stub_url,
        connect_timeout_s=0.2,
        read_timeout_s=0.3,
        budget_s=BUDGET_S,
        retries=1,
        breaker_failures=3,
        breaker_reset_s=RESET_S,
        rate_per_s=1000.0,
    )
    # Hard TTL 0: every request revalidates, so a warm entry meets the failure too.
    cache = CacheSettings(terminology_soft_ttl_s=0.0, terminology_hard_ttl_s=0.0)
    async with make_client(replace(offline_settings(), smt=smt, cache=cache)) as client:
        yield client


async def resolve(client: AppClient, system: str) -> tuple[int, dict[str, Any], float, Any]:
    started = time.perf_counter()
    response = await client.get("/v1/terminology/resolve", params={"coding": f"{system}|604"})
    return response.status_code, response.json(), time.perf_counter() - started, response.headers


@pytest.mark.parametrize("mode", MODES)
async def test_each_failure_mode(gateway: AppClient, stub: Stub, mode: str) -> None:
    status, body, _, headers = await resolve(gateway, WARM)
    assert status == 200, body
    StubSmt.mode = mode
    if mode == "down":
        stub.stop()  # connection refused

    # Warm: the last good copy, marked stale.
    status, body, _, headers = await resolve(gateway, WARM)
    assert status == 200, body
    assert body["display"] == "CPTS"
    assert headers["x-cache"] == "STALE"
    assert headers["warning"].startswith("110")

    # Cold: a clear 503 inside the budget, until the breaker opens and stops calling.
    calls: list[int] = []
    for _ in range(4):
        status, body, elapsed, headers = await resolve(gateway, COLD)
        assert status == 503, body
        assert body["error"]["code"] in {"upstream_unavailable", "upstream_bad_response"}
        assert elapsed < BUDGET_S + 0.5
        calls.append(StubSmt.calls)
    assert calls[-1] == calls[-2], "the breaker should stop calls to a failing upstream"
    assert "retry-after" in headers
    assert gateway.component(TerminologyComponent).upstream.breaker.state.value == "open"

    # Recovery: the upstream is back, the breaker lets a probe through, nothing was cached.
    StubSmt.mode = "ok"
    if mode == "down":
        stub.start()
    await asyncio.sleep(RESET_S + 0.05)
    status, body, _, _ = await resolve(gateway, COLD)
    assert status == 200, body
    assert gateway.component(TerminologyComponent).upstream.breaker.state.value == "closed"
    status, body, _, headers = await resolve(gateway, WARM)
    assert status == 200
    assert headers["x-cache"] != "STALE" or body["display"] == "CPTS"


async def test_flapping_upstream_never_yields_a_500(gateway: AppClient) -> None:
    assert (await resolve(gateway, WARM))[0] == 200
    statuses: set[int] = set()
    for i in range(30):
        StubSmt.mode = MODES[i % len(MODES)] if i % 2 else "ok"
        if StubSmt.mode == "slow":
            StubSmt.mode = "http_503"  # keep the test quick
        status, body, _, _ = await resolve(gateway, WARM if i % 3 else COLD)
        statuses.add(status)
        if status == 200:
            assert body["display"] == "CPTS"
        await asyncio.sleep(0.02)
    assert statuses <= {200, 503}
    assert 200 in statuses
