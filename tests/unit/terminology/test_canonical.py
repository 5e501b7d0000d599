from __future__ import annotations

import pytest

from gateway.terminology.canonical import CanonicalIndex, nos_id, nos_name, strip_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale",
            "TRE_R38",
        ),
        (
            "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale/",
            "TRE_R38",
        ),
        ("https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r38-specialiteordinale", "TRE_R38"),
        ("https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r397-...", "TRE_R397"),
        # the legacy J239 export has a typo in the folder segment, not in the last one
        (
            "https://mos.esante.gouv.fr/NOS/JDV_J23-SpecialitesSNP-SAS/FHIR/JDV-J239-SpecialitesSNP-SAS",
            "JDV_J239",
        ),
        ("TRE_G15", "TRE_G15"),
        ("TRE_G15-ProfessionSante", "TRE_G15"),
        ("http://loinc.org", None),
        # only the two ANS URL families carry NOS identities
        ("http://evil.example/TRE_R38", None),
        ("http://hl7.org/fhir/sid/TRE_R38", None),
        ("http://example.org/whatever/jdv-j239-foo", None),
        ("urn:oid:1.2.250.1.213.2.28", None),
    ],
)
def test_nos_id_from_every_url_family(url: str, expected: str | None) -> None:
    assert nos_id(url) == expected


def test_nos_name_keeps_the_descriptive_part() -> None:
    url = (
        "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
    )
    assert nos_name(url) == "TRE_R38-SpecialiteOrdinale"


def test_strip_url_removes_trailing_slash_and_spaces() -> None:
    assert strip_url(" https://x.test/a/ ") == "https://x.test/a"


def test_index_resolves_oid_urn_and_url_variants_to_one_identity() -> None:
    index = CanonicalIndex()
    url = (
        "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
    )
    identity = index.register(url, ["1.2.250.1.213.2.28"])
    for alias in (
        url,
        url + "/",
        url.replace("https://", "http://"),
        "urn:oid:1.2.250.1.213.2.28",
        "1.2.250.1.213.2.28",
        "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r38-specialiteordinale",
        "TRE_R38",
    ):
        assert index.resolve(alias) == identity, alias


def test_unknown_oid_does_not_resolve_to_a_known_identity() -> None:
    index = CanonicalIndex()
    index.register(
        "https://mos.esante.gouv.fr/NOS/TRE_R38-X/FHIR/TRE-R38-X", ["1.2.250.1.213.2.28"]
    )
    assert index.resolve("urn:oid:1.2.250.1.71.1.2.7") != "TRE_R38"


def test_foreign_url_with_a_nos_looking_segment_stays_foreign() -> None:
    index = CanonicalIndex()
    url = (
        "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
    )
    identity = index.register(url, [])
    assert index.resolve("http://evil.example/TRE_R38") != identity
    assert index.resolve("tre_r38") == identity  # bare NOS names are case-insensitive


@pytest.mark.parametrize(
    ("system", "nos"),
    [
        ("urn:oid:1.2.250.1.71.1.2.7", "TRE_G15"),
        ("1.2.250.1.71.1.2.7", "TRE_G15"),
        ("urn:oid:1.2.250.1.213.2.28", "TRE_R38"),
        ("1.2.250.1.213.2.28 ", "TRE_R38"),
    ],
)
def test_the_directory_nos_oids_are_known_before_any_resource(system: str, nos: str) -> None:
    # The Annuaire codes qualifications by OID; practitioners are read before (or without)
    # any terminology resource being loaded.
    assert CanonicalIndex().resolve(system) == nos
