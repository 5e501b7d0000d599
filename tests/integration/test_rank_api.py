"""``POST /v1/rank`` over HTTP: happy path, pagination, CPTS cards, 400s naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from gateway.web.errors import EXCEPTION_HANDLERS
from gateway.web.rank_api import RankController

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
