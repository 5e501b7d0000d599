"""Practitioner cards: what the search front end shows for one practitioner.

Profession (TRE_G15) and specialties (TRE_R38) labels are resolved through the terminology
service, never hard-coded; every practice location (PractitionerRole → Organization
address) becomes a location, placed by the ``Locate`` callable (geocoder or commune
centroid) with the precision it achieved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import msgspec

from gateway.directory.identifiers import IDNPS_SYSTEM
from gateway.directory.model import Address, Organization, Practitioner, rpps_of
from gateway.errors import NotFound, UpstreamError
from gateway.terminology.canonical import nos_id
from gateway.terminology.service import TerminologyService


class CodedLabel(msgspec.Struct):
    code: str
    display: str


class Location(msgspec.Struct):
    organization: str | None
    address: str | None
    insee: str | None
    postcode: str | None
    city: str | None
    lat: float | None
    lon: float | None
    precision: str | None


class PractitionerCard(msgspec.Struct):
    idnps: str
    rpps: str
    family: str | None
    given: str | None
    profession: CodedLabel | None
    specialties: list[CodedLabel]
    locations: list[Location]


class Place(msgspec.Struct):
    lat: float
    lon: float
    precision: str


#: (street line, insee, postcode, city) → coordinates, or None when it cannot be placed.
Locate = Callable[[str | None, str | None, str | None, str | None], Awaitable[Place | None]]

_PROFESSION_OIDS = {"urn:oid:1.2.250.1.71.1.2.7", "1.2.250.1.71.1.2.7"}
_SPECIALTY_OIDS = {"urn:oid:1.2.250.1.213.2.28", "1.2.250.1.213.2.28"}


def _identifier(practitioner: Practitioner, system: str) -> str | None:
    return next((i.value for i in practitioner.identifier if i.system == system), None)


def _street(address: Address) -> str | None:
    return ", ".join(line for line in address.line if line) or None


async def _label(terminology: TerminologyService, system: str, code: str) -> CodedLabel:
    try:
        _, concept, _ = await terminology.lookup(system, code)
    except (NotFound, UpstreamError):
        return CodedLabel(code, code)  # an unknown code is shown as is, never dropped
    return CodedLabel(concept.code, concept.display)


async def build_card(
    practitioner: Practitioner,
    organizations: Iterable[Organization],
    terminology: TerminologyService,
    locate: Locate,
) -> PractitionerCard:
    rpps = rpps_of(practitioner) or ""
    idnps = _identifier(practitioner, IDNPS_SYSTEM) or (f"8{rpps}" if rpps else "")
    name = next((n for n in practitioner.name if n.family), None)
    profession: CodedLabel | None = None
    specialties: list[CodedLabel] = []
    for qualification in practitioner.qualification:
        for coding in qualification.code.coding:
            if not coding.system or not coding.code:
                continue
            kind = nos_id(coding.system)
            if kind == "TRE_G15" or coding.system in _PROFESSION_OIDS:
                profession = profession or await _label(terminology, coding.system, coding.code)
            elif kind == "TRE_R38" or coding.system in _SPECIALTY_OIDS:
                specialties.append(await _label(terminology, coding.system, coding.code))
    locations = []
    for organization in organizations:
        for address in organization.address or [Address()]:
            insee, street = address.insee(), _street(address)
            place = await locate(street, insee, address.postalCode, address.city)
            locations.append(
                Location(
                    organization=organization.name,
                    address=street,
                    insee=insee,
                    postcode=address.postalCode,
                    city=address.city,
                    lat=place.lat if place else None,
                    lon=place.lon if place else None,
                    precision=place.precision if place else None,
                )
            )
    return PractitionerCard(
        idnps=idnps,
        rpps=rpps,
        family=name.family if name else None,
        given=" ".join(name.given) if name and name.given else None,
        profession=profession,
        specialties=specialties,
        locations=locations,
    )
