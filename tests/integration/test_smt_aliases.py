"""OIDs and NOS names the snapshot does not hold are looked up on the SMT (respx-mocked),
registered as aliases and cached like any resource; observed through HTTP."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tests.conftest import FHIR_HEADERS, SMT_URL, AppClient, make_client, online_settings, searchset
from tests.samples import R38_OID, codesystem, smt_tre_r38, valueset

TRE_R66 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/"
    "TRE-R66-CategorieEtablissement"
)
R66_OID = "1.2.250.1.71.4.2.7"
R66 = codesystem(
    TRE_R66,
    [{"code": "604", "display": "Communauté Professionnelle Territoriale de Santé (CPTS)"}],
    version="20250101120000",
    oid=R66_OID,
)
R380 = codesystem(  # a decoy: ``name=TRE_R38`` is a starts-with search
    "https://mos.esante.gouv.fr/NOS/TRE_R380-Autre/FHIR/TRE-R380-Autre",
    [{"code": "SM54", "display": "Pas la médecine générale"}],
    oid="1.2.250.1.213.2.99",
)


@pytest.fixture
async def empty(tmp_path: Path) -> AsyncIterator[AppClient]:
    """A gateway with an empty snapshot and a live SMT."""
    async with make_client(online_settings(tmp_path)) as client:
        yield client


@pytest.fixture
async def patient(tmp_path: Path) -> AsyncIterator[AppClient]:
    """The same, with timeouts a burst of concurrent requests on a loaded machine needs."""
    async with make_client(online_settings(tmp_path, patient=True)) as client:
        yield client


def fhir(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body, headers=FHIR_HEADERS)


def searched(route: respx.Route) -> list[dict[str, str]]:
    return [dict(call.request.url.params) for call in route.calls]


@respx.mock
async def test_an_oid_the_snapshot_lacks_is_found_on_the_smt_by_identifier(
    empty: AppClient,
) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=fhir(searchset(smt_tre_r38())))
    response = await empty.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM54"})
    assert response.status_code == 200, response.text
    assert response.json()["display"].startswith("Médecine générale")
    assert searched(route) == [{"identifier": R38_OID}]


@respx.mock
async def test_a_burst_of_cold_requests_for_an_unknown_oid_makes_one_search_then_none(
    patient: AppClient,
) -> None:
    empty = patient

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return fhir(searchset(R66))

    route = respx.get(f"{SMT_URL}/CodeSystem").mock(side_effect=slow_answer)
    coding = f"urn:oid:{R66_OID}|604"
    burst = await asyncio.gather(
        *(empty.get("/v1/terminology/resolve", params={"coding": coding}) for _ in range(100))
    )
    assert {r.status_code for r in burst} == {200}
    assert searched(route) == [{"identifier": f"urn:oid:{R66_OID}"}]
    # then served locally: the OID, the bare OID, the canonical URL and the NOS name
    for system in (f"urn:oid:{R66_OID}", R66_OID, TRE_R66, "TRE_R66"):
        again = await empty.get("/v1/terminology/resolve", params={"coding": f"{system}|604"})
        assert again.status_code == 200, (system, again.text)
        assert again.json()["system"] == TRE_R66
    assert route.call_count == 1


@respx.mock
async def test_a_nos_name_is_found_by_name_and_the_canonical_url_then_hits_the_cache(
    empty: AppClient,
) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=fhir(searchset(R380, smt_tre_r38()))
    )
    by_name = await empty.get(
        "/fhir/CodeSystem/$lookup", params={"system": "TRE_R38", "code": "SM54"}
    )
    assert by_name.status_code == 200, by_name.text
    display = next(p for p in by_name.json()["parameter"] if p["name"] == "display")
    assert display["valueString"].startswith("Médecine générale")  # not the TRE_R380 decoy
    assert searched(route) == [{"name": "TRE_R38"}]
    canonical = smt_tre_r38()["url"]
    by_url = await empty.get(
        "/fhir/CodeSystem/$lookup", params={"system": canonical, "code": "SM54"}
    )
    assert by_url.status_code == 200
    assert route.call_count == 1


@respx.mock
async def test_a_value_set_oid_is_searched_among_value_sets(empty: AppClient) -> None:
    j01 = valueset(
        "https://mos.esante.gouv.fr/NOS/JDV_J01-XdsAuthorSpecialty-CISIS/FHIR/JDV-J01-XdsAuthorSpecialty-CISIS",
        {"include": [{"system": TRE_R66, "concept": [{"code": "604"}]}]},
    )
    j01["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.250.1.213.1.1.5.1"}]
    vs_route = respx.get(f"{SMT_URL}/ValueSet").mock(return_value=fhir(searchset(j01)))
    respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=fhir(searchset(R66)))
    response = await empty.get(
        "/fhir/ValueSet/$expand", params={"url": "urn:oid:1.2.250.1.213.1.1.5.1"}
    )
    assert response.status_code == 200, response.text
    assert [c["code"] for c in response.json()["expansion"]["contains"]] == ["604"]
    assert searched(vs_route) == [{"identifier": "urn:oid:1.2.250.1.213.1.1.5.1"}]


@respx.mock
async def test_an_alias_the_smt_does_not_know_is_a_short_lived_404(empty: AppClient) -> None:
    other = copy.deepcopy(R66)
    other["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.4"}]
    # a server that ignores the identifier and answers something else: not taken for it
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=fhir(searchset(other)))
    for _ in range(3):
        response = await empty.get(
            "/v1/terminology/resolve", params={"coding": "urn:oid:1.2.250.1.213.1.6.1.999|X"}
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_code_system"
    assert route.call_count == 1


@respx.mock
async def test_an_smt_outage_on_an_alias_is_a_503_never_a_remembered_404(
    empty: AppClient,
) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(side_effect=httpx.ConnectError("refused"))
    lookup = {"system": "TRE_R38", "code": "SM54"}
    failed = await empty.get("/fhir/CodeSystem/$lookup", params=lookup)
    assert failed.status_code == 503, failed.text
    route.mock(return_value=fhir(searchset(smt_tre_r38())))
    recovered = await empty.get("/fhir/CodeSystem/$lookup", params=lookup)
    assert recovered.status_code == 200


@respx.mock
async def test_a_name_the_smt_search_misses_does_not_hide_the_canonical_url(
    empty: AppClient,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        found = [smt_tre_r38()] if "url" in request.url.params else []
        return fhir(searchset(*found))

    respx.get(f"{SMT_URL}/CodeSystem").mock(side_effect=answer)
    lookup = {"system": "TRE_R38", "code": "SM54"}
    assert (await empty.get("/fhir/CodeSystem/$lookup", params=lookup)).status_code == 404
    by_url = await empty.get(
        "/fhir/CodeSystem/$lookup", params={**lookup, "system": smt_tre_r38()["url"]}
    )
    assert by_url.status_code == 200


@respx.mock
async def test_a_resource_search_asks_the_smt_when_online(empty: AppClient) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=fhir(searchset(R66)))
    for url in (TRE_R66, f"urn:oid:{R66_OID}"):
        response = await empty.get("/fhir/CodeSystem", params={"url": url})
        assert response.status_code == 200, response.text
        entries = response.json()["entry"]
        assert [(e["resource"]["url"], e["resource"]["version"]) for e in entries] == [
            (TRE_R66, "20250101120000")
        ]
    assert route.call_count == 1  # read by url; its OID is then an alias of what is cached
    again = await empty.get("/fhir/CodeSystem", params={"url": TRE_R66})
    assert again.headers["x-cache"] == "HIT"
    assert route.call_count == 1


def _listing(*pairs: tuple[str, str]) -> dict[str, Any]:
    return searchset(*({"resourceType": "CodeSystem", "url": u, "version": v} for u, v in pairs))


@respx.mock
async def test_terminology_capabilities_list_what_the_smt_publishes_and_the_snapshot(
    tmp_path: Path,
) -> None:
    r38 = smt_tre_r38()["url"]
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=fhir(_listing((r38, "20260730120000"), (TRE_R66, "20250101120000")))
    )
    async with make_client(online_settings()) as demo:  # the demo snapshot holds TRE_R38
        response = await demo.get("/fhir/metadata", params={"mode": "terminology"})
        assert response.status_code == 200
        systems = {
            c["uri"]: [v["code"] for v in c["version"]] for c in response.json()["codeSystem"]
        }
        assert systems[TRE_R66] == ["20250101120000"]
        assert "20260730120000" in systems[r38]
        assert "0.0.0-demo" in systems[r38]  # the snapshot's own version
        assert route.calls.last.request.url.params["_elements"] == "url,version,name,identifier"
    route.mock(return_value=httpx.Response(503))
    async with make_client(online_settings()) as down:
        stale = await down.get("/fhir/metadata", params={"mode": "terminology"})
        assert stale.status_code == 200
        assert stale.headers["x-cache"] == "STALE"
        uris = [c["uri"] for c in stale.json()["codeSystem"]]
        assert r38 in uris
        assert TRE_R66 not in uris
