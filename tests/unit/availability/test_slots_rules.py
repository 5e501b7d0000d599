"""``read_slots`` rules on small synthetic Bundles: what is kept, what is skipped and why.

Every skipped slot leaves one problem line naming it and the reason, nothing else from the
payload; the rest of the Bundle is still read.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from gateway.availability.slots import SlotPlace, read_slots
from gateway.fhir import Bundle

IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
TYPES = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
START, END = "2030-01-02T09:00:00+01:00", "2030-01-02T09:30:00+01:00"
Resource = dict[str, Any]


def slot(sid: str = "s1", schedule: str = "Schedule/sch1", **changes: Any) -> Resource:
    resource: Resource = {
        "resourceType": "Slot", "id": sid, "status": "free", "start": START, "end": END,
        "schedule": {"reference": schedule},
        "meta": {"security": [{"system": TYPES, "code": "PUBLIC"}]},
        "serviceType": [{"coding": [{"system": ACT, "code": "AMB"}]}],
        "appointmentType": {"coding": [{"system": V2_0276, "code": "ROUTINE"}]},
        "comment": "https://agenda.test/rdv/s1",
    }  # fmt: skip
    resource.update(changes)
    return {k: v for k, v in resource.items() if v is not None}


def practice(actor_refs: list[str] | None = None, idnps: str = "810000000001") -> list[Resource]:
    """Schedule sch1 → Practitioner p1 (IDNPS) and PractitionerRole r1 (contained Location)."""
    return [
        {"resourceType": "Schedule", "id": "sch1", "actor": [
            {"reference": ref} for ref in (actor_refs or ["Practitioner/p1", "PractitionerRole/r1"])
        ]},
        {"resourceType": "Practitioner", "id": "p1",
         "identifier": [{"system": IDNPS, "value": idnps}]},
        {"resourceType": "PractitionerRole", "id": "r1",
         "practitioner": {"reference": "Practitioner/p1"}, "location": [{"reference": "#loc"}],
         "contained": [
             {"resourceType": "Organization", "id": "x", "address": [{"city": "NOT THIS"}]},
             {"resourceType": "Location", "id": "loc",
              "address": {"line": ["3 rue Neuve", " "], "postalCode": "75001", "city": "PARIS"}},
         ]},
    ]  # fmt: skip


def read(*resources: Resource | Any) -> tuple[list[Any], list[str]]:
    body = {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in resources]}  # fmt: skip
    result = read_slots(msgspec.json.decode(msgspec.json.encode(body), type=Bundle))
    return result.slots, result.problems


def test_a_practitioner_slot_is_read_with_its_practice() -> None:
    slots, problems = read(slot(), *practice())

    assert problems == []
    [one] = slots
    assert (one.slot_id, one.idnps) == ("s1", "810000000001")
    assert one.place == SlotPlace("3 rue Neuve", "75001", "PARIS")
    assert (one.cpts_finess, one.organization) == (None, None)
    assert one.slot.start == 1893571200  # 2030-01-02T08:00:00Z
    assert one.slot.end == one.slot.start + 1800
    assert (one.slot.types, one.slot.modes, one.slot.walk_in) == (("PUBLIC",), ("AMB",), False)
    assert one.slot.booking_url == "https://agenda.test/rdv/s1"


def test_codes_of_other_systems_or_unknown_to_the_sas_are_left_out() -> None:
    security = [{"system": TYPES, "code": "SNP"}, {"system": TYPES, "code": "SNP"},
                {"system": "http://other", "code": "PRO"}, {"system": TYPES, "code": "VIP"},
                {"system": TYPES, "code": "PRO"}]  # fmt: skip
    service = [{"coding": [{"system": ACT, "code": "VR"}, {"system": ACT, "code": "EMER"},
                           {"code": "HH"}]}, {"text": "Visite"}]  # fmt: skip
    walkin = {"coding": [{"system": V2_0276, "code": "WALKIN"}]}
    specialty = [{"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale"
                              "/FHIR/TRE-R38-SpecialiteOrdinale", "code": "SM54"}]},
                 {"coding": [{"system": "http://other", "code": "X"}]}]  # fmt: skip
    s = slot(meta={"security": security}, serviceType=service, appointmentType=walkin,
             specialty=specialty)  # fmt: skip

    [one], _ = read(s, *practice())

    assert one.slot.types == ("PRO", "SNP")
    assert one.slot.modes == ("VR",)
    assert one.slot.walk_in is True
    assert one.slot.specialties == ("SM54",)


@pytest.mark.parametrize(
    "comment", [None, "", "Prendre RDV par téléphone", "ftp://agenda.test/x", "https://"]
)
def test_a_comment_that_is_no_http_url_is_no_booking_url(comment: str | None) -> None:
    [one], _ = read(slot(comment=comment), *practice())

    assert one.slot.booking_url is None


def test_only_free_slots_are_kept_and_a_busy_one_is_no_problem() -> None:
    slots, problems = read(slot("s1", status="busy"), slot("s2"), *practice())

    assert [s.slot_id for s in slots] == ["s2"]
    assert problems == []


def test_a_slot_id_met_twice_is_read_once() -> None:
    slots, problems = read(slot("s1"), *practice(), slot("s1", comment="https://other.test/"))

    assert [(s.slot_id, s.slot.booking_url) for s in slots] == [
        ("s1", "https://agenda.test/rdv/s1")
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"start": None}, "no start"),
        ({"end": ""}, "no end"),
        ({"start": "2030-01-02"}, "start is not a FHIR instant"),
        ({"start": "2030-02-31T09:00:00Z"}, "start is not a FHIR instant"),
        ({"end": "2030-01-02T09:30:00"}, "end has no timezone"),
        ({"end": START}, "end is not after start"),
        ({"end": "2030-01-02T07:59:00Z"}, "end is not after start"),
        ({"schedule": "Schedule/elsewhere"}, "its Schedule is not in the bundle"),
        ({"schedule": None}, "its Schedule is not in the bundle"),
    ],
)
def test_a_slot_that_cannot_be_read_is_skipped_with_its_reason(
    changes: dict[str, Any], why: str
) -> None:
    slots, problems = read(slot("bad", **changes), slot("good"), *practice())

    assert [s.slot_id for s in slots] == ["good"]
    assert problems == [f"Slot/bad: {why}"]


def test_a_practitioner_without_idnps_skips_its_slots() -> None:
    slots, problems = read(slot(), *practice(idnps=""))

    assert slots == []
    assert problems == ["Slot/s1: its Practitioner has no IDNPS"]


def test_actors_missing_from_the_bundle_skip_the_slot() -> None:
    slots, problems = read(slot(), *practice(["Practitioner/gone", "Location/gone"])[:1])

    assert slots == []
    assert problems == [
        "Slot/s1: its Schedule's actors hold no Practitioner nor Location in the bundle"
    ]


def test_a_malformed_entry_is_one_problem_and_no_value_is_repeated() -> None:
    broken = slot("bad", start=20300102, comment="secret-value")
    listed = {"resourceType": "Slot", "id": 7, "serviceType": "not a list"}

    slots, problems = read(broken, listed, 7, slot("good"), *practice())

    assert [s.slot_id for s in slots] == ["good"]
    assert problems[0].startswith("Slot/bad: malformed (Expected `str | null`, got `int`")
    assert problems[1].startswith("Slot/(entry 2): malformed (")
    assert problems[2] == "entry 3: not a resource"
    assert len(problems) == 3
    assert not any("secret" in line or "20300102" in line for line in problems)


def test_absolute_references_and_a_role_naming_the_practitioner_are_followed() -> None:
    # Some servers write references as the entries' full URLs; a Schedule may name only
    # the PractitionerRole; the IDNPS may come as the bare RPPS.
    resources = practice(["https://agenda.test/fhir/PractitionerRole/r1"])
    resources[1]["identifier"] = [{"system": "https://rpps.esante.gouv.fr", "value": "10000000001"}]

    [one], problems = read(slot(schedule="https://agenda.test/fhir/Schedule/sch1"), *resources)

    assert problems == []
    assert one.idnps == "810000000001"
    assert one.place == SlotPlace("3 rue Neuve", "75001", "PARIS")


def test_a_role_without_its_contained_location_gives_no_place() -> None:
    resources = practice()
    resources[2]["location"] = [{"reference": "#nowhere"}]

    [one], problems = read(slot(), *resources)

    assert (problems, one.place) == ([], None)


def test_an_sos_site_gives_the_place_and_the_association() -> None:
    site: Resource = {
        "resourceType": "Location", "id": "l1", "address": {"city": "NANTES"},
        "managingOrganization": {"reference": "Organization/o1"},
    }  # fmt: skip
    org: Resource = {"resourceType": "Organization", "id": "o1", "identifier": [
        {"system": "https://other", "value": "A"},
        {"system": "urn:oid:1.2.250.1.71.4.2.2", "value": " 312345678900011 "},
    ]}  # fmt: skip
    schedule = {"resourceType": "Schedule", "id": "sch1", "actor": [{"reference": "Location/l1"}]}

    [one], problems = read(schedule, site, org, slot())

    assert problems == []
    assert (one.idnps, one.organization) == (None, "312345678900011")
    assert one.place == SlotPlace("", "", "NANTES")


def test_an_sos_schedule_whose_site_is_missing_skips_its_slot() -> None:
    schedule = {"resourceType": "Schedule", "id": "sch1", "actor": [{"reference": "Location/l1"}]}

    slots, problems = read(schedule, slot())

    assert slots == []
    assert problems == [
        "Slot/s1: its Schedule's actors hold no Practitioner nor Location in the bundle"
    ]
