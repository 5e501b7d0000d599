"""One reading of a Practitioner's IDNPS, profession and specialties, whatever the system's
canonical form (cards and the search index both use it)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from gateway.directory.identifiers import IDNPS_SYSTEM, RPPS_SYSTEM
from gateway.directory.model import Practitioner
from gateway.directory.practitioner_codes import (
    QualificationCode,
    practitioner_codes,
    practitioner_idnps,
)
from gateway.terminology.canonical import CanonicalIndex

G15_FORMS = [
    "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante",
    "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-g15-professionsante",
    "urn:oid:1.2.250.1.71.1.2.7",
    "1.2.250.1.71.1.2.7",
]
R38_FORMS = [
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale/",
    "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r38-specialiteordinale",
    "urn:oid:1.2.250.1.213.2.28",
    "1.2.250.1.213.2.28",
]


def practitioner(*codings: tuple[str | None, str | None], **fields: Any) -> Practitioner:
    document = {
        "qualification": [{"code": {"coding": [{"system": s, "code": c}]}} for s, c in codings],
        **fields,
    }
    return msgspec.convert(document, Practitioner)


@pytest.mark.parametrize(("g15", "r38"), list(zip(G15_FORMS, R38_FORMS, strict=True)))
def test_every_canonical_form_is_read(g15: str, r38: str) -> None:
    codes = practitioner_codes(practitioner((g15, "10"), (r38, "SM04"), (r38, "SM54")))
    assert codes.profession == QualificationCode(g15, "10")
    assert [c.code for c in codes.specialties] == ["SM04", "SM54"]
    assert codes.specialty == QualificationCode(r38, "SM04")


def test_other_systems_and_incomplete_codings_are_skipped() -> None:
    codes = practitioner_codes(
        practitioner(
            ("http://example.org/TRE_R38", "SM04"),  # not an ANS URL: not TRE_R38
            (R38_FORMS[0], None),
            (None, "SM04"),
            ("urn:oid:1.2.250.1.213.1.1.5.5", "X"),  # another NOS, unknown to this index
            (G15_FORMS[0], "10"),
            (G15_FORMS[2], "21"),  # a second profession: the first is kept
        )
    )
    assert codes.profession == QualificationCode(G15_FORMS[0], "10")
    assert codes.specialties == ()
    assert codes.specialty is None


def test_the_terminologys_aliases_add_the_oids_its_resources_declare() -> None:
    aliases = CanonicalIndex()
    aliases.register(R38_FORMS[0], ["1.2.250.1.213.2.28.9"])
    coded = practitioner(("urn:oid:1.2.250.1.213.2.28.9", "SM04"))
    assert practitioner_codes(coded).specialties == ()
    assert practitioner_codes(coded, aliases).specialty == QualificationCode(
        "urn:oid:1.2.250.1.213.2.28.9", "SM04"
    )


@pytest.mark.parametrize(
    ("identifiers", "idnps"),
    [
        ([{"system": IDNPS_SYSTEM, "value": "810003461033"}], "810003461033"),
        ([{"system": RPPS_SYSTEM, "value": "10003461033"}], "810003461033"),
        (
            [
                {"system": IDNPS_SYSTEM, "value": ""},
                {"system": RPPS_SYSTEM, "value": "10003461033"},
            ],
            "810003461033",
        ),
        ([{"system": "urn:oid:1.2.3", "value": "810003461033"}], None),
    ],
)
def test_idnps_is_written_or_implied_by_the_rpps(
    identifiers: list[dict[str, str]], idnps: str | None
) -> None:
    assert practitioner_idnps(practitioner(identifier=identifiers)) == idnps
