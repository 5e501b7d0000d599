"""``POST /v1/rank`` over HTTP: happy path, pagination, CPTS cards, 400s naming the field,
and the same order as the search engine (``GET /v1/search``'s) for the same cards and seed."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar

from gateway.directory.locations_file import NO_SLOT
from gateway.search.engine import SearchEngine, SearchQuery
from gateway.search.locations import PracticeLocations
from gateway.web.errors import EXCEPTION_HANDLERS
from gateway.web.rank_api import RankController
from tests.unit.search import CPTS, PARIS, card_id, make_locations

DOC = "810001234567"


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    app = Litestar(route_handlers=[RankController], exception_handlers=EXCEPTION_HANDLERS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        yield client


def card(cid: str, km_north: float | None, **fields: Any) -> dict[str, Any]:
    located = {} if km_north is None else {"lat": 48.87 + km_north / 111.195, "lon": 2.33}
    base = {"id": cid, "idnps": None, "sas_participant": False, "first_slot": None}
    return {**base, **located, **fields}


def body(candidates: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    base = {
        "center": {"lat": 48.87, "lon": 2.33},
        "location_type": "address",
        "radius_km": 10,
        "seed": "any string",
        "candidates": candidates,
    }
    return {**base, **overrides}


async def test_happy_path(api: httpx.AsyncClient) -> None:
    payload = body(
        [
            card("far", 30),
            card("b", 2.0),
            card("a", 1.234, sas_participant=True, first_slot="2026-11-23T14:00:00+01:00"),
            card("nowhere", None),
            card("doc", None, idnps=DOC),
        ],
        preferred_doctor=DOC,
    )
    resp = await api.post("/v1/rank", json=payload)
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["total"] == 3
    assert data["radius_km"] == 10
    assert data["enlarged"] is False
    assert [r["id"] for r in data["results"]] == ["doc", "a", "b"]
    doc, first, second = data["results"]
    assert doc == {
        "id": "doc",
        "kind": "practitioner",
        "preferred_doctor": True,
        "distance_km": None,
        "sas_participant": False,
        "first_slot": None,
    }
    assert first["distance_km"] == 1.23
    assert first["first_slot"] == "2026-11-23T14:00:00+01:00"
    assert first["preferred_doctor"] is False
    assert second["distance_km"] == 2.0


async def test_cpts_card(api: httpx.AsyncClient) -> None:
    payload = body(
        [
            card("a", 1, cpts_finess="920000001"),
            card("b", 2),
            card("c", 3, cpts_finess="920000001"),
        ],
        insee="92036",
    )
    data = (await api.post("/v1/rank", json=payload)).json()
    assert [(r["id"], r["kind"]) for r in data["results"]] == [
        ("920000001", "cpts"),
        ("b", "practitioner"),
    ]
    assert data["total"] == 2


async def test_pagination(api: httpx.AsyncClient) -> None:
    candidates = [card(f"c{i:02d}", i * 0.1) for i in range(25)]
    page2 = (await api.post("/v1/rank", json=body(candidates, page=2, page_size=10))).json()
    assert page2["total"] == 25
    assert [r["id"] for r in page2["results"]] == [f"c{i:02d}" for i in range(10, 20)]
    default = (await api.post("/v1/rank", json=body(candidates))).json()
    assert len(default["results"]) == 20
    beyond = (await api.post("/v1/rank", json=body(candidates, page=9))).json()
    assert beyond["results"] == []
    assert beyond["total"] == 25


async def test_city_order_is_reproducible(api: httpx.AsyncClient) -> None:
    candidates = [card(f"c{i}", i * 0.2) for i in range(15)]
    payload = body(candidates, location_type="city", seed="abc")
    first = (await api.post("/v1/rank", json=payload)).json()["results"]
    again = (await api.post("/v1/rank", json=payload)).json()["results"]
    assert first == again


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"center": {"lat": 91, "lon": 2}}, "center.lat"),
        ({"center": {"lat": 48, "lon": -180.5}}, "center.lon"),
        ({"radius_km": 0}, "radius_km"),
        ({"radius_km": 200.5}, "radius_km"),
        ({"location_type": "planet"}, "location_type"),
        ({"preferred_doctor": "81234"}, "preferred_doctor"),
        ({"insee": "ABCDE"}, "insee"),
        ({"page": 0}, "page"),
        ({"page_size": 101}, "page_size"),
        ({"seed": 12}, "seed"),
        ({"candidates": [card("a", 1), {"id": "b", "lat": 95, "lon": 2}]}, "candidates[1].lat"),
        ({"candidates": [card("a", 1, first_slot="tomorrow")]}, "candidates[0].first_slot"),
        (
            {"candidates": [card("a", 1, first_slot="2026-11-23T14:00:00")]},
            "candidates[0].first_slot",
        ),
        ({"candidates": [{"id": "a", "lat": 48.8}]}, "candidates[0].lon"),
        ({"candidates": [{"id": "a", "lon": 2.3}]}, "candidates[0].lat"),
        ({"candidates": [{"id": ""}]}, "candidates[0].id"),
        ({"candidates": [{"id": "a"}] * 10_001}, "candidates"),
    ],
)
async def test_bad_input_names_the_field(
    api: httpx.AsyncClient, overrides: dict[str, Any], parameter: str
) -> None:
    resp = await api.post("/v1/rank", json={**body([]), **overrides})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["parameter"] == parameter
    assert parameter in error["message"]


async def test_missing_field_and_malformed_json(api: httpx.AsyncClient) -> None:
    payload = body([])
    del payload["seed"]
    resp = await api.post("/v1/rank", json=payload)
    assert resp.status_code == 400
    assert "seed" in resp.json()["error"]["message"]
    resp = await api.post(
        "/v1/rank", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_input"


def search_cards(loc: PracticeLocations) -> list[dict[str, Any]]:
    """The index's locations as the front end would send them (ids as /v1/search shows)."""
    c = loc.columns
    out = []
    for p in range(len(loc)):
        slot = int(c["first_slot"][p])
        cpts = c["cpts"][p].decode()
        out.append(
            {
                "id": card_id(loc, p),
                "idnps": str(int(c["idnps"][p])),
                "lat": float(c["lat"][p]),
                "lon": float(c["lon"][p]),
                "sas_participant": bool(c["participant"][p]),
                "first_slot": None
                if slot == NO_SLOT
                else datetime.fromtimestamp(slot, UTC).isoformat(),
                **({"cpts_finess": cpts} if cpts else {}),
            }
        )
    return out


