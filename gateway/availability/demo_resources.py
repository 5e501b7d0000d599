"""The FHIR resources ``DemoAgenda`` answers, shaped like the IG's ExampleBundlePSIndiv.

Slot (types in ``meta.security``, modes in ``serviceType``, ROUTINE/WALKIN, the booking
URL in ``comment``), Schedule (actors: Practitioner and PractitionerRole), Practitioner
(IDNPS), PractitionerRole (the practice Location contained). Codes and systems are the ones
``gateway.availability.slots`` reads, imported from it so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.availability.slots import APPOINTMENT_SYSTEM, MODE_SYSTEM, TYPE_SYSTEM, SlotPlace
from gateway.directory.identifiers import IDNPS_SYSTEM

PROFILE = "http://sas.fr/fhir/StructureDefinition/"
HALF_HOUR = 1800
_BOOKING = "https://rdv.demo-agenda.invalid/"
_ID_TYPES = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203"
_LOCATION_TYPES = "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type"


@dataclass(frozen=True, slots=True)
class DemoSlot:
    idnps: str
    start: int
    types: tuple[str, ...]
    modes: tuple[str, ...]
    walk_in: bool

    @property
    def id(self) -> str:
        return f"demo-{self.idnps}-{datetime.fromtimestamp(self.start, UTC):%Y%m%dT%H%M}"


def entry(base: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    url = f"{base}/{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": url, "resource": resource, "search": {"mode": mode}}


def _coding(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def slot_resource(slot: DemoSlot) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Slot",
        "id": slot.id,
        "meta": {
            "profile": [PROFILE + "FrSlotAgregateur"],
            "security": [_coding(TYPE_SYSTEM, code) for code in slot.types],
        },
        "serviceType": [{"coding": [_coding(MODE_SYSTEM, mode)]} for mode in slot.modes],
        "appointmentType": {
            "coding": [_coding(APPOINTMENT_SYSTEM, "WALKIN" if slot.walk_in else "ROUTINE")]
        },
        "schedule": {"reference": f"Schedule/demo-{slot.idnps}-schedule"},
        "status": "free",
        "start": _text(slot.start),
        "end": _text(slot.start + HALF_HOUR),
    }
    if not slot.walk_in:  # as in the IG example, a slot without appointment has no URL
        resource["comment"] = f"{_BOOKING}{slot.id}"
    return resource


def _type(system: str, code: str) -> dict[str, list[dict[str, str]]]:
    return {"coding": [_coding(system, code)]}


def _text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def actor_resources(idnps: str, place: SlotPlace | None) -> list[dict[str, Any]]:
    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": "practice",
        "meta": {"profile": [PROFILE + "FrLocationAgregateur"]},
        "identifier": [
            {"type": _type(_LOCATION_TYPES, "INTRN"), "system": f"{_BOOKING}lieux", "value": idnps}
        ],
    }
    # The profile requires an address; without one (``places`` knows none) it is left out
    # rather than invented, as a source that does not know it would.
    if place is not None:
        address = {"line": [place.line], "postalCode": place.postcode, "city": place.city}
        location["address"] = {k: v for k, v in address.items() if v and v != [""]}
    practitioner, role = f"demo-{idnps}", f"demo-{idnps}-role"
    return [
        {
            "resourceType": "Schedule",
            "id": f"demo-{idnps}-schedule",
            "meta": {"profile": [PROFILE + "FrScheduleAgregateur"]},
            "actor": [
                {"reference": f"Practitioner/{practitioner}"},
                {"reference": f"PractitionerRole/{role}"},
            ],
        },
        {
            "resourceType": "Practitioner",
            "id": practitioner,
            "meta": {"profile": [PROFILE + "FrPractitionerAgregateur"]},
            "identifier": [
                {"type": _type(_ID_TYPES, "IDNPS"), "system": IDNPS_SYSTEM, "value": idnps}
            ],
        },
        {
            "resourceType": "PractitionerRole",
            "id": role,
            "meta": {"profile": [PROFILE + "FrPractitionerRoleExerciceAgregateur"]},
            "contained": [location],
            "practitioner": {"reference": f"Practitioner/{practitioner}"},
            "location": [{"reference": "#practice"}],
        },
    ]


#: A longer window is answered with its first month only.
MAX_DAYS = 31


def window_days(low: float, high: float) -> Iterator[tuple[date, int]]:
    """Each UTC day of the window ``[low, high]`` (its first ``MAX_DAYS`` at most), with its
    midnight in epoch seconds."""
    day = datetime.fromtimestamp(low, UTC).date()
    last = min(datetime.fromtimestamp(high, UTC).date(), day + timedelta(days=MAX_DAYS - 1))
    while day <= last:
        yield day, int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        day += timedelta(days=1)
