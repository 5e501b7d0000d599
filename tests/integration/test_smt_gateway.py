"""Caching and resilience in front of a respx-mocked SMT, observed through HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from gateway.terminology.component import TerminologyComponent
from tests.conftest import FHIR_HEADERS, SMT_URL, AppClient, make_client, online_settings, searchset
from tests.samples import R38_OID, codesystem, smt_tre_r38

Client = AppClient
TRE_R66 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/"
    "TRE-R66-CategorieEtablissement"
)
R66 = codesystem(
    TRE_R66,
    [{"code": "604", "display": "Communauté Professionnelle Territoriale de Santé (CPTS)"}],
    version="20250101120000",
)


@pytest.fixture
async def online() -> AsyncIterator[Client]:
    async with make_client(online_settings()) as test_client:
        yield test_client


def fhir(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body, headers=FHIR_HEADERS)


@respx.mock
async def test_snapshot_answers_at_once_then_the_smt_version_replaces_it(online: Client) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=fhir(searchset(smt_tre_r38(SM54="Médecine générale (SM) – SMT")))
    )
    first = await online.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM54"})
    assert first.status_code == 200
    assert first.json()["version"] == "0.0.0-demo"
    assert first.headers["x-cache"] == "STALE"
    await online.component(TerminologyComponent).loader.drain()
    assert route.call_count == 1
    second = await online.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM54"})
    assert second.headers["x-cache"] == "HIT"
    assert second.json()["version"] == "20260730120000"
    assert second.json()["display"] == "Médecine générale (SM) – SMT"
    assert route.call_count == 1


@respx.mock
async def test_smt_down_serves_snapshot_marked_stale_and_opens_the_breaker(online: Client) -> None:
    respx.get(url__startswith=SMT_URL).mock(return_value=httpx.Response(503))
    for _ in range(5):
        response = await online.get(
            "/fhir/ValueSet/$expand", params={"url": "JDV_J239", "filter": "cardio"}
        )
        assert response.status_code == 200
        assert response.headers["x-cache"] == "STALE"
        assert "stale" in response.headers["warning"].lower()
        await online.component(TerminologyComponent).loader.drain()
    smt = online.component(TerminologyComponent).upstream
    assert smt.state == "down"
    metrics = (await online.get("/metrics")).text
    assert 'gateway_upstream_breaker_state{upstream="smt"} 2.0' in metrics
    ready = (await online.get("/health/ready")).json()
    assert ready["upstreams"]["smt"]["state"] == "down"


@respx.mock
async def test_200_concurrent_cold_requests_make_one_smt_call() -> None:
    async def slow_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return fhir(searchset(R66))

    route = respx.get(f"{SMT_URL}/CodeSystem").mock(side_effect=slow_answer)
    async with make_client(online_settings(patient=True)) as online:
        responses = await asyncio.gather(
            *(
                online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
                for _ in range(200)
            )
        )
        assert {r.status_code for r in responses} == {200}
        assert route.call_count == 1
        assert sorted({r.headers["x-cache"] for r in responses}) == ["MISS"]
        again = await online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
        assert again.headers["x-cache"] == "HIT"


@respx.mock
async def test_cold_request_with_smt_unreachable_is_a_clear_503(online: Client) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(side_effect=httpx.ConnectError("refused"))
    response = await online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert error["details"]["upstream"] == "smt"
    fhir_response = await online.get(
        "/fhir/CodeSystem/$lookup", params={"system": TRE_R66, "code": "604"}
    )
    assert fhir_response.status_code == 503
    assert fhir_response.json()["resourceType"] == "OperationOutcome"


@respx.mock
async def test_a_timeout_is_not_remembered(online: Client) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), fhir(searchset(R66))]
    )
    failed = await online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
    assert failed.status_code == 503
    recovered = await online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
    assert recovered.status_code == 200
    assert recovered.json()["display"].startswith("Communauté")
    assert route.call_count == 3


@respx.mock
async def test_unknown_on_the_smt_is_a_short_lived_negative(online: Client) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=fhir(searchset()))
    for _ in range(3):
        response = await online.get(
            "/v1/terminology/resolve",
            params={"coding": "https://mos.esante.gouv.fr/NOS/TRE_R999-Nope/FHIR/TRE-R999-Nope|1"},
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_code_system"
    assert route.call_count == 1


@respx.mock
async def test_html_instead_of_fhir_is_an_upstream_failure(online: Client) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=httpx.Response(
            200, text="<html><body>SMT</body></html>", headers={"Content-Type": "text/html"}
        )
    )
    cold = await online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
    assert cold.status_code == 503
    assert cold.json()["error"]["code"] == "upstream_bad_response"
    warm = await online.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM54"})
    assert warm.status_code == 200
    await online.component(TerminologyComponent).loader.drain()
    assert online.component(TerminologyComponent).loader.stats.refresh_errors >= 1


@respx.mock
async def test_truncated_fhir_is_never_cached(online: Client) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(
        side_effect=[
            httpx.Response(
                200, content=b'{"resourceType":"Bundle","entry":[{"resour', headers=FHIR_HEADERS
            ),
            fhir(searchset(R66)),
        ]
    )
    assert (
        await online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
    ).status_code == 503
    assert (
        await online.get("/v1/terminology/resolve", params={"coding": f"{TRE_R66}|604"})
    ).status_code == 200
    assert route.call_count == 2


LOOKUP_SM99 = {
    "resourceType": "Parameters",
    "parameter": [
        {"name": "name", "valueString": "TRE_R38_SpecialiteOrdinale"},
        {"name": "version", "valueString": "20260730120000"},
        {"name": "display", "valueString": "Spécialité absente de la démo (SM)"},
        {
            "name": "designation",
            "part": [
                {"name": "language", "valueCode": "fr-FR"},
                {
                    "name": "use",
                    "valueCoding": {
                        "system": "http://snomed.info/sct",
                        "code": "900000000000013009",
                    },
                },
                {"name": "value", "valueString": "Spécialité absente"},
            ],
        },
        {
            "name": "property",
            "part": [
                {"name": "code", "valueCode": "status"},
                {"name": "value", "valueCode": "deprecated"},
            ],
        },
    ],
}


@respx.mock
async def test_code_missing_from_a_fragment_is_looked_up_on_the_smt_once(online: Client) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=httpx.Response(503))
    route = respx.get(f"{SMT_URL}/CodeSystem/$lookup").mock(return_value=fhir(LOOKUP_SM99))
    first = await online.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM99"})
    assert first.status_code == 200
    body = first.json()
    assert body["display"] == "Spécialité absente de la démo (SM)"
    assert (body["status"], body["inactive"]) == ("deprecated", True)
    assert route.calls.last.request.url.params["code"] == "SM99"
    again = await online.get("/fhir/CodeSystem/$lookup", params={"system": R38_OID, "code": "SM99"})
    assert again.status_code == 200
    assert route.call_count == 1


@respx.mock
async def test_code_unknown_to_the_smt_lookup_is_a_remembered_404(online: Client) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=httpx.Response(503))
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found"}],
    }
    route = respx.get(f"{SMT_URL}/CodeSystem/$lookup").mock(
        return_value=httpx.Response(404, json=outcome, headers=FHIR_HEADERS)
    )
    for _ in range(2):
        response = await online.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|NOPE"})
        assert response.status_code == 404
    assert route.call_count == 1


@respx.mock
async def test_pinned_version_never_caches_another_version(online: Client) -> None:
    # a server ignoring `version=` answers its latest; that must not be served as 1999
    respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=fhir(searchset(R66)))
    response = await online.get(
        "/fhir/CodeSystem/$lookup", params={"system": TRE_R66, "code": "604", "version": "1999"}
    )
    assert response.status_code == 404
    ok = await online.get(
        "/fhir/CodeSystem/$lookup",
        params={"system": TRE_R66, "code": "604", "version": "20250101120000"},
    )
    assert ok.status_code == 200
