"""search_pages: next links only, one rule for loops, the page limit and foreign hosts.

The pager runs on a real ``UpstreamClient`` whose transport is a respx router: no network,
and every request it sends is recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import respx

from gateway.errors import UpstreamBadResponse, UpstreamUnavailable
from gateway.fhir import SearchPage, search_pages
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient

BASE = "https://dir.test/fhir"
FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}
FIRST = {"name": "durand", "_count": "2"}


def page(*ids: str, next_url: str | None = None, **extra: Any) -> httpx.Response:
    links = [{"relation": "self", "url": f"{BASE}/Practitioner"}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [{"resource": {"resourceType": "Practitioner", "id": i}} for i in ids],
        **extra,
    }
    return httpx.Response(200, json=body, headers=FHIR_HEADERS)


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


@pytest.fixture
async def upstream(router: respx.MockRouter) -> AsyncIterator[UpstreamClient]:
    settings = UpstreamSettings(name="dir", url=BASE, budget_s=2.0, retries=0, rate_per_s=1e3)
    client = UpstreamClient(settings, transport=httpx.MockTransport(router.async_handler))
    yield client
    await client.aclose()


async def collect(
    upstream: UpstreamClient, *, max_pages: int = 10, absent: frozenset[int] = frozenset()
) -> list[SearchPage]:
    pages = search_pages(upstream, "/Practitioner", FIRST, max_pages=max_pages, absent=absent)
    return [p async for p in pages]


class _Resource(msgspec.Struct):
    id: str


def ids(pages: list[SearchPage]) -> list[str]:
    return [
        msgspec.json.decode(raw, type=_Resource).id for p in pages for raw in p.bundle.resources()
    ]


async def test_follows_next_links_until_the_last_page(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    second = f"{BASE}?_getpages=abc&_offset=2"
    first = router.get(f"{BASE}/Practitioner").mock(return_value=page("a", "b", next_url=second))
    # a relative link resolves against the page that carried it
    follow = router.get(second).mock(
        return_value=page("c", "d", next_url="?_getpages=abc&_offset=4")
    )
    last = router.get(f"{BASE}?_getpages=abc&_offset=4").mock(return_value=page("e"))

    pages = await collect(upstream)

    assert ids(pages) == ["a", "b", "c", "d", "e"]
    assert (first.call_count, follow.call_count, last.call_count) == (1, 1, 1)
    assert dict(first.calls.last.request.url.params) == FIRST
    # a next link carries its own query string: the first search's is not added to it
    assert str(follow.calls.last.request.url) == second
    assert pages[0].raw == first.calls.last.response.content
    assert str(pages[1].url) == second


async def test_total_is_not_trusted_nor_needed(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    second = f"{BASE}?page=2"
    # total says everything is on the first page; the next link says otherwise
    router.get(f"{BASE}/Practitioner").mock(return_value=page("a", next_url=second, total=1))
    router.get(second).mock(return_value=page("b"))  # and no total at all here
    assert ids(await collect(upstream)) == ["a", "b"]


async def test_a_single_page_search(router: respx.MockRouter, upstream: UpstreamClient) -> None:
    route = router.get(f"{BASE}/Practitioner").mock(return_value=page("a"))
    assert ids(await collect(upstream, max_pages=1)) == ["a"]
    assert route.call_count == 1


async def test_a_loop_raises_after_fetching_each_page_once(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    second = f"{BASE}?page=2"
    router.get(f"{BASE}/Practitioner").mock(return_value=page("a", next_url=second))
    loop = router.get(second).mock(return_value=page("b", next_url=second))
    with pytest.raises(UpstreamBadResponse, match="dir sent a next link that loops"):
        await collect(upstream)
    assert loop.call_count == 1


async def test_a_link_back_to_the_first_page_is_a_loop(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    again = f"{BASE}/Practitioner?name=durand&_count=2"
    first = router.get(f"{BASE}/Practitioner").mock(return_value=page("a", next_url=again))
    with pytest.raises(UpstreamBadResponse, match="loops"):
        await collect(upstream)
    assert first.call_count == 1


async def test_more_pages_than_the_limit_raises_without_fetching_the_next(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=page("a", next_url=f"{BASE}?page=2"))
    router.get(f"{BASE}?page=2").mock(return_value=page("b", next_url=f"{BASE}?page=3"))
    third = router.get(f"{BASE}?page=3").mock(return_value=page("c"))
    with pytest.raises(UpstreamBadResponse, match="more than 2 result pages"):
        await collect(upstream, max_pages=2)
    assert third.call_count == 0
    # exactly at the limit is fine
    assert ids(await collect(upstream, max_pages=3)) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "elsewhere",
    ["https://evil.test/fhir?page=2", "http://dir.test/fhir?page=2", "https://dir.test:8443/fhir"],
)
async def test_a_link_to_another_origin_is_not_followed(
    router: respx.MockRouter, upstream: UpstreamClient, elsewhere: str
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=page("a", next_url=elsewhere))
    evil = router.route(url__startswith=elsewhere.split("?")[0]).mock(return_value=page("x"))
    with pytest.raises(UpstreamBadResponse, match=r"outside dir\.test; not followed"):
        await collect(upstream)
    assert evil.call_count == 0


async def test_an_absent_first_page_is_an_empty_search(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=httpx.Response(404, headers=FHIR_HEADERS))
    assert await collect(upstream, absent=frozenset({404})) == []
    with pytest.raises(UpstreamBadResponse, match="HTTP 404"):
        await collect(upstream)  # nothing is absent unless the caller says so


async def test_a_vanished_later_page_raises_instead_of_cutting_the_result(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=page("a", next_url=f"{BASE}?page=2"))
    router.get(f"{BASE}?page=2").mock(return_value=httpx.Response(404, headers=FHIR_HEADERS))
    with pytest.raises(UpstreamBadResponse, match="page 2 of a search as not found"):
        await collect(upstream, absent=frozenset({404}))


async def test_a_page_that_is_not_a_bundle_raises(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    router.get(f"{BASE}/Practitioner").mock(
        return_value=httpx.Response(200, json=outcome, headers=FHIR_HEADERS)
    )
    with pytest.raises(UpstreamBadResponse, match="answered a OperationOutcome to a search"):
        await collect(upstream)


async def test_a_failing_upstream_is_the_client_s_unavailable(
    router: respx.MockRouter, upstream: UpstreamClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=page("a", next_url=f"{BASE}?page=2"))
    router.get(f"{BASE}?page=2").mock(return_value=httpx.Response(503))
    with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
        await collect(upstream)
