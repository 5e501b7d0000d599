"""``GET /v1/search`` over the demo snapshot's practice locations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.directory.identifiers import RPPS_SYSTEM
from gateway.directory.model import INSEE_EXTENSION
from gateway.geo.earth import haversine_km
from gateway.mappings.component import MappingsComponent
from gateway.settings import DEMO_SNAPSHOT_DIR
from tests.conftest import AppClient, make_client, offline_settings, searchset

PARIS_8 = {"lat": 48.8727, "lon": 2.3126}
MENDE = {"lat": 44.5178, "lon": 3.5012}


async def search(client: AppClient, status: int = 200, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/search", params=params)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_results_are_inside_the_radius_and_ranked(client: AppClient) -> None:
    body = await search(client, **PARIS_8, radius_km=3, page_size=100)
    assert body["total"] >= len(body["results"]) > 10
    assert body["radius_km"] == 3
    assert body["enlarged"] is False
    assert all(r["distance_km"] <= 3 for r in body["results"])
    groups = [
        (0 if r["first_slot"] else 2) + (0 if r["sas_participant"] else 1) for r in body["results"]
    ]
    assert groups == sorted(groups)
    first = body["results"][0]
    assert first["id"] == f"{first['idnps']}-0" or first["id"].startswith(first["idnps"])
    assert first["profession"]["display"]


async def test_default_radius_comes_from_the_departement(client: AppClient) -> None:
    table = client.component(MappingsComponent).active.current.radii
    paris = await search(client, **PARIS_8)
    assert paris["departement"] == "75"
    row = table.get("75")
    assert row is not None
    assert paris["radius_km"] in (row.default_radius_km, row.default_radius_km + row.enlargement_km)


async def test_few_results_enlarge_the_radius_and_say_so(client: AppClient) -> None:
    body = await search(client, **MENDE, radius_km=1, location_type="city", seed="x")
    row = client.component(MappingsComponent).active.current.radii.get("48")
    assert row is not None
    assert body["enlarged"] is True
    assert body["radius_km"] == 1 + row.enlargement_km


async def test_the_preferred_doctor_comes_first_from_anywhere(client: AppClient) -> None:
    body = await search(client, **MENDE, radius_km=20, preferred_doctor="819990000002")
    head = body["results"][:2]
    assert [r["preferred_doctor"] for r in head] == [True, True]
    assert {r["insee"] for r in head} == {"75108", "92036"}
    assert not any(r["preferred_doctor"] for r in body["results"][2:])


async def test_a_cpts_card_replaces_its_members(client: AppClient) -> None:
    params = {"lat": 48.8845, "lon": 2.3218, "radius_km": 2, "page_size": 100}
    plain = await search(client, **params)
    grouped = await search(client, **params, insee="75117")
    cards = [r for r in grouped["results"] if r["kind"] == "cpts"]
    assert len(cards) == 1
    card = cards[0]
    assert card["id"] == "759999901"
    assert card["idnps"] is None
    assert card["cpts"]["members_in_radius"] >= 1
    assert grouped["total"] == plain["total"] - card["cpts"]["members_in_radius"] + 1


async def test_a_covering_cpts_without_member_nearby_is_shown_last(client: AppClient) -> None:
    # Searching from Mende for the Paris 17th's commune: no member of its CPTS is near.
    params = {**MENDE, "radius_km": 5, "insee": "75117", "page_size": 100}
    body = await search(client, **params)
    last = body["results"][-1]
    assert (last["kind"], last["id"], last["distance_km"]) == ("cpts", "759999901", None)
    assert last["cpts"]["members_in_radius"] == 0
    assert body["total"] == len(body["results"])
    assert sum(r["kind"] == "cpts" for r in body["results"]) == 1
    # Paginated: the CPTS card is the last item of the last page.
    pages = []
    for page in range(1, 20):
        chunk = (await search(client, **{**params, "page_size": 3, "page": page}))["results"]
        if not chunk:
            break
        pages.extend(r["id"] for r in chunk)
    assert pages == [r["id"] for r in body["results"]]


async def test_seeded_order_is_stable_and_seed_dependent(client: AppClient) -> None:
    params = {**PARIS_8, "radius_km": 5, "location_type": "city", "page_size": 50}
    one = [r["id"] for r in (await search(client, **params, seed="a"))["results"]]
    again = [r["id"] for r in (await search(client, **params, seed="a"))["results"]]
    other = [r["id"] for r in (await search(client, **params, seed="b"))["results"]]
    assert one == again
    assert one != other


async def test_specialty_filters_by_profession_or_specialty(client: AppClient) -> None:
    dentists = await search(
        client, **PARIS_8, radius_km=5, specialty="urn:oid:1.2.250.1.71.1.2.7|40", page_size=50
    )
    assert dentists["results"]
    assert {r["profession"]["code"] for r in dentists["results"]} == {"40"}
    gps = await search(client, **PARIS_8, radius_km=5, specialty="SM54", page_size=50)
    assert {r["specialty"]["code"] for r in gps["results"]} == {"SM54"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"lat": 95, "lon": 2}, "lat"),
        ({"lat": 48, "lon": 2, "radius_km": 0}, "radius_km"),
        ({"lat": 48, "lon": 2, "location_type": "planet"}, "location_type"),
        ({"lat": 48, "lon": 2, "specialty": "TRE_R314|PUBLIC"}, "specialty"),
        ({"lat": 48, "lon": 2, "preferred_doctor": "12"}, "preferred_doctor"),
        ({"lat": 48, "lon": 2, "insee": "7510"}, "insee"),
        ({"lat": 48, "lon": 2, "page_size": 1000}, "page_size"),
    ],
)
async def test_bad_parameters_are_400_naming_them(
    client: AppClient, params: dict[str, Any], parameter: str
) -> None:
    body = await search(client, 400, **params)
    assert parameter in str(body["error"])


async def test_an_unknown_specialty_keeps_only_the_preferred_doctor(client: AppClient) -> None:
    body = await search(
        client,
        **PARIS_8,
        radius_km=5,
        specialty="urn:oid:1.2.250.1.213.2.28|SM999",
        preferred_doctor="819990000002",
    )
    assert body["specialty_known"] is False
    assert [r["preferred_doctor"] for r in body["results"]] == [True, True]
    assert body["total"] == 2
    assert body["enlarged"] is False
    known = await search(client, **PARIS_8, radius_km=5, specialty="SM54")
    assert known["specialty_known"] is True
    assert (await search(client, **PARIS_8, radius_km=5))["specialty_known"] is None


async def test_a_departement_search_uses_its_barycentre_and_county_radius(
    client: AppClient,
) -> None:
    row = client.component(MappingsComponent).active.current.radii.get("48")
    assert row is not None
    # Centre given anywhere in Lozère: the search is over the whole département.
    body = await search(
        client, lat=44.9, lon=3.2, insee="48095", location_type="county", page_size=100
    )
    assert body["radius_km"] in (row.county_radius_km, row.county_radius_km + row.enlargement_km)

    for result in body["results"]:
        distance = haversine_km(
            row.barycentre_lat, row.barycentre_lon, result["lat"], result["lon"]
        )
        assert abs(distance - result["distance_km"]) < 0.01


async def test_an_unknown_insee_code_is_404(client: AppClient) -> None:
    body = await search(client, 404, lat=48, lon=2, insee="99999")
    assert body["error"]["code"] == "unknown_commune"


MENDE_INSEE = "48095"


def oid_coded_snapshot(target: Path, g15: str, r38: str) -> Path:
    """The demo terminology and one practitioner in Mende whose profession and specialty
    are coded by OID (as the Annuaire may write them), without the demo locations file."""
    shutil.copytree(DEMO_SNAPSHOT_DIR / "terminology", target / "terminology")
    practitioner = {
        "resourceType": "Practitioner",
        "id": "oid-coded",
        "identifier": [{"system": RPPS_SYSTEM, "value": "10003461033"}],
        "name": [{"family": "DEMO-OID", "given": ["Alix"]}],
        "qualification": [
            {"code": {"coding": [{"system": g15, "code": "10"}]}},
            {"code": {"coding": [{"system": r38, "code": "SM04"}]}},
        ],
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": "oid-coded-role",
        "practitioner": {"reference": "Practitioner/oid-coded"},
        "organization": {"reference": "Organization/oid-coded-office"},
    }
    office = {
        "resourceType": "Organization",
        "id": "oid-coded-office",
        "address": [
            {
                "city": "Mende",
                "extension": [{"url": INSEE_EXTENSION, "valueCoding": {"code": MENDE_INSEE}}],
            }
        ],
    }
    (target / "directory").mkdir()
    bundle = searchset(practitioner, role, office)
    (target / "directory" / "bundle.json").write_text(json.dumps(bundle), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("g15", "r38"),
    [
        ("urn:oid:1.2.250.1.71.1.2.7", "urn:oid:1.2.250.1.213.2.28"),
        ("1.2.250.1.71.1.2.7", "1.2.250.1.213.2.28"),
        (
            "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-g15-professionsante",
            "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r38-specialiteordinale",
        ),
    ],
)
async def test_a_practitioner_coded_by_oid_is_found_by_specialty_and_labelled(
    tmp_path: Path, g15: str, r38: str
) -> None:
    settings = offline_settings(oid_coded_snapshot(tmp_path / "snapshot", g15, r38))
    async with make_client(settings) as oid_client:
        for specialty in ("urn:oid:1.2.250.1.213.2.28|SM04", "SM04", "10"):
            body = await search(oid_client, **MENDE, radius_km=10, specialty=specialty)
            assert [r["idnps"] for r in body["results"]] == ["810003461033"], specialty
        result = body["results"][0]
        assert result["profession"] == {"code": "10", "display": "Médecin"}
        assert result["specialty"]["display"].startswith("Cardiologie")
        card = (await oid_client.get("/v1/practitioners/810003461033")).json()
    assert card["profession"] == {"code": "10", "display": "Médecin"}
    assert card["specialties"] == [result["specialty"]]
