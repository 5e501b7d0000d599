"""The Annuaire Santé IG examples (../shared/reference/annuaire) parse and index."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.directory.index import DirectoryIndex
from gateway.directory.model import Organization, Practitioner, decode_directory, rpps_of


@pytest.fixture
def examples(reference_dir: Path) -> Path:
    path = reference_dir / "annuaire" / "examples"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


def test_every_example_parses(examples: Path) -> None:
    kinds = set()
    for path in sorted(examples.glob("*.json")):
        resources, next_url = decode_directory(path.read_bytes())
        assert next_url is None
        kinds.update(type(r).__name__ for r in resources)
    assert {"Practitioner", "PractitionerRole", "Organization"} <= kinds


def test_dp_practitioner_identifiers_and_profession(examples: Path) -> None:
    (practitioner,), _ = decode_directory((examples / "Practitioner-334081DP.json").read_bytes())
    assert isinstance(practitioner, Practitioner)
    assert rpps_of(practitioner) == "10003461033"
    codes = {c.code for q in practitioner.qualification for c in q.code.coding}
    assert "10" in codes  # TRE_G15 Médecin


def test_organization_address_carries_the_insee_code(examples: Path) -> None:
    (org,), _ = decode_directory((examples / "Organization-158480DP.json").read_bytes())
    assert isinstance(org, Organization)
    assert org.address[0].insee() == "75114"
    assert org.address[0].postalCode == "75014"


def test_examples_load_as_a_snapshot_directory(examples: Path) -> None:
    index = DirectoryIndex.load(examples)
    assert "10003461033" in index.practitioners
    assert "158480DP" in index.organizations


def test_the_street_line_is_read_from_the_line_parts(examples: Path) -> None:
    (org,), _ = decode_directory((examples / "Organization-158480DP.json").read_bytes())
    assert isinstance(org, Organization)
    assert not org.address[0].line  # the IG puts the parts in `_line` extensions
    assert org.address[0].street() == "96 Rue DIDOT"


async def test_the_examples_page_into_the_locations_store(examples: Path, tmp_path: Path) -> None:
    """What ``gateway sync locations`` stores of the IG's resources, as one page."""
    from gateway.directory.locations_store import STORE_FILE, LocationsStore
    from gateway.directory.locations_sync import DirectoryPaging, PagingOutcome
    from gateway.settings import UpstreamSettings
    from gateway.upstream import UpstreamClient

    resources = [
        r for p in sorted(examples.glob("*.json")) for r in decode_directory(p.read_bytes())[0]
    ]
    store = LocationsStore(tmp_path / STORE_FILE)
    offline = UpstreamClient(UpstreamSettings("annuaire", ""))
    paging = DirectoryPaging(offline, store, progress=None)  # type: ignore[arg-type]
    await paging.apply(resources, 1, PagingOutcome())
    store.commit()
    found = {row.role: row for row in store.locations()}
    store.close()
    await offline.aclose()
    assert found, "no role of the examples became a location"
    assert all(row.practitioner.idnps.startswith("8") for row in found.values())
    # an organization without an address has no INSEE code (the export leaves it unplaced)
    assert any(row.organization.insee for row in found.values())
    saucier = {
        r.practitioner.profession for r in found.values() if r.practitioner.family == "Saucier"
    }
    assert saucier == {"10"}
