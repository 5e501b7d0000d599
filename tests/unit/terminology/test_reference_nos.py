"""Every file of ../shared/reference/nos (current and legacy exports) loads and answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.terminology.indexed import IndexedCodeSystem, IndexedValueSet
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.service import TerminologyService
from gateway.terminology.store import TerminologyStore


@pytest.fixture
def reference_service(nos_dir: Path) -> TerminologyService:
    store = TerminologyStore()
    report = store.load_directory(nos_dir)
    assert report.errors == []
    assert report.files == len(list(nos_dir.rglob("*.json")))
    return TerminologyService(ResourceResolver(store))


def test_every_reference_file_loads_including_legacy(nos_dir: Path) -> None:
    store = TerminologyStore()
    report = store.load_directory(nos_dir)
    assert report.errors == []
    assert report.count() == report.files >= 12
    sources = {i.source for i in store.all(IndexedCodeSystem)}
    assert len(sources) == 3  # one file name per code system, loaded twice (current + legacy)
    assert len(store.all(IndexedCodeSystem)) == 6


async def test_oid_lookup_gives_the_latest_timestamp_version(
    reference_service: TerminologyService,
) -> None:
    found = (await reference_service.lookup("urn:oid:1.2.250.1.213.2.28", "SM54")).value
    cs, concept = found.codesystem, found.concept
    assert cs.version == "20260730120000"
    assert concept.display == "Médecine générale (SM)"
    found = (await reference_service.lookup("urn:oid:1.2.250.1.71.1.2.7", "40")).value
    cs, concept = found.codesystem, found.concept
    assert concept.display == "Chirurgien-Dentiste"


async def test_legacy_version_is_still_addressable(reference_service: TerminologyService) -> None:
    cs = (await reference_service.lookup("TRE_R38", "SM54", version="0.1.0")).value.codesystem
    assert cs.version == "0.1.0"


async def test_deprecated_code_is_inactive_in_current_and_legacy_formats(
    reference_service: TerminologyService,
) -> None:
    current = (await reference_service.lookup("TRE_R38", "SP01")).value.concept
    legacy = (await reference_service.lookup("TRE_R38", "SP01", version="0.1.0")).value.concept
    assert current.inactive
    assert current.status == "deprecated"
    # the legacy export has no status property, only a past dateFin
    assert legacy.inactive


async def test_smt_url_family_and_trailing_slash_resolve(
    reference_service: TerminologyService,
) -> None:
    for system in (
        "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r38-specialiteordinale",
        "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale/",
    ):
        concept = (await reference_service.lookup(system, "SM04")).value.concept
        assert concept.code == "SM04"


def test_legacy_j239_url_typo_is_the_same_value_set(reference_service: TerminologyService) -> None:
    store = reference_service.store
    versions = store.versions_of(IndexedValueSet, "JDV_J239")
    assert versions == ["0.1.0", "20240126120000"]
    typo = (
        "https://mos.esante.gouv.fr/NOS/JDV_J23-SpecialitesSNP-SAS/FHIR/JDV-J239-SpecialitesSNP-SAS"
    )
    found = store.valueset(typo)
    assert found is not None
    assert found.version == "20240126120000"


async def test_j239_expands_to_17_specialties_and_9_professions(
    reference_service: TerminologyService,
) -> None:
    page = (await reference_service.expand("urn:oid:1.2.250.1.213.3.4.104")).value.page
    assert page.total == 26
    systems = {item.system.rsplit("/", 1)[-1] for item in page.items}
    assert systems == {"TRE-R38-SpecialiteOrdinale", "TRE-G15-ProfessionSante"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cardio", "SM04"),
        ("dentiste", "40"),
        ("medecine generale", "SM54"),
        ("Médecine Générale", "SM54"),
        ("sage femme", "50"),
        ("ORL", "SM39"),
        ("kiné", "70"),
    ],
)
async def test_search_in_j239_ranks_the_expected_code_first(
    reference_service: TerminologyService, query: str, expected: str
) -> None:
    result = await reference_service.search(query, valueset="JDV_J239")
    assert result.value, f"no match for {query!r}"
    assert result.value[0].code == expected


async def test_expand_filter_over_tre_r38_in_j210(reference_service: TerminologyService) -> None:
    page = (await reference_service.expand("JDV_J210", text_filter="chir", count=5)).value.page
    assert page.total > 5
    assert len(page.items) == 5
    assert all("chir" in " ".join(w for lw in i.label_words for w in lw) for i in page.items)
