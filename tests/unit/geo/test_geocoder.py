"""GeoService over a respx-mocked BAN/Géoplateforme geocoder.

Payloads mirror real ``/geocodage/search`` answers (GeoJSON FeatureCollection, BAN
properties). The patient address used everywhere carries a marker that must never reach
a log line, a cache key or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from gateway.errors import InvalidInput, NotFound, UpstreamUnavailable
from gateway.geo import GeoService, build_geo_service
from gateway.geo.communes import CommuneIndex, load_communes
from gateway.geo.geocoder import GeocoderClient
from gateway.settings import DirectoryCacheSettings, Settings, UpstreamSettings

BASE = "https://geocoder.test/geocodage"
MARKER = "Zzmarker"
STREET = f"Rue {MARKER} des Lilas"
GEO_JSON = {"Content-Type": "application/json; charset=utf-8"}


def feature(
    lon: float,
    lat: float,
    *,
    kind: str = "housenumber",
    score: float = 0.93,
    citycode: str = "92036",
    city: str = "Gennevilliers",
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "label": f"12 {STREET} 92230 {city}",
        "score": score,
        "id": f"{citycode}_1234_00012",
        "name": f"12 {STREET}",
        "postcode": "92230",
        "citycode": citycode,
        "x": 646_215.5,
        "y": 6_867_890.1,
        "city": city,
        "context": "92, Hauts-de-Seine, Île-de-France",
        "type": kind,
        "importance": 0.6,
        "_type": "address",
    }
    if kind == "housenumber":
        properties.update(housenumber="12", street=STREET)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def collection(*features: dict[str, Any]) -> httpx.Response:
    body = {"type": "FeatureCollection", "features": list(features), "query": "hidden"}
    return httpx.Response(200, json=body, headers=GEO_JSON)


HIT = feature(2.2958, 48.9301)


@pytest.fixture(scope="module")
def communes() -> CommuneIndex:
    return load_communes()


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


Factory = Callable[..., GeoService]


@pytest.fixture
async def make_service(router: respx.MockRouter, communes: CommuneIndex) -> AsyncIterator[Factory]:
    made: list[GeoService] = []

    def make(
        url: str = BASE, clock: Callable[[], float] = time.monotonic, **options: Any
    ) -> GeoService:
        knobs: dict[str, Any] = {
            "connect_timeout_s": 0.2,
            "read_timeout_s": 0.3,
            "budget_s": 0.3,
            "retries": 1,
            "breaker_failures": 50,
            "rate_per_s": 1000.0,
            **options,
        }
        settings = UpstreamSettings(name="geocoder", url=url, **knobs)
        client = GeocoderClient(settings, transport=httpx.MockTransport(router.async_handler))
        service = GeoService(communes, client, ttl_s=60.0, max_entries=100, clock=clock)
        made.append(service)
        return service

    yield make
    for service in made:
        await service.aclose()


def centroid(communes: CommuneIndex, insee: str) -> tuple[float, float]:
    commune = communes.by_insee(insee)
    assert commune is not None
    return commune.lat, commune.lon


# --- answers from the geocoder -------------------------------------------------------------


async def test_an_address_is_geocoded_within_its_commune(
    router: respx.MockRouter, make_service: Factory
) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    service = make_service()

    result = await service.geocode(
        inseecode="92036", streetnumber="12 bis", streetname=STREET, city="Lyon"
    )

    assert (result.lat, result.lon) == (48.9301, 2.2958)
    assert (result.insee, result.city, result.type) == ("92036", "Gennevilliers", "address")
    assert (result.score, result.source) == (0.93, "geocoder")
    request = route.calls.last.request
    assert request.url.params["q"] == f"12 {STREET} Gennevilliers"  # inseecode won over city
    assert request.url.params["citycode"] == "92036"
    assert request.url.params["limit"] == "5"
    assert "application/json" in request.headers["Accept"]


@pytest.mark.parametrize(("number", "kept"), [("12-14", "12"), ("B7", "7"), ("n° 3 ter", "3")])
async def test_only_the_digits_of_the_street_number_are_kept(
    router: respx.MockRouter, make_service: Factory, number: str, kept: str
) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    await make_service().geocode(inseecode="92036", streetnumber=number, streetname=STREET)
    assert route.calls.last.request.url.params["q"] == f"{kept} {STREET} Gennevilliers"


async def test_a_street_number_without_digits_is_dropped(
    router: respx.MockRouter, make_service: Factory
) -> None:
    route = router.get("/search").mock(return_value=collection(feature(2.29, 48.93, kind="street")))
    result = await make_service().geocode(inseecode="92036", streetnumber="bis", streetname=STREET)
    assert route.calls.last.request.url.params["q"] == f"{STREET} Gennevilliers"
    assert result.type == "street"


async def test_an_arrondissement_code_is_sent_as_is_and_named_after_its_city(
    router: respx.MockRouter, make_service: Factory
) -> None:
    hit = feature(2.3176, 48.8718, citycode="75108", city="Paris")
    route = router.get("/search").mock(return_value=collection(hit))
    result = await make_service().geocode(inseecode="75108", streetnumber="3", streetname=STREET)
    params = route.calls.last.request.url.params
    assert params["citycode"] == "75108"
    assert params["q"].endswith(" Paris")
    assert (result.insee, result.city, result.source) == ("75108", "Paris", "geocoder")


async def test_a_whole_city_code_accepts_only_its_arrondissements(
    router: respx.MockRouter, make_service: Factory
) -> None:
    elsewhere = feature(2.29, 48.93, score=0.95)  # a better-scored hit outside Paris
    inside = feature(2.3176, 48.8718, score=0.81, citycode="75108", city="Paris")
    route = router.get("/search").mock(return_value=collection(elsewhere, inside))
    result = await make_service().geocode(inseecode="75056", streetname=STREET)
    assert "citycode" not in route.calls.last.request.url.params
    assert (result.insee, result.score) == ("75108", 0.81)


async def test_a_delegated_commune_is_searched_in_its_parent(
    router: respx.MockRouter, make_service: Factory, communes: CommuneIndex
) -> None:
    route = router.get("/search").mock(return_value=collection())  # nothing found
    result = await make_service().geocode(inseecode="01039", streetname=STREET)  # Béon
    assert route.calls.last.request.url.params["citycode"] == "01138"
    # Nothing credible: Béon's own point, under the commune it belongs to.
    assert (result.lat, result.lon) == centroid(communes, "01039")
    assert (result.insee, result.type, result.source) == ("01138", "city", "communes")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("housenumber", "address"),
        ("street", "street"),
        ("locality", "street"),
        ("municipality", "city"),
    ],
)
async def test_ban_types_map_to_ours(
    router: respx.MockRouter, make_service: Factory, kind: str, expected: str
) -> None:
    router.get("/search").mock(return_value=collection(feature(2.29, 48.93, kind=kind)))
    result = await make_service().geocode(q=f"12 {STREET} 92230 Gennevilliers")
    assert result.type == expected
    assert result.source == "geocoder"


async def test_a_commune_without_street_is_answered_locally(
    router: respx.MockRouter, make_service: Factory, communes: CommuneIndex
) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    result = await make_service().geocode(inseecode="13201")
    assert route.call_count == 0
    assert (result.lat, result.lon) == centroid(communes, "13201")
    assert (result.insee, result.city, result.type, result.score) == (
        "13201",
        "Marseille",
        "city",
        1.0,
    )


async def test_an_ambiguous_city_name_lets_the_geocoder_choose(
    router: respx.MockRouter, make_service: Factory
) -> None:
    hit = feature(2.3582, 48.9356, citycode="93066", city="Saint-Denis")
    route = router.get("/search")
    route.side_effect = [collection(hit), httpx.ConnectError("refused"), httpx.ConnectError("x")]
    service = make_service()

    found = await service.geocode(city="Saint-Denis", streetname=STREET)
    down = await service.geocode(city="Saint-Denis", streetname=f"{STREET} bis")
    commune_only = await service.geocode(city="Saint-Denis")

    assert "citycode" not in route.calls[0].request.url.params  # 93, 974, 11, 30: no filter
    assert route.calls[0].request.url.params["q"] == f"{STREET} Saint-Denis"
    assert (found.insee, found.source) == ("93066", "geocoder")
    # Without the geocoder: the biggest Saint-Denis, with a low confidence.
    assert (down.insee, down.source, down.score) == ("97411", "communes", 0.5)
    assert (commune_only.insee, commune_only.score) == ("97411", 0.5)


async def test_an_unambiguous_city_name_filters_on_its_code(
    router: respx.MockRouter, make_service: Factory
) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    result = await make_service().geocode(city="genevilliers", streetname=STREET)  # typo
    assert route.calls.last.request.url.params["citycode"] == "92036"
    assert result.insee == "92036"


# --- falling back to the commune reference -------------------------------------------------


class Slow:
    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return collection(HIT)


FAILURES: dict[str, Any] = {
    "down": httpx.ConnectError("refused"),
    "slow": Slow(),
    "html": httpx.Response(
        200, text="<html>maintenance</html>", headers={"Content-Type": "text/html"}
    ),
    "429": httpx.Response(429, headers={"Retry-After": "0"}),
    "503": httpx.Response(503),
    "not geojson": httpx.Response(200, json={"features": "none"}, headers=GEO_JSON),
    "400": httpx.Response(400, json={"code": 400, "message": "q invalide"}, headers=GEO_JSON),
    "low score": collection(feature(2.29, 48.93, score=0.2)),
}


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_failing_geocoder_falls_back_to_the_commune(
    router: respx.MockRouter, make_service: Factory, communes: CommuneIndex, failure: str
) -> None:
    router.get("/search").mock(side_effect=[FAILURES[failure]] * 2)
    service = make_service()
    started = time.perf_counter()

    result = await service.geocode(inseecode="92036", streetnumber="12", streetname=STREET)

    assert time.perf_counter() - started < 2.0  # within the budget, not the 5 s stall
    assert (result.lat, result.lon) == centroid(communes, "92036")
    assert (result.insee, result.city) == ("92036", "Gennevilliers")
    assert (result.type, result.score, result.source) == ("city", 1.0, "communes")
    assert service.stats.fallbacks == 1


async def test_offline_mode_never_calls_out(
    router: respx.MockRouter, make_service: Factory, communes: CommuneIndex
) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    service = make_service(url="")
    address = await service.geocode(inseecode="69381", streetnumber="2", streetname=STREET)
    text = await service.geocode(q=f"12 {STREET} 92230 Gennevilliers")
    assert route.call_count == 0
    assert (address.insee, address.city, address.source) == ("69381", "Lyon", "communes")
    assert (text.insee, text.source, text.score) == ("92036", "communes", 0.9)


async def test_free_text_with_no_known_commune_is_503_when_down_and_404_when_unmatched(
    router: respx.MockRouter, make_service: Factory
) -> None:
    route = router.get("/search")
    route.side_effect = [httpx.ConnectError("refused")] * 2 + [collection()]
    service = make_service()
    with pytest.raises(UpstreamUnavailable):
        await service.geocode(q=f"12 {STREET} nowhere")
    with pytest.raises(NotFound):
        await service.geocode(q=f"12 {STREET} nowhere")


async def test_unknown_commune_is_not_found_without_calling_out(
    router: respx.MockRouter, make_service: Factory
) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    with pytest.raises(NotFound) as caught:
        await make_service().geocode(inseecode="99999", streetname=STREET)
    assert caught.value.details == {"parameter": "inseecode"}
    assert route.call_count == 0


async def test_bad_input_names_the_parameter(make_service: Factory) -> None:
    service = make_service()
    cases: list[tuple[dict[str, str], str]] = [
        ({"q": ""}, "q"),
        ({}, "q"),
        ({"q": "x", "inseecode": "92036"}, "q"),
        ({"inseecode": "", "city": ""}, "inseecode"),
        ({"inseecode": "9203"}, "inseecode"),
        ({"inseecode": "92036", "streetnumber": "12"}, "streetname"),
        ({"streetname": STREET}, "inseecode"),
    ]
    for params, parameter in cases:
        with pytest.raises(InvalidInput) as caught:
            await service.geocode(**params)
        assert caught.value.parameter == parameter, params


# --- cache and privacy -----------------------------------------------------------------------


async def test_repeated_addresses_hit_the_hashed_cache(
    router: respx.MockRouter, make_service: Factory
) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    service = make_service()
    first = await service.geocode(inseecode="92036", streetnumber="12", streetname=STREET)
    again = await service.geocode(
        inseecode="92036", streetnumber="12", streetname=f"  {STREET.upper()} "
    )
    assert again == first
    assert route.call_count == 1
    assert service.cache.stats.hits == 1
    keys = service.cache.keys()
    assert len(keys) == 1
    assert MARKER.lower() not in repr(keys).lower()
    key = keys[0]
    assert isinstance(key, tuple)
    kind, digest = key
    assert kind == "geocode"
    assert len(digest) == 40


async def test_fallbacks_are_not_cached_and_entries_expire(
    router: respx.MockRouter, make_service: Factory
) -> None:
    now = [0.0]
    route = router.get("/search")
    route.side_effect = [httpx.ConnectError("refused")] * 2 + [collection(HIT)] * 2
    service = make_service(clock=lambda: now[0])
    down = await service.geocode(inseecode="92036", streetname=STREET)
    up = await service.geocode(inseecode="92036", streetname=STREET)
    assert (down.source, up.source) == ("communes", "geocoder")
    assert len(service.cache) == 1
    now[0] = 61.0  # past the 60 s TTL: purged, asked again
    assert len(service.cache) == 0
    await service.geocode(inseecode="92036", streetname=STREET)
    assert route.call_count == 4


async def test_concurrent_identical_addresses_make_one_call(
    router: respx.MockRouter, make_service: Factory
) -> None:
    release = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return collection(HIT)

    route = router.get("/search").mock(side_effect=answer)
    service = make_service(budget_s=5.0)
    calls = [service.geocode(inseecode="92036", streetname=STREET) for _ in range(5)]
    tasks = [asyncio.ensure_future(call) for call in calls]
    for _ in range(50):
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks)
    assert route.call_count == 1
    assert len({r.lat for r in results}) == 1
    assert service.cache.stats.coalesced == 4


async def test_the_address_never_reaches_logs_or_errors(
    router: respx.MockRouter,
    make_service: Factory,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for noisy in ("httpx", "httpcore"):  # as configure_logging does in production
        caplog.set_level(logging.WARNING, logger=noisy)
    caplog.set_level(logging.DEBUG)  # last: it also sets the capture handler's level
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    route = router.get("/search")
    route.side_effect = [
        collection(HIT),
        refused,
        refused,  # retried once
        httpx.Response(200, text=f"<html>{MARKER}</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(200, json={"features": [{"x": MARKER}]}, headers=GEO_JSON),
        httpx.Response(429),
        httpx.Response(429),
        refused,
        refused,
    ]
    service = make_service()
    errors: list[str] = []
    for number in ("1", "2", "3", "4", "5"):
        await service.geocode(inseecode="92036", streetnumber=number, streetname=STREET)
    for bad in ({"q": f"{MARKER} zzq"}, {"q": MARKER * 100}, {"city": MARKER}):
        with pytest.raises((UpstreamUnavailable, NotFound, InvalidInput)) as caught:
            await service.geocode(**bad)
        errors.append(f"{caught.value!r} {caught.value} {caught.value.details}")
    assert route.call_count == 9
    out, err = capsys.readouterr()  # structlog may print stamina's lines, or hand them over
    logged = f"{caplog.text}\n{out}\n{err}".lower()
    assert len(caplog.records) >= 4  # the failures were logged…
    assert "retry" in logged  # …and the retries…
    assert MARKER.lower() not in logged  # …without the address
    assert not any(MARKER.lower() in e.lower() for e in errors), errors


# --- wiring ------------------------------------------------------------------------------------


async def test_build_geo_service_uses_the_settings(router: respx.MockRouter) -> None:
    route = router.get("/search").mock(return_value=collection(HIT))
    settings = Settings(
        geocoder=UpstreamSettings(name="geocoder", url=BASE, rate_per_s=50.0, budget_s=2.0),
        directory_cache=DirectoryCacheSettings(geocode_ttl_s=30.0, geocode_max_entries=40),
    )
    service = build_geo_service(settings, transport=httpx.MockTransport(router.async_handler))
    try:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                service.geocode(inseecode="92036", streetnumber=str(n), streetname=STREET)
                for n in range(60)
            )
        )
        elapsed = time.perf_counter() - started
    finally:
        await service.aclose()
    assert route.call_count == 60
    assert elapsed >= 0.15  # 50 at once, then 1 per 20 ms: the 50 req/s limit holds
    assert len(service.cache) == 40  # bounded by GATEWAY_GEOCODE_MAX_ENTRIES
