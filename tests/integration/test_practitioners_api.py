"""Practitioner cards through HTTP: offline demo snapshot and a respx-mocked Annuaire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import respx

from gateway.directory.component import DirectoryComponent
from gateway.directory.identifiers import IDNPS_SYSTEM
from gateway.settings import DEMO_SNAPSHOT_DIR, AnnuaireSettings, UpstreamSettings
from tests.conftest import FHIR_HEADERS, AppClient, make_client, offline_settings

ANNUAIRE_URL = "https://annuaire.test/fhir/v2"
DEMO_BUNDLE = DEMO_SNAPSHOT_DIR / "directory" / "Bundle-demo-practitioners.json"
MARTIN_PARIS, MARTIN_LYON, DURAND = "819990000002", "819990000010", "819990000028"


async def test_card_from_the_demo_snapshot(client: AppClient) -> None:
    response = await client.get(f"/v1/practitioners/{MARTIN_PARIS}")
    assert response.status_code == 200
    card = response.json()
    assert (card["idnps"], card["rpps"]) == (MARTIN_PARIS, MARTIN_PARIS[1:])
    assert (card["family"], card["given"]) == ("DEMO-MARTIN", "Claire")
    # labels come from the terminology snapshot, not from the directory payload
    assert card["profession"] == {"code": "10", "display": "Médecin"}
    assert card["specialties"] == [{"code": "SM54", "display": "Médecine générale (SM)"}]
    assert [(loc["insee"], loc["postcode"]) for loc in card["locations"]] == [
        ("75108", "75008"),
        ("92036", "92230"),
    ]


async def test_card_accepts_the_idnps_token_and_the_bare_rpps(client: AppClient) -> None:
    token = await client.get(f"/v1/practitioners/{IDNPS_SYSTEM}|{DURAND}")
    rpps = await client.get(f"/v1/practitioners/{DURAND[1:]}")
    assert token.status_code == rpps.status_code == 200
    assert token.json() == rpps.json()
    assert token.json()["specialties"][0]["code"] == "SM04"


@pytest.mark.parametrize("bad", ["12345", "Dr Martin", "urn:oid:1.2.3|819990000002"])
async def test_malformed_identifier_is_400(client: AppClient, bad: str) -> None:
    response = await client.get(f"/v1/practitioners/{bad}")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == "idnps"


async def test_unknown_practitioner_is_404(client: AppClient) -> None:
    response = await client.get("/v1/practitioners/810000000009")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_practitioner"


async def test_name_matching_two_rpps_is_not_identified(client: AppClient) -> None:
    body = (await client.get("/v1/practitioners", params={"name": "claire demo martin"})).json()
    rpps = {c["rpps"] for c in body["candidates"] if c["score"] >= 90}
    assert rpps == {MARTIN_PARIS[1:], MARTIN_LYON[1:]}
    assert body["identified"] is False
    assert body["rpps"] is None


@pytest.mark.parametrize("name", ["Paul DEMO-DURAND", "demo durand paul", "DÉMO-DURAND Paul"])
async def test_name_in_either_order_identifies_one_rpps(client: AppClient, name: str) -> None:
    body = (await client.get("/v1/practitioners", params={"name": name})).json()
    assert body["identified"] is True
    assert body["rpps"] == DURAND[1:]
    assert body["candidates"][0]["family"] == "DEMO-DURAND"


async def test_name_search_rejects_too_short_names(client: AppClient) -> None:
    response = await client.get("/v1/practitioners", params={"name": "a"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == "name"


def _annuaire_bundle(*, next_url: str | None = None, only: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(DEMO_BUNDLE.read_text(encoding="utf-8"))
    bundle["type"] = "searchset"
    if only is not None:
        keep = {
            "demo-org-paris8",
            "demo-org-gennevilliers",
            only,
            f"{only}-role-0",
            f"{only}-role-1",
        }
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] in keep]
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


@pytest.fixture
async def online() -> AsyncIterator[AppClient]:
    settings = offline_settings()
    annuaire = AnnuaireSettings(
        UpstreamSettings(
            name="annuaire",
            url=ANNUAIRE_URL,
            retries=1,
            budget_s=1.0,
            read_timeout_s=0.5,
            breaker_failures=3,
            rate_per_s=1000.0,
        ),
        api_key="test-key",
    )
    async with make_client(replace(settings, annuaire=annuaire)) as test_client:
        yield test_client


@respx.mock
async def test_a_burst_of_cold_requests_makes_one_annuaire_call(online: AppClient) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=_annuaire_bundle(only="demo-mg-1"), headers=FHIR_HEADERS)

    route = respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(side_effect=answer)
    responses = await asyncio.gather(
        *(online.get(f"/v1/practitioners/{MARTIN_PARIS}") for _ in range(50))
    )
    assert {r.status_code for r in responses} == {200}
    assert route.call_count == 1
    sent = route.calls.last.request
    assert sent.headers["ESANTE-API-KEY"] == "test-key"
    assert sent.url.params["identifier"] == f"{IDNPS_SYSTEM}|{MARTIN_PARIS}"
    assert sent.url.params["_revinclude"] == "PractitionerRole:practitioner"
    assert len(responses[0].json()["locations"]) == 2


@respx.mock
async def test_directory_outage_serves_the_snapshot_card_marked_stale(online: AppClient) -> None:
    respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(return_value=httpx.Response(502))
    response = await online.get(f"/v1/practitioners/{DURAND}")
    assert response.status_code == 200
    assert response.headers["x-cache"] == "STALE"
    assert response.json()["family"] == "DEMO-DURAND"


@respx.mock
async def test_cold_outage_for_a_practitioner_we_never_saw_is_a_fast_503(
    online: AppClient,
) -> None:
    respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(return_value=httpx.Response(504))
    response = await online.get("/v1/practitioners/810000000009")
    assert response.status_code == 503
    assert response.json()["error"]["details"]["upstream"] == "annuaire"


@respx.mock
async def test_unknown_practitioner_is_a_short_lived_negative(online: AppClient) -> None:
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    route = respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(
        return_value=httpx.Response(200, json=empty, headers=FHIR_HEADERS)
    )
    for _ in range(3):
        response = await online.get("/v1/practitioners/810000000009")
        assert response.status_code == 404
    assert route.call_count == 1


@respx.mock
async def test_name_search_follows_next_links_without_total(online: AppClient) -> None:
    page_two = f"{ANNUAIRE_URL}/Practitioner?_page=2&name=durand"
    first = _annuaire_bundle(next_url=page_two)
    first["entry"] = [e for e in first["entry"] if e["resource"]["id"] != "demo-cardio"]
    second = _annuaire_bundle()
    second["entry"] = [
        e
        for e in second["entry"]
        if e["resource"]["resourceType"] != "Practitioner" or e["resource"]["id"] == "demo-cardio"
    ]
    route = respx.get(url__startswith=f"{ANNUAIRE_URL}/Practitioner").mock(
        side_effect=[
            httpx.Response(200, json=first, headers=FHIR_HEADERS),
            httpx.Response(200, json=second, headers=FHIR_HEADERS),
        ]
    )
    body = (await online.get("/v1/practitioners", params={"name": "paul demo-durand"})).json()
    assert route.call_count == 2
    assert route.calls[1].request.url.params["_page"] == "2"
    assert body["identified"] is True
    assert body["rpps"] == DURAND[1:]


@respx.mock
async def test_a_name_with_more_pages_than_read_has_candidates_but_is_not_identified(
    online: AppClient,
) -> None:
    # Every page holds the same strong match and points at another page: past the page
    # limit the first pages are kept, but a namesake may hide further on.
    pages = iter(range(2, 100))

    def page(request: httpx.Request) -> httpx.Response:
        body = _annuaire_bundle(next_url=f"{ANNUAIRE_URL}/Practitioner?_page={next(pages)}")
        return httpx.Response(200, json=body, headers=FHIR_HEADERS)

    route = respx.get(url__startswith=f"{ANNUAIRE_URL}/Practitioner").mock(side_effect=page)
    response = await online.get("/v1/practitioners", params={"name": "paul demo-durand"})
    assert response.status_code == 200
    body = response.json()
    assert body["candidates"]
    assert body["identified"] is False
    assert 1 < route.call_count < 10


@respx.mock
async def test_a_name_search_is_cached_whatever_its_spelling(online: AppClient) -> None:
    route = respx.get(url__startswith=f"{ANNUAIRE_URL}/Practitioner").mock(
        return_value=httpx.Response(200, json=_annuaire_bundle(), headers=FHIR_HEADERS)
    )
    first = await online.get("/v1/practitioners", params={"name": "Paul DEMO-DURAND"})
    again = await online.get("/v1/practitioners", params={"name": "paul demo durand"})
    assert route.call_count == 1
    assert again.json()["rpps"] == first.json()["rpps"] == DURAND[1:]
    # The name is never a key in clear.
    keys = [str(key) for key in online.component(DirectoryComponent).loader.store]
    assert not any("durand" in key.lower() for key in keys)


@respx.mock
async def test_annuaire_rate_limit_is_honoured_under_100_concurrent_requests() -> None:
    settings = offline_settings()
    annuaire = AnnuaireSettings(
        UpstreamSettings(name="annuaire", url=ANNUAIRE_URL, rate_per_s=50.0, budget_s=5.0),
        api_key="test-key",
    )
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    route = respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(
        return_value=httpx.Response(200, json=empty, headers=FHIR_HEADERS)
    )
    async with make_client(replace(settings, annuaire=annuaire)) as online:
        started = asyncio.get_running_loop().time()
        responses = await asyncio.gather(
            *(online.get(f"/v1/practitioners/8{10_000_000_000 + n:011d}") for n in range(100))
        )
        elapsed = asyncio.get_running_loop().time() - started
    assert {r.status_code for r in responses} == {404}
    assert route.call_count == 100
    # 50 calls/s: the first 50 go at once, the other 50 are spread over about a second
    assert elapsed >= 0.8


async def test_identification_looks_beyond_the_returned_page(client: AppClient) -> None:
    body = (
        await client.get("/v1/practitioners", params={"name": "claire demo martin", "limit": "1"})
    ).json()
    assert len(body["candidates"]) == 1
    assert body["identified"] is False


@respx.mock
async def test_a_next_link_to_another_host_is_not_followed(online: AppClient) -> None:
    route = respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(
        return_value=httpx.Response(
            200,
            json=_annuaire_bundle(next_url="http://evil.test/steal?page=2"),
            headers=FHIR_HEADERS,
        )
    )
    evil = respx.get(url__startswith="http://evil.test").mock(return_value=httpx.Response(200))
    response = await online.get("/v1/practitioners", params={"name": "paul durand"})
    assert response.status_code == 503
    assert route.call_count == 1
    assert evil.call_count == 0


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/v1/practitioners/1999000000\u0663", {}, "idnps"),
        ("/v1/cpts", {"insee": "\u0663\u0663\u0663\u0663\u0663"}, "insee"),
        ("/v1/geocode", {"inseecode": "\uff19\uff12\uff10\uff13\uff16"}, "inseecode"),
    ],
)
async def test_non_ascii_digits_are_rejected(
    client: AppClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == parameter


@respx.mock
async def test_organizations_the_answer_lacks_are_fetched_by_id(online: AppClient) -> None:
    whole = _annuaire_bundle(only="demo-mg-1")
    organizations = [e for e in whole["entry"] if e["resource"]["resourceType"] == "Organization"]
    without = {**whole, "entry": [e for e in whole["entry"] if e not in organizations]}
    assert organizations, "the demo practitioner has practice organizations"
    by_id = {**whole, "entry": organizations}
    practitioner = respx.get(f"{ANNUAIRE_URL}/Practitioner").mock(
        return_value=httpx.Response(200, json=without, headers=FHIR_HEADERS)
    )
    organization = respx.get(f"{ANNUAIRE_URL}/Organization").mock(
        return_value=httpx.Response(200, json=by_id, headers=FHIR_HEADERS)
    )
    response = await online.get(f"/v1/practitioners/{MARTIN_PARIS}")
    assert response.status_code == 200
    assert (practitioner.call_count, organization.call_count) == (1, 1)
    asked = set(organization.calls.last.request.url.params["_id"].split(","))
    assert asked == {e["resource"]["id"] for e in organizations}
    assert [loc["insee"] for loc in response.json()["locations"]] == ["75108", "92036"]
