"""UpstreamClient.get_json: what a status and a body mean, the same for every client.

A respx router is the transport (no network); each test asserts what the caller receives
and what the breaker was told.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
import respx

from gateway.errors import UpstreamBadResponse, UpstreamUnavailable
from gateway.settings import UpstreamSettings
from gateway.upstream import BreakerState, UpstreamClient

BASE = "https://upstream.test/fhir"
FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}
#: Stands for a patient address: it must never appear in an error message.
SECRET = "12 rue Secrète"


class _Hit(msgspec.Struct):
    score: float


class _Answer(msgspec.Struct):
    hits: list[_Hit] = []


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


@pytest.fixture
async def client(router: respx.MockRouter) -> AsyncIterator[UpstreamClient]:
    settings = UpstreamSettings(
        name="up", url=BASE, budget_s=2.0, retries=0, breaker_failures=2, rate_per_s=1000.0
    )
    upstream = UpstreamClient(
        settings,
        transport=httpx.MockTransport(router.async_handler),
        refusal_hint="check GATEWAY_UP_KEY",
    )
    yield upstream
    await upstream.aclose()


def answer(
    status: int, content: bytes, content_type: str = FHIR_HEADERS["Content-Type"]
) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"Content-Type": content_type})


async def test_a_good_body_is_decoded_into_the_type(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    route = router.get("/search").mock(return_value=answer(200, b'{"hits":[{"score":0.5}]}'))
    got = await client.get_json("/search", {"q": "x"}, type=_Answer)
    assert got == _Answer([_Hit(0.5)])
    assert route.calls.last.request.url.params["q"] == "x"


async def test_fetch_json_keeps_the_body_and_the_url_that_answered(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    body = b'{"hits": [], "extra": true}'
    router.get("/search").mock(return_value=answer(200, body))
    got = await client.fetch_json("/search", {"page": "2"}, type=_Answer)
    assert got is not None
    assert got.content == body
    assert str(got.url) == f"{BASE}/search?page=2"


@pytest.mark.parametrize("status", [404, 410])
async def test_an_absent_status_is_none_and_no_failure(
    router: respx.MockRouter, client: UpstreamClient, status: int
) -> None:
    router.get("/thing").mock(return_value=answer(status, b'{"resourceType":"OperationOutcome"}'))
    for _ in range(3):
        assert await client.get_json("/thing", type=_Answer, absent={404, 410}) is None
    assert client.status.errors == 0
    assert client.breaker.state is BreakerState.CLOSED


async def test_404_is_absent_by_default_but_not_when_the_caller_says_so(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    router.get("/thing").mock(return_value=answer(404, b"{}"))
    assert await client.get_json("/thing", type=_Answer) is None
    with pytest.raises(UpstreamBadResponse, match=r"up answered HTTP 404 to /fhir/thing"):
        await client.get_json("/thing", type=_Answer, absent=frozenset())


@pytest.mark.parametrize("status", [400, 405, 409, 422])
async def test_another_4xx_is_a_bad_response_that_never_opens_the_breaker(
    router: respx.MockRouter, client: UpstreamClient, status: int
) -> None:
    router.get("/search").mock(return_value=answer(status, b'{"message": "bad q"}'))
    for _ in range(3):  # breaker_failures=2: it would be open if 4xx counted
        with pytest.raises(UpstreamBadResponse, match=f"HTTP {status}") as raised:
            await client.get_json("/search", {"q": SECRET}, type=_Answer)
    assert raised.value.details["upstream"] == "up"
    assert SECRET not in raised.value.message
    assert client.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refusal_is_unavailable_and_names_what_to_check(
    router: respx.MockRouter, client: UpstreamClient, status: int
) -> None:
    router.get("/search").mock(return_value=answer(status, b"{}"))
    with pytest.raises(UpstreamUnavailable, match=f"HTTP {status}.*check GATEWAY_UP_KEY"):
        await client.get_json("/search", type=_Answer)


async def test_an_html_page_is_a_bad_response(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    router.get("/search").mock(return_value=answer(200, b"<html>login</html>", "text/html"))
    with pytest.raises(UpstreamBadResponse, match="text/html"):
        await client.get_json("/search", type=_Answer)


async def test_html_labelled_as_json_is_a_bad_response(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    page = f"<html>Erreur pour {SECRET}</html>".encode()
    router.get("/search").mock(return_value=answer(200, page))
    with pytest.raises(UpstreamBadResponse, match="not valid JSON") as raised:
        await client.get_json("/search", type=_Answer)
    assert SECRET not in raised.value.message


async def test_truncated_json_is_a_bad_response(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    router.get("/search").mock(return_value=answer(200, b'{"hits": [{"score": 0.'))
    with pytest.raises(UpstreamBadResponse, match="not valid JSON"):
        await client.get_json("/search", type=_Answer)


async def test_json_of_another_shape_says_where_without_quoting_the_value(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    body = msgspec.json.encode({"hits": [{"score": 1.0}, {"score": SECRET}]})
    router.get("/search").mock(return_value=answer(200, body))
    with pytest.raises(
        UpstreamBadResponse, match=r"unexpected shape \(at `\$\.hits\[1\]\.score`\)"
    ) as raised:
        await client.get_json("/search", type=_Answer)
    assert SECRET not in raised.value.message


async def test_raw_keeps_any_json_document(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    router.get("/CodeSystem").mock(return_value=answer(200, b'{"resourceType": "CodeSystem"}'))
    got = await client.get_json("/CodeSystem", type=msgspec.Raw)
    assert got is not None
    assert bytes(got) == b'{"resourceType": "CodeSystem"}'


async def test_5xx_stays_the_retry_machinery_s_unavailable(
    router: respx.MockRouter, client: UpstreamClient
) -> None:
    router.get("/search").mock(return_value=answer(503, b"{}"))
    with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
        await client.get_json("/search", type=_Answer, absent={503})
    assert client.status.errors == 1