@pytest.mark.parametrize("location_type", ["address", "city", "county", "postcode"])
@pytest.mark.parametrize("seed", ["", "patient-42", "é"])
async def test_same_cards_and_seed_give_the_engines_order(
    api: httpx.AsyncClient, location_type: str, seed: str
) -> None:
    loc = make_locations(160, len(seed) + len(location_type), spread_deg=0.1)
    doctor = int(loc.columns["idnps"][7])
    engine = SearchEngine(loc).search(
        SearchQuery(
            *PARIS,
            location_type,  # type: ignore[arg-type]
            8.0,
            seed=seed,
            cpts=CPTS,
            preferred_doctor=doctor,
            page_size=10_000,
        )
    )
    expected = [r.cpts.finess if r.cpts else card_id(loc, r.position) for r in engine.rows]
    assert len(expected) > 40
    assert set(CPTS) <= set(expected)
    cards = search_cards(loc)
    random.Random(seed).shuffle(cards)  # a card's place does not depend on the input order
    payload = body(
        cards,
        center={"lat": PARIS[0], "lon": PARIS[1]},
        location_type=location_type,
        radius_km=8.0,
        seed=seed,
        insee="75101",
        preferred_doctor=str(doctor),
        page_size=100,
    )
    got: list[str] = []
    for page in (1, 2, 3):
        data = (await api.post("/v1/rank", json={**payload, "page": page})).json()
        assert data["total"] == engine.total
        got += [r["id"] for r in data["results"]]
    assert got == expected
    first = expected[0]
    assert first.startswith(str(doctor))  # the preferred doctor heads both
