"""``GET /v1/geocode`` through HTTP: contract, errors, fallbacks, privacy of logs."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import respx
from litestar import Litestar
from litestar.di import Provide

from gateway.geo import GeoService, build_geo_service
from gateway.geo.communes import CommuneIndex, load_communes
from gateway.settings import Settings, UpstreamSettings
from gateway.web.errors import EXCEPTION_HANDLERS
from gateway.web.geo_api import GeoController

BASE = "https://geocoder.test/geocodage"
MARKER = "Zzmarker"
STREET = f"Avenue {MARKER}"
GEO_JSON = {"Content-Type": "application/json; charset=utf-8"}


def ban_answer(citycode: str, city: str, lon: float, lat: float, kind: str) -> httpx.Response:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": f"8 {STREET} {city}",
            "score": 0.8731,
            "housenumber": "8",
            "id": f"{citycode}_0420_00008",
            "name": f"8 {STREET}",
            "postcode": "75008",
            "citycode": citycode,
            "city": city,
            "context": "75, Paris, Île-de-France",
            "type": kind,
            "importance": 0.7,
            "street": STREET,
            "_type": "address",
        },
    }
    body = {"type": "FeatureCollection", "features": [feature], "query": "hidden"}
    return httpx.Response(200, json=body, headers=GEO_JSON)


@pytest.fixture(scope="module")
def communes() -> CommuneIndex:
    return load_communes()


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


@pytest.fixture
async def make_client(
    router: respx.MockRouter, communes: CommuneIndex
) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    services: list[GeoService] = []
    clients: list[httpx.AsyncClient] = []

    def make(url: str = BASE) -> httpx.AsyncClient:
        settings = Settings(
            geocoder=UpstreamSettings(name="geocoder", url=url, budget_s=0.5, retries=1)
        )
        transport = httpx.MockTransport(router.async_handler)
        service = build_geo_service(settings, transport=transport, communes=communes)
        app = Litestar(
            route_handlers=[GeoController],
            dependencies={"geo": Provide(lambda: service, sync_to_thread=False)},
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        services.append(service)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
    for service in services:
        await service.aclose()


async def test_an_address_is_geocoded(
    router: respx.MockRouter, make_client: Callable[[str], httpx.AsyncClient]
) -> None:
    route = router.get("/search").mock(
        return_value=ban_answer("75108", "Paris", 2.3103, 48.8721, "housenumber")
    )
    client = make_client(BASE)
    params = {"inseecode": "75108", "streetnumber": "8 ter", "streetname": STREET, "city": "Lyon"}

    response = await client.get("/v1/geocode", params=params)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "lat": 48.8721,
        "lon": 2.3103,
        "insee": "75108",
        "city": "Paris",
        "type": "address",
        "score": 0.8731,
        "source": "geocoder",
    }
    sent = route.calls.last.request.url.params
    assert sent["citycode"] == "75108"  # inseecode won over city=Lyon
    assert sent["q"] == f"8 {STREET} Paris"  # digits only of "8 ter"


async def test_free_text_is_geocoded(
    router: respx.MockRouter, make_client: Callable[[str], httpx.AsyncClient]
) -> None:
    router.get("/search").mock(return_value=ban_answer("75108", "Paris", 2.31, 48.87, "street"))
    response = await make_client(BASE).get("/v1/geocode", params={"q": f"{STREET} Paris"})
    assert response.status_code == 200
    assert response.json()["type"] == "street"


@pytest.mark.parametrize(
    ("insee", "expected_insee", "city"),
    [
        ("75056", "75056", "Paris"),
        ("75108", "75108", "Paris"),
        ("69123", "69123", "Lyon"),
        ("69381", "69381", "Lyon"),
        ("13055", "13055", "Marseille"),
        ("13201", "13201", "Marseille"),
        ("92036", "92036", "Gennevilliers"),
        ("01039", "01138", "Culoz-Béon"),  # delegated commune → its parent
    ],
)
async def test_communes_resolve_offline(
    make_client: Callable[[str], httpx.AsyncClient],
    communes: CommuneIndex,
    insee: str,
    expected_insee: str,
    city: str,
) -> None:
    response = await make_client("").get("/v1/geocode", params={"inseecode": insee})
    assert response.status_code == 200
    body = response.json()
    commune = communes.by_insee(insee)
    assert commune is not None
    assert (body["lat"], body["lon"]) == (commune.lat, commune.lon)
    assert (body["insee"], body["city"]) == (expected_insee, city)
    assert (body["type"], body["source"], body["score"]) == ("city", "communes", 1.0)


async def test_a_down_geocoder_falls_back_to_the_commune(
    router: respx.MockRouter, make_client: Callable[[str], httpx.AsyncClient]
) -> None:
    router.get("/search").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    params = {"inseecode": "92036", "streetnumber": "1", "streetname": STREET}
    response = await make_client(BASE).get("/v1/geocode", params=params)
    assert response.status_code == 200
    body = response.json()
    assert (body["insee"], body["type"], body["source"]) == ("92036", "city", "communes")


async def test_city_name_when_no_inseecode(make_client: Callable[[str], httpx.AsyncClient]) -> None:
    response = await make_client("").get("/v1/geocode", params={"city": "St Etienne"})
    assert response.status_code == 200
    assert response.json()["insee"] == "42218"


async def test_unknown_insee_code_is_a_404_problem(
    make_client: Callable[[str], httpx.AsyncClient],
) -> None:
    response = await make_client(BASE).get("/v1/geocode", params={"inseecode": "99999"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_commune"
    assert error["details"] == {"parameter": "inseecode"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "ab"}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "rue", "inseecode": "92036"}, "q"),
        ({"inseecode": ""}, "inseecode"),
        ({"inseecode": "ABCDE"}, "inseecode"),
        ({"inseecode": "9" * 17}, "inseecode"),
        ({"inseecode": "92036", "streetnumber": "12"}, "streetname"),
        ({"streetname": "rue de la Paix"}, "inseecode"),
    ],
)
async def test_bad_input_is_a_400_naming_the_parameter(
    make_client: Callable[[str], httpx.AsyncClient], params: dict[str, str], parameter: str
) -> None:
    response = await make_client(BASE).get("/v1/geocode", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["parameter"] == parameter


async def test_offline_free_text_without_commune_is_a_503(
    make_client: Callable[[str], httpx.AsyncClient],
) -> None:
    response = await make_client("").get("/v1/geocode", params={"q": "rue sans commune zzq"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00\x01 ?&%"},
        {"q": "🏥 " * 20},
        {"inseecode": "2a004", "streetname": "\u202e evil"},
        {"city": "%%%%"},
        {"q": "75", "city": ""},
        {"streetnumber": "🏥", "inseecode": "92036"},
    ],
)
async def test_odd_input_is_never_a_500(
    router: respx.MockRouter,
    make_client: Callable[[str], httpx.AsyncClient],
    params: dict[str, str],
) -> None:
    router.get("/search").mock(return_value=httpx.Response(400, json={"code": 400}))
    response = await make_client(BASE).get("/v1/geocode", params=params)
    assert response.status_code in {200, 400, 404, 503}
    assert "error" in response.json() or "lat" in response.json()


async def test_addresses_never_reach_the_logs(
    router: respx.MockRouter,
    make_client: Callable[[str], httpx.AsyncClient],
    log_output: io.StringIO,
) -> None:
    route = router.get("/search")
    route.side_effect = [
        ban_answer("75108", "Paris", 2.31, 48.87, "housenumber"),
        httpx.Response(503),
        httpx.Response(503),
        httpx.Response(200, text="<html>oops</html>", headers={"Content-Type": "text/html"}),
        httpx.ReadTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
    ]
    client = make_client(BASE)
    for number in ("1", "2", "3"):
        params = {"inseecode": "75108", "streetnumber": number, "streetname": STREET}
        assert (await client.get("/v1/geocode", params=params)).status_code == 200
    assert (await client.get("/v1/geocode", params={"q": f"{MARKER} zzq"})).status_code == 503
    out = log_output.getvalue()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(line.get("logger") == "gateway.geo" for line in lines)  # logging did happen
    assert MARKER.lower() not in out.lower()
