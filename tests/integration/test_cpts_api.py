"""``GET /v1/cpts?insee=…`` through HTTP, over a small index, with the app's error boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.di import Provide

from gateway.component import Live
from gateway.directory.cpts import CptsIndex, build_cpts_index
from gateway.directory.ror_fhir import decode_resources
from gateway.web.cpts_api import CptsController
from gateway.web.errors import EXCEPTION_HANDLERS
from tests.unit.directory import FakeCommunes, offer, organization, searchset, zone

MEMBERS = "https://ror.test/fhir"


def small_index() -> CptsIndex:
    page = searchset(
        organization("boucle", "CPTS Boucle Nord", finess="929999901", phone="01 99 00 00 01"),
        offer("hs-boucle", "boucle", zone(3, "92036"), zone(3, "92004")),
        organization("lozere", "CPTS Lozère", finess="489999901"),
        offer("hs-lozere", "lozere", zone(2, "48")),
    )
    problems: list[str] = []
    resources = decode_resources(msgspec.json.encode(page), problems)
    return build_cpts_index(resources, FakeCommunes(), members_base_url=MEMBERS)


def make_app(holder: Live[CptsIndex]) -> Litestar:
    return Litestar(
        route_handlers=[CptsController],
        dependencies={"cpts": Provide(lambda: holder, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(Live(small_index()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_commune_level_cpts(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/cpts", params={"insee": "92036"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "cpts": [
            {
                "finess": "929999901",
                "name": "CPTS Boucle Nord",
                "phone": "01 99 00 00 01",
                "zone_level": "commune",
                "members_url": "/v1/cpts/929999901/members",
            }
        ]
    }


async def test_departement_level_cpts(http: httpx.AsyncClient) -> None:
    body = (await http.get("/v1/cpts", params={"insee": "48095"})).json()
    assert [(c["finess"], c["zone_level"], c["phone"]) for c in body["cpts"]] == [
        ("489999901", "departement", None)
    ]


async def test_a_commune_without_cpts_is_an_empty_list(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/cpts", params={"insee": "2A004"})
    assert response.status_code == 200
    assert response.json() == {"cpts": []}


@pytest.mark.parametrize("insee", ["9203", "92O36", "920361", "x" * 17])
async def test_malformed_insee_is_a_400_naming_it(http: httpx.AsyncClient, insee: str) -> None:
    response = await http.get("/v1/cpts", params={"insee": insee})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["parameter"] == "insee"
    assert "insee" in error["message"]


async def test_missing_insee_is_a_400_naming_it(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/cpts")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == "insee"


async def test_a_swapped_index_is_served_by_the_next_request() -> None:
    holder = Live(build_cpts_index([], FakeCommunes(), members_base_url=MEMBERS))
    app = make_app(holder)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        before = await c.get("/v1/cpts", params={"insee": "92036"})
        holder.swap(small_index())
        after = await c.get("/v1/cpts", params={"insee": "92036"})
    assert before.json() == {"cpts": []}
    assert [card["finess"] for card in after.json()["cpts"]] == ["929999901"]
