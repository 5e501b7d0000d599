"""msgspec models of the resources in an agenda source's search Bundle, and their index.

Shaped on the SAS IG "Consommateur" profiles (``reference/sas/profiles``): FrSlotAgregateur
and its CPTS / SOS variants, FrScheduleAgregateur, FrPractitionerAgregateur,
FrPractitionerRoleExerciceAgregateur (the practice Location is *contained*), the SOS
Location / Organization and the CPTS HealthcareService / Organization. Only the members
``gateway.availability.slots`` reads are declared; every one is optional, so that a missing
member is a reason to skip one slot (with its own problem line) rather than a decode error.

``contained`` stays raw: a container may hold any resource type, and decoding them all into
one model would fail on a type whose members clash with it (an Organization's ``address``
is a list, a Location's an object).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from gateway.fhir import (
    CodeableConcept,
    Coding,
    ContactPoint,
    Extension,
    Identifier,
    Reference,
    resource_type,
)


class Meta(msgspec.Struct):
    security: list[Coding] = []


class ReferenceExtension(msgspec.Struct, rename="camel"):
    """An extension whose value is a Reference (the CPTS slot's R5 ``serviceType``)."""

    url: str = ""
    value_reference: Reference | None = None


class ServiceType(msgspec.Struct):
    """Slot.serviceType: a CodeableConcept (R4) that may carry the R5 CodeableReference's
    reference in an extension (how a CPTS slot points at its HealthcareService)."""

    coding: list[Coding] = []
    extension: list[ReferenceExtension] = []


class Slot(msgspec.Struct, rename="camel"):
    id: str = ""
    meta: Meta | None = None
    service_type: list[ServiceType] = []
    specialty: list[CodeableConcept] = []
    appointment_type: CodeableConcept | None = None
    schedule: Reference | None = None
    status: str = ""
    # Text, parsed by the reader: an unparseable instant skips this slot only, with its
    # own reason, instead of failing the decode of the whole resource.
    start: str | None = None
    end: str | None = None
    comment: str | None = None


class Schedule(msgspec.Struct):
    id: str = ""
    actor: list[Reference] = []
    contained: list[msgspec.Raw] = []


class Practitioner(msgspec.Struct):
    id: str = ""
    identifier: list[Identifier] = []


class PractitionerRole(msgspec.Struct):
    id: str = ""
    practitioner: Reference | None = None
    location: list[Reference] = []
    contained: list[msgspec.Raw] = []


class Address(msgspec.Struct, rename="camel"):
    line: list[str] = []
    city: str | None = None
    postal_code: str | None = None
    #: FR Core: the commune's INSEE code (``fr-core-address-insee-code``), when given.
    extension: list[Extension] = []


class Position(msgspec.Struct):
    latitude: float | None = None
    longitude: float | None = None


class OrganizationReference(msgspec.Struct):
    """A reference to an Organization: literal, or logical (an identifier only)."""

    reference: str | None = None
    identifier: Identifier | None = None


class Location(msgspec.Struct, rename="camel"):
    id: str = ""
    identifier: list[Identifier] = []
    name: str | None = None
    telecom: list[ContactPoint] = []
    address: Address | None = None
    position: Position | None = None
    managing_organization: OrganizationReference | None = None


class Organization(msgspec.Struct):
    id: str = ""
    identifier: list[Identifier] = []
    name: str | None = None


class HealthcareService(msgspec.Struct, rename="camel"):
    id: str = ""
    provided_by: OrganizationReference | None = None


Resource = Slot | Schedule | Practitioner | PractitionerRole | Location | Organization
AnyResource = Resource | HealthcareService
_MODELS: dict[str, type[AnyResource]] = {
    "Slot": Slot,
    "Schedule": Schedule,
    "Practitioner": Practitioner,
    "PractitionerRole": PractitionerRole,
    "Location": Location,
    "Organization": Organization,
    "HealthcareService": HealthcareService,
}


class _Label(msgspec.Struct, rename="camel"):
    # ``id`` as any JSON value: a malformed resource is still named when its id is a string.
    resource_type: str = ""
    id: Any = None


@dataclass
class Entries:
    """A Bundle's resources by ``Type/id`` (first one wins), its Slots in order, and one
    problem line per entry that could not be decoded."""

    by_key: dict[str, AnyResource] = field(default_factory=dict)
    slots: list[Slot] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def get(self, reference: str | None) -> AnyResource | None:
        key = reference_key(reference)
        return None if key is None else self.by_key.get(key)


def index_entries(raws: list[bytes]) -> Entries:
    """Decode the known resource types of a Bundle's entries (others are ignored)."""
    entries = Entries()
    for number, raw in enumerate(raws, start=1):
        try:
            label = msgspec.json.decode(raw, type=_Label)
        except msgspec.ValidationError:
            entries.problems.append(f"entry {number}: not a resource")
            continue
        model = _MODELS.get(label.resource_type)
        if model is None:
            continue
        try:
            resource = msgspec.json.decode(raw, type=model)
        except msgspec.ValidationError as error:
            name = label.id if isinstance(label.id, str) and label.id else f"(entry {number})"
            # msgspec names the member and the expected type, never the value: no data leaks.
            entries.problems.append(f"{label.resource_type}/{name}: malformed ({error})")
            continue
        if isinstance(resource, Slot):
            entries.slots.append(resource)
        entries.by_key.setdefault(f"{label.resource_type}/{resource.id}", resource)
    return entries


def reference_key(reference: str | None) -> str | None:
    """``Type/id`` of a literal reference, relative or absolute (``https://…/Type/id``, as
    a server may write it, matching an entry's ``fullUrl``); None for ``#id`` or nothing."""
    if not reference or reference.startswith("#"):
        return None
    path = reference.split("/_history/", 1)[0].rstrip("/")
    parts = path.rsplit("/", 2)
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def contained_location(raws: list[msgspec.Raw], reference: str | None) -> Location | None:
    """The contained Location a ``#id`` reference names (None when absent or malformed)."""
    if not reference or not reference.startswith("#"):
        return None
    wanted = reference[1:]
    for raw in raws:
        try:
            if resource_type(bytes(raw)) != "Location":
                continue
            location = msgspec.json.decode(bytes(raw), type=Location)
        except msgspec.ValidationError:
            continue  # a malformed contained resource is as good as absent
        if location.id == wanted:
            return location
    return None
