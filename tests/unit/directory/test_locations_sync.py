"""``sync_locations`` against a paging FHIR stub and a CSV geocoder stub (respx)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import respx

from gateway.directory.locations_export import SasScope
from gateway.directory.locations_file import LOCATIONS_FILE, load_columns, read_manifest
from gateway.directory.locations_run import LocationsRun, sync_locations
from gateway.errors import UpstreamError
from gateway.geo.batch import BatchGeocoder
from gateway.geo.communes import CommuneIndex, load_communes
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient
from tests.annuaire_stub import ANNUAIRE_URL, GEOCODER_URL, AnnuaireStub, GeocoderStub

SCOPE = SasScope(frozenset({"50", "70"}), frozenset({"SM54", "SM04"}))
BOETIE = ("12 Rue LA BOETIE", "75108")
GABRIEL = ("3 Avenue GABRIEL PERI", "92036")


class Quiet:
    def phase(self, name: str) -> None: ...

    def page(self, roles: int) -> None: ...

    def geocoded(self, addresses: int) -> None: ...


@pytest.fixture(scope="module")
def communes() -> CommuneIndex:
    return load_communes()


def directory() -> AnnuaireStub:
    stub = AnnuaireStub()
    stub.practitioner("p1", "10000000001", "DUPONT", "Marie", "10", "SM54")
    stub.practitioner("p2", "10000000002", "MARTIN", "Luc", "10", "SM04")
    stub.practitioner("p3", "10000000003", "PETIT", "Léa", "21")  # pharmacist: not the SAS's
    stub.practitioner("p4", "10000000004", "ROUX", "Anne", "50")
    stub.practitioner("p5", "10000000005", "BLANC", "Paul", "10", "SM99")
    stub.organization("o1", "Cabinet Boétie", "12", "R", "LA BOETIE", "75108", "75008")
    stub.organization("o2", "Maison de santé", "3", "AV", "GABRIEL PERI", "92036", "92230")
    stub.organization("o3", "Centre Lyon", "1", "PL", "BELLECOUR", "69382", "69002")
    for rid, practitioner, organization in [
        ("r1", "p1", "o1"), ("r2", "p1", "o2"), ("r3", "p2", "o3"),
        ("r4", "p3", "o1"), ("r5", "p4", "o2"), ("r6", "p5", "o1"),
    ]:  # fmt: skip
        stub.role(rid, practitioner, organization)
    return stub


def geocoder_stub() -> GeocoderStub:
    return GeocoderStub(
        {
            BOETIE: (48.8731, 2.3115, 0.93, "housenumber", "75108"),
            GABRIEL: (48.9301, 2.2905, 0.31, "housenumber", "92036"),  # too low a score
            # a confident answer, but in another commune than the address's
            ("1 Place BELLECOUR", "69382"): (45.76, 4.83, 0.9, "street", "69383"),
        }
    )


@dataclass
class Upstreams:
    annuaire: AnnuaireStub
    geocoder: GeocoderStub
    mock: respx.MockRouter


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    with respx.mock(assert_all_called=False) as mock:
        found = Upstreams(directory(), geocoder_stub(), mock)
        mock.get(url__startswith=ANNUAIRE_URL).mock(side_effect=found.annuaire)
        mock.post(f"{GEOCODER_URL}/search/csv").mock(side_effect=found.geocoder)
        yield found


async def run(
    out: Path, communes: CommuneIndex, *, full: bool = False, geocoder_url: str = GEOCODER_URL
) -> LocationsRun:
    annuaire = UpstreamClient(
        UpstreamSettings("annuaire", ANNUAIRE_URL, retries=0, rate_per_s=1000.0)
    )
    geocoder = BatchGeocoder(
        UpstreamClient(UpstreamSettings("geocoder", geocoder_url, retries=0, rate_per_s=1000.0)),
        communes,
        batch_size=2,
    )
    try:
        return await sync_locations(
            out, annuaire=annuaire, geocoder=geocoder, scope=SCOPE, progress=Quiet(),
            full=full, page_size=2,
        )  # fmt: skip
    finally:
        await annuaire.aclose()
        await geocoder.upstream.aclose()


def rows(out: Path) -> dict[tuple[int, str], dict[str, Any]]:
    columns, _ = load_columns(out / LOCATIONS_FILE)
    found = {}
    for i in range(columns["idnps"].size):
        row = {
            name: (bytes(v).decode() if isinstance(v, np.bytes_) else v.item())
            for name, v in ((name, columns[name][i]) for name in columns)
        }
        found[(row["idnps"], row["insee"])] = row
    return found


async def test_a_full_run_writes_the_sas_practitioners_placed(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    done = await run(tmp_path, communes)
    assert done.paging.mode == "full"
    assert done.paging.pages == 3  # 6 roles, 2 per page: next links followed
    found = rows(tmp_path)
    assert set(found) == {
        (810000000001, "75108"), (810000000001, "92036"), (810000000002, "69382"),
        (810000000004, "92036"),
    }  # fmt: skip
    boetie = found[(810000000001, "75108")]
    assert (boetie["family"], boetie["given"], boetie["specialty"]) == ("DUPONT", "Marie", "SM54")
    assert (boetie["organization"], boetie["address"]) == ("Cabinet Boétie", BOETIE[0])
    assert (boetie["precision"], boetie["lat"]) == ("housenumber", 48.8731)
    # a low score, or an answer in another commune: the commune's point
    for key in [(810000000001, "92036"), (810000000002, "69382")]:
        commune = communes.by_insee(key[1])
        assert commune is not None
        assert (found[key]["precision"], found[key]["lat"]) == ("city", commune.lat)
    assert sorted(r["ordinal"] for r in found.values() if r["idnps"] == 810000000001) == [0, 1]
    manifest = read_manifest(tmp_path)
    assert manifest is not None
    assert manifest.version == done.manifest.version
    assert (manifest.locations, manifest.practitioners) == (4, 3)
    assert manifest.by_profession == {"10": 3, "50": 1}
    assert manifest.precision == {"housenumber": 1, "city": 3}
    assert manifest.source.rstrip("/") == ANNUAIRE_URL
    assert done.export.out_of_scope == 2


async def test_a_name_longer_than_its_column_is_cut_at_a_character_boundary(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    upstreams.annuaire.touch("Organization", "o1", name="Cabinet " + "é" * 40)  # 88 bytes
    await run(tmp_path, communes)
    found = rows(tmp_path)  # decodes every text column: valid UTF-8
    assert found[(810000000001, "75108")]["organization"] == "Cabinet " + "é" * 26  # 60 bytes
    assert found[(810000000001, "92036")]["organization"] == "Maison de santé"


async def test_an_unchanged_re_sync_geocodes_nothing_and_keeps_its_version(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    first = await run(tmp_path, communes)
    rows_geocoded = upstreams.geocoder.rows
    before = (tmp_path / LOCATIONS_FILE).stat().st_mtime_ns
    again = await run(tmp_path, communes)
    assert again.paging.mode == "incremental"
    assert again.geocoding.addresses == 0
    assert upstreams.geocoder.rows == rows_geocoded
    assert (again.manifest.version, again.changed) == (first.manifest.version, False)
    assert (tmp_path / LOCATIONS_FILE).stat().st_mtime_ns == before
    # incremental: only what changed since the last run's start is asked for
    last = upstreams.annuaire.pages_of("PractitionerRole")[-1]
    assert last.url.params["_lastUpdated"].startswith("ge")


async def test_a_moving_practitioner_is_geocoded_once_and_the_old_place_removed(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    await run(tmp_path, communes)
    stub = upstreams.annuaire
    stub.organization("o4", "Cabinet Neuf", "7", "R", "DE RIVOLI", "75101", "75001")
    upstreams.geocoder.known[("7 Rue DE RIVOLI", "75101")] = (
        48.86,
        2.34,
        0.95,
        "housenumber",
        "75101",
    )
    stub.touch("PractitionerRole", "r3", active=False)  # leaves Lyon
    stub.role("r7", "p2", "o4")  # opens in Paris 1er
    rows_before = upstreams.geocoder.rows
    done = await run(tmp_path, communes)
    assert done.geocoding.addresses == 1
    assert upstreams.geocoder.rows == rows_before + 1
    found = rows(tmp_path)
    assert (810000000002, "69382") not in found
    assert found[(810000000002, "75101")]["precision"] == "housenumber"
    assert done.changed


async def test_a_practitioner_s_new_name_reaches_the_index_without_a_role_change(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    await run(tmp_path, communes)
    resource = upstreams.annuaire.resources[("Practitioner", "p4")]
    upstreams.annuaire.touch(
        "Practitioner", "p4", name=[{"family": "ROUX-DURAND", "given": ["Anne"]}]
    )
    assert resource["name"][0]["family"] == "ROUX"
    await run(tmp_path, communes)
    assert rows(tmp_path)[(810000000004, "92036")]["family"] == "ROUX-DURAND"


async def test_an_upstream_failing_mid_run_resumes_from_the_failed_page(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    upstreams.annuaire.fail_pages = {2}
    with pytest.raises(UpstreamError):
        await run(tmp_path, communes)
    assert not (tmp_path / LOCATIONS_FILE).exists()  # nothing half-written
    asked = len(upstreams.annuaire.requests)
    done = await run(tmp_path, communes)
    assert done.paging.resumed
    assert done.paging.pages == 2  # pages 2 and 3, not page 1 again
    first_again = upstreams.annuaire.requests[asked]
    assert first_again.url.params.get("_offset") == "2"
    assert len(rows(tmp_path)) == 4
    # page 1's addresses were geocoded before the stop, or are by the resumed run: once
    assert upstreams.geocoder.rows == 3
    assert rows(tmp_path)[(810000000001, "75108")]["precision"] == "housenumber"


async def test_a_malformed_page_stops_the_run_and_keeps_the_last_good_files(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    first = await run(tmp_path, communes)
    upstreams.annuaire.touch("Practitioner", "p1", name=[{"family": "X", "given": ["Y"]}])
    upstreams.annuaire.malformed_pages = {upstreams.annuaire.served_pages + 1}
    with pytest.raises(UpstreamError, match="malformed"):
        await run(tmp_path, communes)
    manifest = read_manifest(tmp_path)
    assert manifest is not None
    assert manifest.version == first.manifest.version
    done = await run(tmp_path, communes)
    assert done.paging.resumed
    assert rows(tmp_path)[(810000000001, "75108")]["family"] == "X"


async def test_a_role_on_two_pages_is_one_location(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    upstreams.annuaire.repeat_first = True
    done = await run(tmp_path, communes, full=True)
    assert done.paging.roles == 6 + 2  # r1 read on each of the three pages
    columns, _ = load_columns(tmp_path / LOCATIONS_FILE)
    pairs = list(zip(columns["idnps"].tolist(), columns["insee"].tolist(), strict=True))
    assert len(pairs) == len(set(pairs)) == 4


async def test_organizations_a_server_did_not_include_are_fetched_by_id(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    upstreams.annuaire.ignore_includes = True
    done = await run(tmp_path, communes)
    by_id = [r for r in upstreams.annuaire.requests if "_id" in r.url.params]
    asked = [
        (r.url.path.rsplit("/", 1)[-1], i) for r in by_id for i in r.url.params["_id"].split(",")
    ]
    # each missing resource asked for once, in one call per page and kind
    assert sorted(asked) == sorted(
        [("Organization", o) for o in ("o1", "o2", "o3")]
        + [("Practitioner", f"p{n}") for n in range(1, 6)]
    )
    assert len(by_id) <= 2 * done.paging.pages
    assert len(rows(tmp_path)) == 4


async def test_resources_already_held_are_not_fetched_again_when_a_page_lacks_them(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    await run(tmp_path, communes)
    stub = upstreams.annuaire
    stub.ignore_includes = True
    stub.touch("PractitionerRole", "r1")  # changed, its practitioner and organization unchanged
    asked_before = len(stub.requests)
    await run(tmp_path, communes)
    by_id = [r for r in stub.requests[asked_before:] if "_id" in r.url.params]
    assert by_id == []


async def test_a_full_run_removes_roles_the_directory_no_longer_has(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    await run(tmp_path, communes)
    upstreams.annuaire.delete("PractitionerRole", "r5")
    done = await run(tmp_path, communes, full=True)
    assert done.paging.removed == 1
    assert (810000000004, "92036") not in rows(tmp_path)


async def test_offline_every_address_gets_its_commune_point(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    done = await run(tmp_path, communes, geocoder_url="")
    assert upstreams.geocoder.calls == 0
    assert {r["precision"] for r in rows(tmp_path).values()} == {"city"}
    assert done.manifest.locations == 4


async def test_a_failing_geocoder_decides_nothing_and_is_asked_again_next_run(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    upstreams.geocoder.fail = True
    done = await run(tmp_path, communes)
    assert done.geocoding.error is not None
    assert {r["precision"] for r in rows(tmp_path).values()} == {"city"}
    upstreams.geocoder.fail = False
    again = await run(tmp_path, communes)
    assert again.geocoding.geocoded == 3
    assert rows(tmp_path)[(810000000001, "75108")]["precision"] == "housenumber"


async def test_addresses_are_geocoded_while_the_directory_is_still_paged(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    timeline: list[str] = []

    async def slow_annuaire(request: httpx.Request) -> httpx.Response:
        timeline.append(f"page {request.url.params.get('_offset', '0')}")
        await asyncio.sleep(0.05)  # a quota-bound directory: the geocoder is free meanwhile
        return upstreams.annuaire(request)

    def geocoder(request: httpx.Request) -> httpx.Response:
        timeline.append("geocode")
        return upstreams.geocoder(request)

    upstreams.mock.get(url__startswith=ANNUAIRE_URL).mock(side_effect=slow_annuaire)
    upstreams.mock.post(f"{GEOCODER_URL}/search/csv").mock(side_effect=geocoder)
    done = await run(tmp_path, communes)
    # page 1 holds two addresses, a full batch: geocoded before the last page is asked for
    assert timeline.index("geocode") < timeline.index("page 4")
    assert done.geocoding.addresses == 3
    assert upstreams.geocoder.rows == 3
    assert rows(tmp_path)[(810000000001, "75108")]["precision"] == "housenumber"


async def test_an_address_on_every_page_is_geocoded_once(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    upstreams.annuaire.repeat_first = True  # r1 (at o1) on each page
    done = await run(tmp_path, communes, full=True)
    assert upstreams.geocoder.rows == done.geocoding.addresses == 3


async def test_an_address_that_cannot_be_placed_is_asked_once_per_run(
    tmp_path: Path, upstreams: Upstreams, communes: CommuneIndex
) -> None:
    upstreams.annuaire.organization("o9", "Nulle part", "1", "R", "DU VIDE", "99999", "99999")
    upstreams.annuaire.role("r9", "p4", "o9")  # unknown commune: no point, not even the commune's
    done = await run(tmp_path, communes)
    assert done.geocoding.addresses == upstreams.geocoder.rows == 4
