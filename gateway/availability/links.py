"""Following a slot's references through its Bundle: who offers it, where, for which CPTS.

Literal references resolve among the Bundle's entries (``Entries.get``: ``Type/id``,
relative or absolute), ``#id`` among the referring resource's ``contained``. A reference
that resolves to nothing is simply absent here; ``gateway.availability.slots`` decides
what an absence means for the slot (skip it, or keep it without a place).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.availability.resources import (
    Entries,
    HealthcareService,
    Location,
    Organization,
    OrganizationReference,
    Practitioner,
    PractitionerRole,
    Schedule,
    Slot,
    contained_location,
    reference_key,
)
from gateway.directory.identifiers import IDNPS_SYSTEM, IDNST_SYSTEM, RPPS_SYSTEM, idnps_of
from gateway.fhir import Identifier, Reference

#: The R5 ``Slot.serviceType`` (a CodeableReference) carried in R4 by a CPTS slot.
SERVICE_TYPE_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"


@dataclass(frozen=True, slots=True)
class Actors:
    """What a Schedule's actors say about its slots."""

    #: psindiv/cpts: the Practitioner, and its IDNPS when it has one.
    practitioner: Practitioner | None
    idnps: str | None
    #: psindiv/cpts: the practice Location contained in the practitioner's role.
    practice: Location | None
    #: sos: the consultation site (a Location actor).
    site: Location | None


def schedule_actors(schedule: Schedule, entries: Entries) -> Actors:
    actors = [entries.get(actor.reference) for actor in schedule.actor]
    roles = [actor for actor in actors if isinstance(actor, PractitionerRole)]
    practitioner = next((a for a in actors if isinstance(a, Practitioner)), None)
    if practitioner is None:
        # Tolerated: a Schedule naming only the PractitionerRole, which names the practitioner.
        practitioner = next(
            (p for r in roles if isinstance(p := entries.get(ref(r.practitioner)), Practitioner)),
            None,
        )
    site = next((a for a in actors if isinstance(a, Location)), None)
    if site is None:  # tolerated: the site contained in the Schedule itself
        site = next(
            (
                found
                for actor in schedule.actor
                if (found := contained_location(schedule.contained, actor.reference))
            ),
            None,
        )
    return Actors(
        practitioner=practitioner,
        idnps=_idnps(practitioner) if practitioner else None,
        practice=_practice(roles, practitioner) if practitioner else None,
        site=site,
    )


def ref(reference: Reference | None) -> str | None:
    return reference.reference if reference else None


def _idnps(practitioner: Practitioner) -> str | None:
    for ident in practitioner.identifier:
        if ident.system == IDNPS_SYSTEM and ident.value and ident.value.strip():
            return ident.value.strip()
    # Tolerated: the bare RPPS, whose IDNPS is known (``gateway.directory.identifiers``).
    for ident in practitioner.identifier:
        if ident.system == RPPS_SYSTEM and ident.value and ident.value.strip():
            return idnps_of(ident.value.strip())
    return None


def _practice(roles: list[PractitionerRole], practitioner: Practitioner) -> Location | None:
    # The practitioner's own role first: a Schedule should name one role, but may name more.
    own = f"Practitioner/{practitioner.id}"
    for role in sorted(roles, key=lambda r: reference_key(ref(r.practitioner)) != own):
        for reference in role.location:
            location = contained_location(role.contained, reference.reference)
            if location is not None:
                return location
    return None


def cpts_organizations(slot: Slot, entries: Entries) -> tuple[str, ...]:
    """The identifier values of the CPTS a slot is offered to (serviceType extension →
    HealthcareService → ``providedBy`` Organization), in the slot's order."""
    out: list[str] = []
    for service in slot.service_type:
        for ext in service.extension:
            if ext.url != SERVICE_TYPE_EXTENSION or ext.value_reference is None:
                continue
            found = entries.get(ext.value_reference.reference)
            if isinstance(found, HealthcareService):
                value = organization_value(found.provided_by, entries)
                if value and value not in out:
                    out.append(value)
    return tuple(out)


def organization_value(reference: OrganizationReference | None, entries: Entries) -> str | None:
    """The identifier value of a referenced Organization (its IDNST first); a logical
    reference (an identifier, no resource) is read as well."""
    if reference is None:
        return None
    found = entries.get(reference.reference)
    idents = list(found.identifier) if isinstance(found, Organization) else []
    if reference.identifier is not None:
        idents.append(reference.identifier)
    return _identifier_value(idents)


def _identifier_value(idents: list[Identifier]) -> str | None:
    values = [(i.system, i.value.strip()) for i in idents if i.value and i.value.strip()]
    preferred = [value for system, value in values if system == IDNST_SYSTEM]
    anything = [value for _, value in values]
    return (preferred or anything)[0] if values else None
