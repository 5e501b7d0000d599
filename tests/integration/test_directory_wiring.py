"""The directory and geography routes on the full app over the demo snapshot (offline)."""

from __future__ import annotations

from tests.conftest import AppClient


async def test_cpts_covering_a_commune_and_a_departement(client: AppClient) -> None:
    commune = (await client.get("/v1/cpts", params={"insee": "92036"})).json()["cpts"]
    assert commune
    assert {c["zone_level"] for c in commune} == {"commune"}
    lozere = (await client.get("/v1/cpts", params={"insee": "48095"})).json()["cpts"]
    assert [c["zone_level"] for c in lozere] == ["departement"]
    nowhere = (await client.get("/v1/cpts", params={"insee": "01001"})).json()
    assert nowhere == {"cpts": []}


async def test_geocode_offline_falls_back_to_the_commune(client: AppClient) -> None:
    body = (await client.get("/v1/geocode", params={"inseecode": "75108"})).json()
    assert body["insee"] == "75108"
    assert body["source"] == "communes"
    assert 48.8 < body["lat"] < 48.9


async def test_practitioner_locations_are_placed(client: AppClient) -> None:
    card = (await client.get("/v1/practitioners/819990000002")).json()
    for location in card["locations"]:
        assert location["lat"] is not None
        assert location["lon"] is not None
        assert location["precision"] == "city"
    paris, gennevilliers = card["locations"]
    assert paris["lat"] < gennevilliers["lat"]  # Gennevilliers lies north of the 8th


async def test_readiness_reports_every_upstream(client: AppClient) -> None:
    upstreams = (await client.get("/health/ready")).json()["upstreams"]
    assert set(upstreams) == {"smt", "annuaire", "geocoder"}
    assert {u["state"] for u in upstreams.values()} == {"offline"}


async def test_rank_is_served_by_the_full_app(client: AppClient) -> None:
    body = {
        "center": {"lat": 48.87, "lon": 2.33},
        "location_type": "address",
        "radius_km": 5,
        "seed": "s",
        "preferred_doctor": "819990000028",
        "candidates": [
            {
                "id": "far",
                "idnps": "810000000009",
                "lat": 45.76,
                "lon": 4.83,
                "sas_participant": True,
                "first_slot": None,
                "cpts_finess": None,
            },
            {
                "id": "near",
                "idnps": "819990000002",
                "lat": 48.872,
                "lon": 2.325,
                "sas_participant": False,
                "first_slot": None,
                "cpts_finess": None,
            },
            {
                "id": "mt",
                "idnps": "819990000028",
                "lat": 45.76,
                "lon": 4.83,
                "sas_participant": False,
                "first_slot": None,
                "cpts_finess": None,
            },
        ],
    }
    response = await client.post("/v1/rank", json=body)
    assert response.status_code == 200
    result = response.json()
    # the médecin traitant first (not subject to the radius), Lyon's "far" card filtered out
    assert [r["id"] for r in result["results"]] == ["mt", "near"]
    assert result["results"][0]["preferred_doctor"] is True
    assert result["total"] == 2
