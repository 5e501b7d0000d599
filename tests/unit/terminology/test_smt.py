"""SMT client against respx-mocked answers shaped like the real server's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from gateway.errors import UnknownCode, UpstreamBadResponse
from gateway.terminology.model import CodeSystem
from gateway.terminology.smt import SmtClient, alias_search
from gateway.upstream import UpstreamClient
from tests.conftest import FHIR_HEADERS, SMT_URL, online_settings, searchset
from tests.samples import JDV_J239, TRE_R38, smt_tre_r38


@pytest.fixture
async def smt() -> AsyncIterator[SmtClient]:
    upstream = UpstreamClient(online_settings().smt)
    yield SmtClient(upstream, page_size=3)
    await upstream.aclose()


def _page(codes: list[str], total: int) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "url": JDV_J239,
        "expansion": {
            "total": total,
            "contains": [{"system": TRE_R38, "code": c, "display": c} for c in codes],
        },
    }


@respx.mock
async def test_read_by_canonical_sends_url_and_version(smt: SmtClient) -> None:
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=httpx.Response(200, json=searchset(smt_tre_r38()), headers=FHIR_HEADERS)
    )
    found = await smt.read("CodeSystem", TRE_R38, "20260730120000")
    assert len(found) == 1
    resource, raw = found[0]
    assert isinstance(resource, CodeSystem)
    assert resource.version == "20260730120000"
    assert b'"resourceType"' in raw
    sent = route.calls.last.request
    assert sent.url.params["url"] == TRE_R38
    assert sent.url.params["version"] == "20260730120000"
    assert sent.headers["Accept"] == "application/fhir+json"


@respx.mock
async def test_read_of_an_empty_searchset_is_an_empty_list(smt: SmtClient) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=httpx.Response(200, json=searchset(), headers=FHIR_HEADERS)
    )
    assert await smt.read("CodeSystem", "https://unknown.test/cs") == []


@respx.mock
async def test_truncated_json_is_a_bad_response(smt: SmtClient) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=httpx.Response(
            200, content=b'{"resourceType": "Bundle", "entry": [', headers=FHIR_HEADERS
        )
    )
    with pytest.raises(UpstreamBadResponse):
        await smt.read("CodeSystem", TRE_R38)


@respx.mock
async def test_expand_all_pages_without_trusting_total(smt: SmtClient) -> None:
    # total lies (= page size), as observed on the SMT; paging must go on until a short page
    pages = [_page(["A", "B", "C"], 3), _page(["D", "E", "F"], 3), _page(["G"], 3)]
    route = respx.get(f"{SMT_URL}/ValueSet/$expand").mock(
        side_effect=[httpx.Response(200, json=p, headers=FHIR_HEADERS) for p in pages]
    )
    contains = await smt.expand_all(JDV_J239)
    assert [c.code for c in contains] == ["A", "B", "C", "D", "E", "F", "G"]
    offsets = [call.request.url.params["offset"] for call in route.calls]
    assert offsets == ["0", "3", "6"]


@respx.mock
async def test_expand_all_stops_when_offset_is_capped(smt: SmtClient) -> None:
    # a server that ignores offset past a cap keeps sending the same full page
    respx.get(f"{SMT_URL}/ValueSet/$expand").mock(
        return_value=httpx.Response(200, json=_page(["A", "B", "C"], 999), headers=FHIR_HEADERS)
    )
    contains = await smt.expand_all(JDV_J239)
    assert [c.code for c in contains] == ["A", "B", "C"]


@respx.mock
async def test_lookup_unknown_code_is_a_semantic_negative(smt: SmtClient) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found", "details": {"text": "Unknown code"}}],
    }
    respx.get(f"{SMT_URL}/CodeSystem/$lookup").mock(
        return_value=httpx.Response(404, json=outcome, headers=FHIR_HEADERS)
    )
    with pytest.raises(UnknownCode):
        await smt.lookup(TRE_R38, "NOPE")


@pytest.mark.parametrize("status", [400, 404, 422])
@respx.mock
async def test_a_canonical_the_smt_cannot_parse_is_nothing_by_that_name(
    smt: SmtClient, status: int
) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=httpx.Response(status, json={"resourceType": "OperationOutcome"})
    )
    respx.get(f"{SMT_URL}/CodeSystem/$lookup").mock(
        return_value=httpx.Response(status, json={"resourceType": "OperationOutcome"})
    )
    assert await smt.read("CodeSystem", "not a url") == []
    with pytest.raises(UnknownCode):
        await smt.lookup("not a url", "X")


@respx.mock
async def test_an_expansion_refused_is_a_bad_response_not_an_empty_value_set(
    smt: SmtClient,
) -> None:
    respx.get(f"{SMT_URL}/ValueSet/$expand").mock(
        return_value=httpx.Response(404, json={"resourceType": "OperationOutcome"})
    )
    with pytest.raises(UpstreamBadResponse, match="HTTP 404"):
        await smt.expand_all(JDV_J239)


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("urn:oid:1.2.250.1.213.2.28", ("identifier", "urn:oid:1.2.250.1.213.2.28")),
        ("1.2.250.1.213.2.28", ("identifier", "urn:oid:1.2.250.1.213.2.28")),
        ("TRE_R38", ("name", "TRE_R38")),
        ("tre-r38-SpecialiteOrdinale", ("name", "TRE_R38")),
        ("JDV_J01-XdsAuthorSpecialty-CISIS", ("name", "JDV_J01")),
        (TRE_R38, None),  # a canonical URL is read by url, not searched
        ("http://example.org/TRE_R38", None),
        ("SM54", None),
        ("1.2", ("identifier", "urn:oid:1.2")),
        ("3.2.1", None),  # OIDs start with 0, 1 or 2
    ],
)
def test_alias_search_parameters(alias: str, expected: tuple[str, str] | None) -> None:
    assert alias_search(alias) == expected


def _listing(urls: list[str], next_url: str | None = None) -> dict[str, Any]:
    bundle = searchset(*({"resourceType": "CodeSystem", "url": u} for u in urls))
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


@respx.mock
async def test_the_catalogue_follows_next_links_and_keeps_each_nos_once(smt: SmtClient) -> None:
    r38, g15 = TRE_R38, smt_tre_r38()["url"].replace("R38-SpecialiteOrdinale", "G15-Profession")
    route = respx.get(f"{SMT_URL}/CodeSystem").mock(
        side_effect=[
            httpx.Response(
                200,
                json=_listing([r38, "http://loinc.org"], f"{SMT_URL}/CodeSystem?page=2"),
                headers=FHIR_HEADERS,
            ),
            httpx.Response(200, json=_listing([g15, r38 + "/"]), headers=FHIR_HEADERS),
        ]
    )
    found = [listed.url async for listed in smt.catalogue("CodeSystem")]
    assert found == [r38, g15]
    assert route.calls[0].request.url.params["_elements"] == "url,version,name,identifier"
    assert route.calls[1].request.url.params["page"] == "2"
