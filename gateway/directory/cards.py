"""Practitioner cards: what the search front end shows for one practitioner.

Profession (TRE_G15) and specialties (TRE_R38) are read by
``gateway.directory.practitioner_codes`` (as the search index reads them) and labelled by
the terminology service (the code itself when it has no label), never hard-coded; every
practice location (PractitionerRole → Organization address) becomes a location, placed by
the ``Locate`` callable (geocoder or commune centroid) with the precision it achieved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import msgspec

from gateway.coded import CodeDisplay
from gateway.directory.model import Address, Organization, Practitioner, rpps_of
from gateway.directory.practitioner_codes import practitioner_codes, practitioner_idnps
from gateway.terminology.service import TerminologyService


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
    profession: CodeDisplay | None
    specialties: list[CodeDisplay]
    locations: list[Location]


class Place(msgspec.Struct):
    lat: float
    lon: float
    precision: str


#: (street line, insee, postcode, city) → coordinates, or None when it cannot be placed.
Locate = Callable[[str | None, str | None, str | None, str | None], Awaitable[Place | None]]


async def build_card(
    practitioner: Practitioner,
    organizations: Iterable[Organization],
    terminology: TerminologyService,
    locate: Locate,
) -> PractitionerCard:
    name = next((n for n in practitioner.name if n.family), None)
    codes = practitioner_codes(practitioner, terminology.store.aliases)
    profession = (
        (await terminology.label(codes.profession.system, codes.profession.code)).value
        if codes.profession is not None
        else None
    )
    specialties = [(await terminology.label(c.system, c.code)).value for c in codes.specialties]
    locations = []
    for organization in organizations:
        for address in organization.address or [Address()]:
            insee, street = address.insee(), address.street()
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
        idnps=practitioner_idnps(practitioner) or "",
        rpps=rpps_of(practitioner) or "",
        family=name.family if name else None,
        given=" ".join(name.given) if name and name.given else None,
        profession=profession,
        specialties=specialties,
        locations=locations,
    )
