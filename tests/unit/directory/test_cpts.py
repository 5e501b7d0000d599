"""CPTS zones: parsing (real ROR and SAS examples), expansion, the index, loaders online/offline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.healthcareservice import HealthcareService as FhirService
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.organization import Organization as FhirOrganization

from gateway.directory.cpts import (
    Cpts,
    CptsIndex,
    build_cpts_index,
    load_cpts_snapshot,
)
from gateway.directory.identifiers import luhn_valid
from gateway.directory.ror import RorClient, fetch_cpts_index
from gateway.directory.ror_fhir import (
    TRE_R66,
    HealthcareService,
    Location,
    Zone,
    ZoneLevel,
    decode_resources,
    parse_zones,
)
from gateway.errors import UpstreamBadResponse, UpstreamUnavailable
from gateway.settings import DEMO_SNAPSHOT_DIR, RorSettings, UpstreamSettings
from tests.unit.directory import (
    FHIR_HEADERS,
    ROR_URL,
    TOKEN_URL,
    FakeCommunes,
    offer,
    organization,
    searchset,
    zone,
)


def decode(*resources: dict[str, Any]) -> list[Any]:
    problems: list[str] = []
    found = decode_resources(msgspec.json.encode(searchset(*resources)), problems)
    assert problems == []
    return found


def index_of(*resources: dict[str, Any], **options: Any) -> CptsIndex:
    return build_cpts_index(decode(*resources), FakeCommunes(), **options)


def covering(index: CptsIndex, insee: str) -> list[tuple[str, str]]:
    return [(m.cpts.id, m.zone_level.value) for m in index.covering(insee)]


# --- the real reference examples ------------------------------------------------------


def test_ror_intervention_zone_example_parses(reference_dir: Path) -> None:
    path = (
        reference_dir
        / "ror"
        / "DOC-saisie_offre-scenario3-HealthcareService-zone-intervention.json"
    )
    problems: list[str] = []
    [service] = decode_resources(path.read_bytes(), problems)
    assert isinstance(service, HealthcareService)
    assert parse_zones(service.extension, problems) == [Zone(ZoneLevel.COMMUNE, "92036")]
    assert problems == []
    # with the CPTS that provides it (Organization/2424), the zone and phone reach the index
    cpts = decode(organization("2424", "CPTS of the example"))
    index = build_cpts_index([*cpts, service], FakeCommunes())
    assert covering(index, "92036") == [("2424", "commune")]
    assert index.cpts[0].phone == "01.01.01.01.01"  # public number of the ROR contact extension


def test_ror_examples_without_cpts_give_an_empty_index(reference_dir: Path) -> None:
    index = load_cpts_snapshot(reference_dir / "ror", FakeCommunes())
    assert index.report.files == 3
    assert index.report.resources == 3  # two HealthcareServices and a Location
    assert index.report.problems == []
    assert len(index) == 0
    problems: list[str] = []
    path = reference_dir / "ror" / "Location-ror-location-exemple.json"
    assert isinstance(decode_resources(path.read_bytes(), problems)[0], Location)


def test_sas_cpts_examples_parse(reference_dir: Path) -> None:
    index = load_cpts_snapshot(reference_dir / "sas" / "examples", FakeCommunes())
    assert index.report.problems == []
    # each CPTS appears in several Bundles and its own file: deduplicated by id
    assert {(c.id, c.finess, c.name, c.phone) for c in index.cpts} == {
        ("ExampleOrgaCPTS1", "950047225", "CPTS AXE MAJEUR", "+33102030405"),
        ("ExampleOrgaCPTS2", "950046227", "CPTS VAL D OISE CENTRE", "+33139599280"),
    }
    assert all(c.zones == () for c in index.cpts)  # the SAS examples carry no zone
    assert index.communes == 0


# --- zones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        (1, "94", Zone(ZoneLevel.REGION, "94")),
        (2, "48", Zone(ZoneLevel.DEPARTEMENT, "48")),
        (2, "2a", Zone(ZoneLevel.DEPARTEMENT, "2A")),
        (2, "971", Zone(ZoneLevel.DEPARTEMENT, "971")),
        (2, "1", Zone(ZoneLevel.DEPARTEMENT, "01")),
        (3, "92036", Zone(ZoneLevel.COMMUNE, "92036")),
        (3, "1001", Zone(ZoneLevel.COMMUNE, "01001")),
        (3, "2B033", Zone(ZoneLevel.COMMUNE, "2B033")),
        (4, "4801", Zone(ZoneLevel.TERRITOIRE, "4801")),
    ],
)
def test_zone_levels(level: int, code: str, expected: Zone) -> None:
    [service] = decode(offer("hs", "org", zone(level, code)))
    problems: list[str] = []
    assert parse_zones(service.extension, problems) == [expected]
    assert problems == []


@pytest.mark.parametrize(("level", "code"), [(5, "92036"), (3, "9203X"), (2, "4800"), (1, "A")])
def test_bad_zones_are_reported_and_skipped(level: int, code: str) -> None:
    [service] = decode(offer("hs", "org", zone(level, code), zone(3, "92036")))
    problems: list[str] = []
    assert parse_zones(service.extension, problems) == [Zone(ZoneLevel.COMMUNE, "92036")]
    assert len(problems) == 1


def test_departement_zone_covers_all_its_communes() -> None:
    communes = FakeCommunes()
    resources = decode(
        organization("lozere", "CPTS Lozère", finess="489999901"),
        offer("hs-lozere", "lozere", zone(2, "48")),
        organization("other", "CPTS Other", extensions=[zone(2, "48")]),
    )
    index = build_cpts_index(resources, communes)
    for insee in ("48095", "48061", "48001"):
        assert covering(index, insee) == [("lozere", "departement"), ("other", "departement")]
    assert covering(index, "92036") == []
    assert communes.calls == [(2, "48")]  # expanded once, however many CPTS share the zone


def test_region_and_territoire_zones_expand_through_communes_of() -> None:
    index = index_of(
        organization("corse", "CPTS Corse", extensions=[zone(1, "94")]),
        organization("ts", "CPTS Territoire", extensions=[zone(4, "4801")]),
    )
    assert covering(index, "2A004") == [("corse", "region")]
    assert covering(index, "48061") == [("ts", "territoire")]


def test_a_zone_with_no_known_commune_is_reported() -> None:
    index = index_of(organization("x", "CPTS X", extensions=[zone(2, "976")]))
    assert index.report.problems == ["no commune known for departement 976"]
    assert index.communes == 0


def test_most_specific_level_wins_and_orders_results() -> None:
    index = index_of(
        organization("b-dep", "B departement", extensions=[zone(2, "48")]),
        organization("a-region", "A region", extensions=[zone(1, "94")]),
        organization("c-both", "C both", extensions=[zone(2, "48"), zone(3, "48095")]),
    )
    assert covering(index, "48095") == [("c-both", "commune"), ("b-dep", "departement")]
    assert covering(index, "48061") == [("b-dep", "departement"), ("c-both", "departement")]


def test_paris_arrondissements_and_city_find_each_other() -> None:
    index = index_of(
        organization("p18", "CPTS Paris 18", extensions=[zone(3, "75118")]),
        organization("paris", "CPTS Paris", extensions=[zone(3, "75056")]),
    )
    assert covering(index, "75118") == [("paris", "commune"), ("p18", "commune")]
    assert covering(index, "75056") == [("paris", "commune"), ("p18", "commune")]
    assert covering(index, "75101") == [("paris", "commune")]


def test_only_active_cpts_organizations_count() -> None:
    index = index_of(
        organization("closed", "Closed", active=False, extensions=[zone(3, "92036")]),
        organization("hospital", "Not a CPTS", category="355", extensions=[zone(3, "92036")]),
        organization("cpts", "CPTS"),
        offer("old", "cpts", zone(3, "92004"), active=False),
        offer("new", "cpts", zone(3, "92036")),
    )
    assert [c.id for c in index.cpts] == ["cpts"]
    assert covering(index, "92036") == [("cpts", "commune")]
    assert covering(index, "92004") == []


def test_604_in_another_code_system_is_not_a_cpts() -> None:
    org = organization("x", "X", extensions=[zone(3, "92036")])
    org["type"] = [{"coding": [{"system": "https://example.test/other", "code": "604"}]}]
    assert len(index_of(org)) == 0


def test_finess_from_a_finess_identifier_and_members_url() -> None:
    org = organization("x", "CPTS X", extensions=[zone(3, "92036")])
    org["identifier"] = {"system": "https://finess.esante.gouv.fr", "value": "929999901"}
    [cpts] = index_of(org, members_base_url="https://ror.test/fhir/").cpts
    assert cpts.finess == "929999901"
    assert cpts.members_url == "https://ror.test/fhir/PractitionerRole?organization=Organization/x"


# --- offline snapshot -------------------------------------------------------------------


def test_snapshot_loader_reads_recursively_and_skips_bad_files(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    page = searchset(organization("x", "CPTS X"), offer("hs", "x", zone(3, "92036")))
    outer = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": page}]}
    (nested / "bundle.json").write_text(json.dumps(outer))
    (tmp_path / "broken.json").write_text('{"resourceType": "Organization", "name": ')
    (tmp_path / "codesystem.json").write_text('{"resourceType": "CodeSystem", "url": "x"}')
    index = load_cpts_snapshot(tmp_path, FakeCommunes())
    assert covering(index, "92036") == [("x", "commune")]
    assert index.report.files == 3
    assert len(index.report.problems) == 1
    assert "broken.json" in index.report.problems[0]


def test_missing_snapshot_directory_is_reported(tmp_path: Path) -> None:
    index = load_cpts_snapshot(tmp_path / "absent", FakeCommunes())
    assert len(index) == 0
    assert index.report.problems == [f"{tmp_path / 'absent'}: not a directory"]


def test_demo_snapshot_cpts() -> None:
    index = load_cpts_snapshot(DEMO_SNAPSHOT_DIR, FakeCommunes())
    assert index.report.problems == []
    assert covering(index, "92036") == [("demo-cpts-boucle-nord-92", "commune")]
    assert covering(index, "92004") == [("demo-cpts-boucle-nord-92", "commune")]
    assert covering(index, "48095") == [("demo-cpts-lozere", "departement")]
    assert covering(index, "75118") == [("demo-cpts-paris-17-18", "commune")]
    for cpts in index.cpts:  # fictitious: 9 digits that fail the FINESS check digit
        assert cpts.finess is not None
        assert len(cpts.finess) == 9
        assert not luhn_valid(cpts.finess)
        assert "(fictive)" in cpts.name
        assert cpts.phone is not None


def test_demo_cpts_files_are_valid_fhir_r4() -> None:
    models: dict[str, Any] = {
        "Bundle": Bundle,
        "Organization": FhirOrganization,
        "HealthcareService": FhirService,
        "Location": FhirLocation,
    }
    files = sorted((DEMO_SNAPSHOT_DIR / "directory").glob("*-demo-cpts-*.json"))
    assert len(files) == 6
    for path in files:
        body = json.loads(path.read_text(encoding="utf-8"))
        models[body["resourceType"]].model_validate(body)


# --- online, from the ROR ---------------------------------------------------------------

PAGE_2 = f"{ROR_URL}?_getpages=abc&_getpagesoffset=1"


@pytest.fixture
def router() -> respx.MockRouter:
    router = respx.MockRouter(assert_all_called=False)
    router.post(TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": "t", "expires_in": 300})
    )
    return router


@pytest.fixture
async def ror(router: respx.MockRouter) -> AsyncIterator[RorClient]:
    upstream = UpstreamSettings(name="ror", url=ROR_URL, budget_s=2.0, retries=0, rate_per_s=1e3)
    settings = RorSettings(upstream, token_url=TOKEN_URL, client_id="id", client_secret="secret")
    transport = httpx.MockTransport(router.async_handler)
    client = RorClient(settings, transport=transport, token_transport=transport, page_size=2)
    yield client
    await client.aclose()


def pages() -> list[dict[str, Any]]:
    return [
        searchset(
            organization("a", "CPTS A", finess="929999901"),
            offer("hs-a", "a", zone(3, "92036")),
            next_url=PAGE_2,
        ),
        searchset(organization("b", "CPTS B"), offer("hs-b", "b", zone(2, "48"))),
    ]


def answer(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body, headers=FHIR_HEADERS)


async def test_online_fetch_follows_next_links_without_total(
    router: respx.MockRouter, ror: RorClient, tmp_path: Path
) -> None:
    first, second = pages()
    search = router.get(f"{ROR_URL}/Organization").mock(return_value=answer(first))
    follow = router.get(PAGE_2).mock(return_value=answer(second))
    index = await fetch_cpts_index(ror, FakeCommunes())
    assert covering(index, "92036") == [("a", "commune")]
    assert covering(index, "48095") == [("b", "departement")]
    sent = search.calls.last.request.url.params
    assert sent["type"] == f"{TRE_R66}|604"
    assert sent["_revinclude"] == "HealthcareService:organization"
    assert sent["_count"] == "2"
    assert str(follow.calls.last.request.url) == PAGE_2
    assert follow.calls.last.request.headers["Authorization"] == "Bearer t"
    assert index.source == f"ror:{ROR_URL}"
    # the same pages stored as a snapshot give the same index offline
    for n, page in enumerate(pages()):
        (tmp_path / f"page-{n}.json").write_text(json.dumps(page))
    offline = load_cpts_snapshot(tmp_path, FakeCommunes())
    assert offline.cpts == index.cpts
    assert isinstance(index.cpts[0], Cpts)


async def test_next_link_to_another_host_is_not_followed(
    router: respx.MockRouter, ror: RorClient
) -> None:
    evil = "https://evil.test/steal?page=2"
    router.get(f"{ROR_URL}/Organization").mock(
        return_value=answer(searchset(organization("a", "A"), next_url=evil))
    )
    elsewhere = router.get(evil).mock(return_value=answer(searchset()))
    with pytest.raises(UpstreamBadResponse, match=r"outside ror\.test"):
        await fetch_cpts_index(ror, FakeCommunes())
    assert elsewhere.call_count == 0


async def test_looping_next_links_stop(router: respx.MockRouter, ror: RorClient) -> None:
    router.get(f"{ROR_URL}/Organization").mock(return_value=answer(searchset(next_url=PAGE_2)))
    loop = router.get(PAGE_2).mock(return_value=answer(searchset(next_url=PAGE_2)))
    with pytest.raises(UpstreamBadResponse, match="loops"):
        await fetch_cpts_index(ror, FakeCommunes())
    assert loop.call_count == 1


async def test_ror_refusal_is_unavailable_and_names_the_headers(
    router: respx.MockRouter, ror: RorClient
) -> None:
    router.get(f"{ROR_URL}/Organization").mock(return_value=httpx.Response(403))
    with pytest.raises(UpstreamUnavailable, match="GATEWAY_ROR_ROLE_METIER"):
        await fetch_cpts_index(ror, FakeCommunes())


async def test_a_search_answer_that_is_not_a_bundle_is_bad(
    router: respx.MockRouter, ror: RorClient
) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    router.get(f"{ROR_URL}/Organization").mock(return_value=answer(outcome))
    with pytest.raises(UpstreamBadResponse, match="OperationOutcome"):
        await fetch_cpts_index(ror, FakeCommunes())
