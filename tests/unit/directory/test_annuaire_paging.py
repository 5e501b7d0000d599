"""AnnuaireClient pages with the shared pager: same rule as the ROR (loops and the page
limit are errors, never a quietly shorter result; a name search past its limit keeps its
first pages, marked incomplete); a 404 search has found nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from gateway.directory.annuaire import AnnuaireClient
from gateway.directory.identifiers import parse_practitioner_id
from gateway.errors import UpstreamBadResponse
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient

BASE = "https://annuaire.test/fhir/v2"
FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}
DURAND = parse_practitioner_id("819990000002", "idnps")


def bundle(practitioner_id: str, next_url: str | None = None) -> httpx.Response:
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": next_url}] if next_url else [],
        "entry": [{"resource": {"resourceType": "Practitioner", "id": practitioner_id}}],
    }
    return httpx.Response(200, json=body, headers=FHIR_HEADERS)


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


@pytest.fixture
async def annuaire(router: respx.MockRouter) -> AsyncIterator[AnnuaireClient]:
    settings = UpstreamSettings(name="annuaire", url=BASE, retries=0, rate_per_s=1e3)
    upstream = UpstreamClient(settings, transport=httpx.MockTransport(router.async_handler))
    yield AnnuaireClient(upstream, page_size=1, max_pages=3)
    await upstream.aclose()


async def test_pages_are_followed_and_decoded(
    router: respx.MockRouter, annuaire: AnnuaireClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=bundle("p1", f"{BASE}?page=2"))
    router.get(f"{BASE}?page=2").mock(return_value=bundle("p2"))
    assert [r.id for r in await annuaire.practitioner(DURAND)] == ["p1", "p2"]
    assert len(await annuaire.practitioner_pages(DURAND)) == 2


async def test_a_404_search_has_found_nobody(
    router: respx.MockRouter, annuaire: AnnuaireClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=httpx.Response(404))
    assert await annuaire.practitioner(DURAND) == []


async def test_a_looping_search_is_an_error(
    router: respx.MockRouter, annuaire: AnnuaireClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=bundle("p1", f"{BASE}?page=2"))
    router.get(f"{BASE}?page=2").mock(return_value=bundle("p2", f"{BASE}?page=2"))
    with pytest.raises(UpstreamBadResponse, match="loops"):
        await annuaire.practitioner(DURAND)


async def test_a_name_search_past_its_page_limit_keeps_its_first_pages_marked_incomplete(
    router: respx.MockRouter, annuaire: AnnuaireClient
) -> None:
    # A common name still gets candidates, but the result says it is not all of them: a
    # truncated search could otherwise "identify" someone whose namesake is further on.
    router.get(f"{BASE}/Practitioner").mock(return_value=bundle("p1", f"{BASE}?page=2"))
    router.get(f"{BASE}?page=2").mock(return_value=bundle("p2", f"{BASE}?page=3"))
    third = router.get(f"{BASE}?page=3").mock(return_value=bundle("p3"))
    found, complete = await annuaire.search_name("durand", max_pages=2)
    assert [r.id for r in found] == ["p1", "p2"]
    assert complete is False
    assert third.call_count == 0
    found, complete = await annuaire.search_name("durand", max_pages=3)
    assert ([r.id for r in found], complete) == (["p1", "p2", "p3"], True)


async def test_a_record_lookup_past_its_page_limit_is_an_error(
    router: respx.MockRouter, annuaire: AnnuaireClient
) -> None:
    router.get(f"{BASE}/Practitioner").mock(return_value=bundle("p1", f"{BASE}?page=2"))
    router.get(f"{BASE}?page=2").mock(return_value=bundle("p2", f"{BASE}?page=3"))
    router.get(f"{BASE}?page=3").mock(return_value=bundle("p3", f"{BASE}?page=4"))
    with pytest.raises(UpstreamBadResponse, match="more than 3 result pages"):
        await annuaire.practitioner(DURAND)


async def test_a_malformed_entry_is_a_bad_response(
    router: respx.MockRouter, annuaire: AnnuaireClient
) -> None:
    body = {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Practitioner", "name": "not a list"}}],
    }
    router.get(f"{BASE}/Practitioner").mock(
        return_value=httpx.Response(200, json=body, headers=FHIR_HEADERS)
    )
    with pytest.raises(UpstreamBadResponse, match="Annuaire Santé sent malformed FHIR"):
        await annuaire.practitioner(DURAND)
