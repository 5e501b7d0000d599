"""Every practitioner search returns has a card, offline, even one only the
practice-location index knows (the demo's generated practitioners)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import respx

from gateway.directory.component import DirectoryComponent
from gateway.geo.earth import haversine_km
from gateway.settings import AnnuaireSettings, UpstreamSettings
from tests.conftest import FHIR_HEADERS, AppClient, make_client, offline_settings

ANNUAIRE_URL = "https://annuaire.test/fhir/v2"
EMPTY = {"resourceType": "Bundle", "type": "searchset", "entry": []}

PARIS_8 = {"lat": 48.8727, "lon": 2.3126}


async def _index_only_result(client: AppClient) -> dict[str, Any]:
    response = await client.get("/v1/search", params={**PARIS_8, "page_size": 100})
    assert response.status_code == 200
    snapshot = client.component(DirectoryComponent).practitioners.snapshot
    for result in response.json()["results"]:
        if result["kind"] != "cpts" and snapshot.record(result["idnps"][1:]) is None:
            return dict(result)
    raise AssertionError("the demo search returned no index-only practitioner")


async def test_a_search_result_missing_from_the_snapshot_has_a_card(client: AppClient) -> None:
    result = await _index_only_result(client)
    response = await client.get(f"/v1/practitioners/{result['idnps']}")
    assert response.status_code == 200, response.text
    card = response.json()
    assert (card["idnps"], card["rpps"]) == (result["idnps"], result["idnps"][1:])
    assert (card["family"], card["given"]) == (result["family"], result["given"])
    assert card["profession"] == result["profession"]
    if result["specialty"]:
        assert result["specialty"] in card["specialties"]
    # the location search ranked is one of the card's, at the same point and commune
    assert any(
        loc["insee"] == result["insee"]
        and haversine_km(loc["lat"], loc["lon"], result["lat"], result["lon"]) < 0.001
        for loc in card["locations"]
    )
    assert all(loc["city"] for loc in card["locations"])


async def test_the_bare_rpps_finds_the_same_index_card(client: AppClient) -> None:
    result = await _index_only_result(client)
    by_idnps = await client.get(f"/v1/practitioners/{result['idnps']}")
    by_rpps = await client.get(f"/v1/practitioners/{result['idnps'][1:]}")
    assert by_idnps.json() == by_rpps.json()


async def test_name_search_finds_index_practitioners(client: AppClient) -> None:
    result = await _index_only_result(client)
    name = f"{result['given']} {result['family']}"
    response = await client.get("/v1/practitioners", params={"name": name, "limit": 50})
    assert response.status_code == 200, response.text
    body = response.json()
    found = body["candidates"]
    assert found, body
    assert all(c["score"] >= found[-1]["score"] for c in found)
    namesakes = {
        c["rpps"] for c in found if (c["family"], c["given"]) == (result["family"], result["given"])
    }
    assert result["idnps"][1:] in namesakes or len(found) == 50
    assert found[0]["score"] == 100
    # the demo draws names from short lists: namesakes make the name "not identified"
    assert len(namesakes) > 1
    assert (body["identified"], body["rpps"]) == (False, None)


async def test_a_name_nobody_has_finds_nobody(client: AppClient) -> None:
    response = await client.get("/v1/practitioners", params={"name": "Zzyzx Qwvb"})
    assert response.status_code == 200
    assert response.json()["candidates"] == []


@pytest.fixture
async def online() -> AsyncIterator[AppClient]:
    annuaire = AnnuaireSettings(
        UpstreamSettings(name="annuaire", url=ANNUAIRE_URL, retries=0, rate_per_s=1000.0),
        api_key="test-key",
    )
    async with make_client(replace(offline_settings(), annuaire=annuaire)) as test_client:
        yield test_client


@respx.mock
async def test_online_the_index_answers_for_whom_the_directory_does_not_know(
    online: AppClient,
) -> None:
    route = respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(
        return_value=httpx.Response(200, json=EMPTY, headers=FHIR_HEADERS)
    )
    result = await _index_only_result(online)
    response = await online.get(f"/v1/practitioners/{result['idnps']}")
    assert route.call_count == 1  # the directory is asked first
    assert response.status_code == 200
    assert response.json()["family"] == result["family"]
    unknown = await online.get("/v1/practitioners/810000000009")
    assert unknown.status_code == 404


@respx.mock
async def test_online_name_search_is_the_directory_s_alone(online: AppClient) -> None:
    respx.get(url__startswith=f"{ANNUAIRE_URL}/Practitioner").mock(
        return_value=httpx.Response(200, json=EMPTY, headers=FHIR_HEADERS)
    )
    result = await _index_only_result(online)
    name = f"{result['given']} {result['family']}"
    response = await online.get("/v1/practitioners", params={"name": name})
    assert response.status_code == 200
    assert response.json()["candidates"] == []
