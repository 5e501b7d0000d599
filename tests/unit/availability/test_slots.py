"""``read_slots`` on every example Bundle of the SAS IG (``reference/sas/examples``).

The expected values were read by hand from the JSON files (and the IG pages describing
them), not from the reader's output: IDNPS, addresses, types, modes, booking URLs, CPTS and
SOS identifiers. Skipped when ``../shared`` is absent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from gateway.availability.sites import SitePlace, SosSite
from gateway.availability.slots import OfferedSlot, ReadSlot, SlotPlace, read_slots
from gateway.fhir import Bundle

ROUTINE = False
AGEN_1 = SlotPlace("1 rue Mme DELMAS", "47000", "AGEN")
AGEN_30 = SlotPlace("30 rue Mme DELMAS", "47000", "AGEN")
AUSSONNE = SlotPlace("25 CHEMIN DE MOUNESTIE", "31840", "Aussonne")
RENNES_NORD = SlotPlace("320 avenue Général Georges Patton", "35700", "RENNES")
RENNES_CLEUNAY = SlotPlace("106 rue Eugène Pottier", "35000", "RENNES")
LORIENT = SlotPlace("12 impasse Royer Dubail", "56100", "LORIENT")
RDV = "https://exemple.com/rdv/com/"
PFG = "http://www.editeur.com/agenda-pfg/creneau"
THOMAS, MARCEL, FORET = "810100050075", "810002673899", "810002909371"
SOS_RENNES, SOS_LORIENT = "334173748400020", "392080466300010"
CPTS_AXE_MAJEUR, CPTS_VAL_D_OISE = "1950047225", "1950046227"


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def offered(
    start: str,
    end: str,
    types: tuple[str, ...],
    modes: tuple[str, ...],
    walk_in: bool,
    url: str | None,
    specialties: tuple[str, ...] = (),
) -> OfferedSlot:
    return OfferedSlot(at(start), at(end), types, modes, walk_in, url, specialties)


def psindiv(slot_id: str, idnps: str, place: SlotPlace, slot: OfferedSlot) -> ReadSlot:
    return ReadSlot(slot_id, idnps, place, None, None, slot)


def sos(slot_id: str, site: SosSite, slot: OfferedSlot) -> ReadSlot:
    assert site.place is not None
    place = SlotPlace(site.place.line, site.place.postcode, site.place.city)
    return ReadSlot(slot_id, None, place, None, site.association, slot, site=site)


# The consultation sites ("PFG") of the SOS example, as its Locations and Organizations say.
PFG_RENNES_NORD = SosSite(
    "1111111111",
    SOS_RENNES,
    "SOS Médecins de Rennes",
    "Centre de consultation Rennes Nord",
    "+33193246789",
    SitePlace(RENNES_NORD.line, RENNES_NORD.postcode, RENNES_NORD.city),
)
PFG_RENNES_CLEUNAY = SosSite(
    "2222222222",
    SOS_RENNES,
    "SOS Médecins de Rennes",
    "Centre de consultation Rennes Cleunay",
    "+33145249912",
    SitePlace(RENNES_CLEUNAY.line, RENNES_CLEUNAY.postcode, RENNES_CLEUNAY.city),
)
PFG_LORIENT = SosSite(
    "3333333333",
    SOS_LORIENT,
    "SOS Médecins Lorient et agglomération",
    "Centre de consultation Lorient",
    "+33139555992",
    SitePlace(LORIENT.line, LORIENT.postcode, LORIENT.city),
)


CPTS_SLOT = offered(
    "2024-06-12T16:40:00+02:00", "2024-06-12T17:00:00+02:00",
    ("CPTS", "PUBLIC"), ("AMB",), ROUTINE, RDV, ("SM54",),
)  # fmt: skip
EXPECTED: dict[str, list[ReadSlot]] = {
    "Bundle-ExampleBundlePSIndiv.json": [
        psindiv("ExampleSlotPSIndiv1", THOMAS, AGEN_1, offered(
            "2021-11-05T09:00:00+00:00", "2021-11-05T09:30:00+00:00",
            ("PUBLIC",), ("AMB", "VR"), ROUTINE, RDV, ("SM05", "SM54"))),
        # "Sans prise de RDV", no comment: no booking URL
        psindiv("ExampleSlotPSIndiv2", THOMAS, AGEN_30, offered(
            "2021-11-05T11:00:00+00:00", "2021-11-05T11:30:00+00:00",
            ("PRO",), ("AMB",), True, None, ("SM54",))),
        # specialty "Pneumologie" as text only: not a TRE_R38 code
        psindiv("ExampleSlotPSIndiv3", MARCEL, AGEN_1, offered(
            "2021-11-04T14:20:00+00:00", "2021-11-04T14:40:00+00:00",
            ("PRO", "PUBLIC"), ("VR",), ROUTINE, RDV, ("SM41",))),
        psindiv("ExampleSlotPSIndiv4", MARCEL, AGEN_1, offered(
            "2021-11-04T14:40:00+00:00", "2021-11-04T15:00:00+00:00",
            ("PRO", "PUBLIC"), ("HH",), ROUTINE, RDV, ("SM41", "SM54"))),
    ],
    "Bundle-ExampleBundleCPTS1.json": [
        ReadSlot("ExampleSlotCPTS1", FORET, AUSSONNE, CPTS_AXE_MAJEUR, None, CPTS_SLOT,
                 (CPTS_AXE_MAJEUR,)),
    ],
    # One slot offered to two CPTS: both kept, the first as ``cpts_finess``.
    "Bundle-ExampleBundleCPTS2.json": [
        ReadSlot("ExampleSlotCPTS2", FORET, AUSSONNE, CPTS_AXE_MAJEUR, None, CPTS_SLOT,
                 (CPTS_AXE_MAJEUR, CPTS_VAL_D_OISE)),
    ],
    "Bundle-ExampleBundleAgregateurSOS.json": [
        sos("ExampleSlotSOS1", PFG_RENNES_NORD, offered(
            "2023-08-18T09:00:00+02:00", "2023-08-18T09:30:00+02:00",
            ("PUBLIC", "SNP"), ("AMB", "VR"), ROUTINE, PFG + "1")),
        sos("ExampleSlotSOS2", PFG_RENNES_CLEUNAY, offered(
            "2023-08-19T11:00:00+02:00", "2023-08-19T11:30:00+02:00",
            ("PUBLIC",), ("AMB",), ROUTINE, PFG + "2")),
        # two slots of one site (Schedule 3)
        sos("ExampleSlotSOS3", PFG_LORIENT, offered(
            "2023-08-18T14:20:00+02:00", "2023-08-18T14:40:00+02:00",
            ("PUBLIC",), ("VR",), ROUTINE, PFG + "3")),
        sos("ExampleSlotSOS4", PFG_LORIENT, offered(
            "2023-08-18T14:40:00+02:00", "2023-08-18T15:00:00+02:00",
            ("PUBLIC",), ("AMB",), ROUTINE, PFG + "4")),
    ],
}  # fmt: skip


@pytest.fixture
def examples(reference_dir: Path) -> Path:
    path = reference_dir / "sas" / "examples"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


def test_every_example_bundle_is_covered(examples: Path) -> None:
    # A Bundle added to the IG fails here until its expected slots are written down.
    assert sorted(p.name for p in examples.glob("Bundle-*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_bundle_reads_into_its_slots(examples: Path, name: str) -> None:
    data = (examples / name).read_bytes()

    read = read_slots(msgspec.json.decode(data, type=Bundle))

    assert read.problems == []
    assert read.slots == EXPECTED[name]
    # and every free Slot of the file is there, counted on the plain JSON
    free = [
        entry["resource"]["id"]
        for entry in json.loads(data)["entry"]
        if entry["resource"]["resourceType"] == "Slot" and entry["resource"]["status"] == "free"
    ]
    assert [slot.slot_id for slot in read.slots] == free


def test_the_example_instants_keep_their_offsets(examples: Path) -> None:
    # 09:00 in Paris summer time is 07:00 UTC: the offset is applied, not dropped.
    data = (examples / "Bundle-ExampleBundleAgregateurSOS.json").read_bytes()

    first = read_slots(msgspec.json.decode(data, type=Bundle)).slots[0]

    assert first.slot.start == int(datetime(2023, 8, 18, 7, 0, tzinfo=UTC).timestamp())
    assert first.slot.end - first.slot.start == 30 * 60
