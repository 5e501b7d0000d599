"""The JSON terminology API (``/v1/terminology``) over the demo snapshot."""

from __future__ import annotations

import pytest

from tests.conftest import AppClient
from tests.samples import G15_OID, R38_OID, TRE_G15, TRE_R38

Client = AppClient


async def test_resolve_oid_coding(client: Client) -> None:
    response = await client.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|SM54"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "system": TRE_R38,
        "code": "SM54",
        "display": "Médecine générale (SM)",
        "status": "active",
        "version": "0.0.0-demo",
        "nos": "TRE_R38-SpecialiteOrdinale",
        "oid": "1.2.250.1.213.2.28",
        "inactive": False,
    }


async def test_resolve_system_and_code(client: Client) -> None:
    body = (
        await client.get("/v1/terminology/resolve", params={"system": G15_OID, "code": "40"})
    ).json()
    assert (body["system"], body["display"]) == (TRE_G15, "Chirurgien-Dentiste")


async def test_resolve_deprecated_code_reports_status(client: Client) -> None:
    body = (
        await client.get("/v1/terminology/resolve", params={"coding": f"{TRE_R38}|SP01"})
    ).json()
    assert (body["status"], body["inactive"]) == ("deprecated", True)


async def test_resolve_unknown_code_is_404_json_problem(client: Client) -> None:
    response = await client.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|XX99"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_code"
    assert "XX99" in error["message"]


async def test_resolve_unknown_system_is_404(client: Client) -> None:
    response = await client.get("/v1/terminology/resolve", params={"coding": "urn:oid:1.2.3|X"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_code_system"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"coding": "SM54"}, "coding"),
        ({"coding": "|SM54"}, "coding"),
        ({}, "system"),
        ({"system": R38_OID}, "code"),
    ],
)
async def test_resolve_malformed_input_is_400_naming_the_parameter(
    client: Client, params: dict[str, str], parameter: str
) -> None:
    response = await client.get("/v1/terminology/resolve", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == parameter


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("cardio", "SM04"),
        ("dentiste", "40"),
        ("medecine generale", "SM54"),
        ("ORL", "SM39"),
        ("pédiatre", "SM40"),
        ("sage-femme", "50"),
        ("kiné", "70"),
        ("Consultation de médecine générale", "SM54"),
    ],
)
async def test_search_in_j239_ranks_expected_first(client: Client, query: str, code: str) -> None:
    response = await client.get(
        "/v1/terminology/search", params={"q": query, "valueset": "JDV_J239"}
    )
    assert response.status_code == 200
    matches = response.json()["matches"]
    assert matches[0]["code"] == code
    assert all(0 < m["score"] <= 100 for m in matches)
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)


async def test_search_without_value_set_covers_every_code_system(client: Client) -> None:
    body = (await client.get("/v1/terminology/search", params={"q": "creneau public"})).json()
    assert body["matches"][0]["code"] == "PUBLIC"


async def test_search_excludes_deprecated_codes_unless_asked(client: Client) -> None:
    plain = (await client.get("/v1/terminology/search", params={"q": "radio pharmacie"})).json()
    assert "SP01" not in [m["code"] for m in plain["matches"]]
    with_inactive = (
        await client.get(
            "/v1/terminology/search", params={"q": "radio pharmacie", "include_inactive": "true"}
        )
    ).json()
    assert with_inactive["matches"][0]["code"] == "SP01"


async def test_search_limit_is_honoured(client: Client) -> None:
    body = (
        await client.get(
            "/v1/terminology/search", params={"q": "me", "valueset": "JDV_J239", "limit": "2"}
        )
    ).json()
    assert len(body["matches"]) == 2


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "x", "limit": "0"}, "limit"),
        ({"q": "x", "limit": "abc"}, "limit"),
        ({}, "q"),
        ({"q": "x", "limit": "1000"}, "limit"),
    ],
)
async def test_search_bad_input_is_400(
    client: Client, params: dict[str, str], parameter: str
) -> None:
    response = await client.get("/v1/terminology/search", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == parameter


async def test_search_unknown_value_set_is_404(client: Client) -> None:
    response = await client.get("/v1/terminology/search", params={"q": "x", "valueset": "JDV_J1"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_value_set"


async def test_case_insensitive_code_is_answered_as_spelt_by_v1_and_echoed_by_fhir(
    client: Client,
) -> None:
    # /v1 answers the code system's spelling (what NOS clients store); the FHIR facade's
    # $validate-code echoes the code as given, with an information issue (HL7 tests).
    v1 = await client.get("/v1/terminology/resolve", params={"coding": f"{R38_OID}|sm54"})
    fhir = await client.get(
        "/fhir/CodeSystem/$validate-code", params={"url": TRE_R38, "code": "sm54"}
    )
    answer = {p["name"]: p for p in fhir.json()["parameter"]}
    assert (v1.status_code, v1.json()["code"]) == (200, "SM54")
    assert (answer["result"]["valueBoolean"], answer["code"]["valueCode"]) == (True, "sm54")
