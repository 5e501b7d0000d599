"""``availability/subscriptions.csv``: rows of a source of kind sos name SOS Médecins
associations ("3" + SIRET) instead of practitioners."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.availability.subscriptions import (
    Association,
    Subscription,
    format_subscriptions,
    load_subscriptions,
)
from tests.unit.availability.test_subscriptions import FULL, IDNPS, MINIMAL, write

SOS_SOURCES = frozenset({"demo", "sos-a"})
RENNES, LORIENT = "334173748400020", "392080466300010"


def test_rows_of_an_sos_source_name_associations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        FULL,
        f"{IDNPS},demo,true,,,,",
        f"{RENNES},sos-a,true,,,,",
        f"urn:oid:1.2.250.1.71.4.2.2|{LORIENT},sos-a,no,,,,false",
        "34173748400021,sos-a,yes,,,,",  # the bare SIRET: "3" is added
    )
    found = load_subscriptions(path, SOS_SOURCES, sos={"sos-a"})
    assert found.problems == []
    assert list(found.items) == [IDNPS]
    assert found.associations == {
        RENNES: Association(RENNES, "sos-a", True, 3),
        LORIENT: Association(LORIENT, "sos-a", False, 4),
        "334173748400021": Association("334173748400021", "sos-a", True, 5),
    }
    assert found.owners("sos-a") == [RENNES, LORIENT, "334173748400021"]
    assert found.owners("demo") == [IDNPS]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("3341737484,sos-a,true", "'3341737484': source 'sos-a' (kind sos) takes associations"),
        (f"{IDNPS},sos-a,true", f"'{IDNPS}': source 'sos-a' (kind sos) takes associations"),
        (f"urn:oid:1.2.250.1.71.4.2.1|{RENNES},sos-a,true", "is not the IDNST system"),
        (f"{RENNES},sos-a,maybe", "participant is 'maybe', not true or false"),
        (f"{RENNES},sos-a,true,cpts,929999901,,true",
         "mode, cpts_finess, beyond_slots: only for a practitioner"),
        (f"{RENNES},demo,true", "looks like an SOS Médecins association ('3' + SIRET), which "
         "is read from a source of kind sos; 'demo' is not one"),
    ],
)  # fmt: skip
def test_a_bad_association_row_is_reported_with_its_line_and_skipped(
    tmp_path: Path, line: str, problem: str
) -> None:
    padded = line + "," * (6 - line.count(","))
    path = write(tmp_path, "# comment", FULL, f"{LORIENT},sos-a,true,,,,", padded)
    found = load_subscriptions(path, SOS_SOURCES, sos={"sos-a"})
    assert len(found.problems) == 1
    assert found.problems[0].startswith(f"{path}:4: ")
    assert problem in found.problems[0]
    assert list(found.associations) == [LORIENT]
    assert found.items == {}


def test_an_association_listed_twice_keeps_its_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL, f"{RENNES},sos-a,true", f"{RENNES[1:]},sos-a,false")
    found = load_subscriptions(path, SOS_SOURCES, sos={"sos-a"})
    assert found.problems == [f"{path}:3: association {RENNES} is already subscribed on line 2"]
    assert found.associations[RENNES].participant is True


def test_associations_are_written_with_empty_practitioner_columns(tmp_path: Path) -> None:
    associations = [Association(RENNES, "sos-a", True), Association(LORIENT, "sos-a", False)]
    items = [Subscription(IDNPS, "demo", True)]
    text = format_subscriptions(items, associations=associations)
    assert text.splitlines()[-2:] == [f"{RENNES},sos-a,true,,,,", f"{LORIENT},sos-a,false,,,,"]
    path = write(tmp_path, text.rstrip("\n"))
    found = load_subscriptions(path, SOS_SOURCES, sos={"sos-a"})
    assert found.problems == []
    assert [(a.identifier, a.participant) for a in found.associations.values()] == [
        (RENNES, True),
        (LORIENT, False),
    ]
    assert list(found.items) == [IDNPS]
