"""One search Bundle of an agenda source (SAS IG "Consommateur" flows) read into slots.

The three flows answer differently shaped Bundles, all read here without being told which:

* psindiv: Slot → Schedule → actors Practitioner (its IDNPS) and PractitionerRole (the
  practice Location *contained* in it);
* cpts: the same, and a serviceType extension → HealthcareService → ``providedBy`` the CPTS
  Organization (its identifier: the IDNST, "1" + FINESS, as the IG writes it);
* sos: Schedule (matched) ← Slots (revincluded); the Schedule's actor is a Location (the
  consultation site) whose ``managingOrganization`` is the SOS Médecins association.

Reading is per slot: a slot that cannot be placed (no instant, no schedule, no practitioner
nor site) is skipped with one problem line, the rest of the Bundle is still read. Only
``free`` slots are kept (a source answering others ignored ``status=free``; nothing to
report about the slot itself). Past slots are kept and slots are not merged across Bundles:
the refresher knows "now" and sees every Bundle of a source.

A refresh reads hundreds of thousands of slots on the event loop, so what slots share is
worked out once: per Bundle, what a Schedule's actors say (IDNPS, place, association) and
each instant's text; across Bundles, the few distinct tuples of types, modes and
specialties are shared objects (:func:`_shared`), which also keeps the slots held small.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from gateway.availability.links import (
    cpts_organizations,
    organization_value,
    ref,
    schedule_actors,
)
from gateway.availability.resources import Entries, Location, Schedule, Slot, index_entries
from gateway.availability.sites import SosSite, read_site
from gateway.fhir import Bundle

TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
APPOINTMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
SPECIALTY_SYSTEM = (
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
)
#: The codes the SAS handles (IG value sets sas-*-valueset-typecreneau, -typeconsultation);
#: other codes of those systems mean nothing to its filters and are left out.
SLOT_TYPES = frozenset({"PUBLIC", "PRO", "SNP", "CPTS"})
MODES = frozenset({"AMB", "HH", "VR"})

# The three slot structs are ``gc=False``: a refresh holds hundreds of thousands of them,
# and every full collection of the garbage collector would otherwise visit each one (100+
# ms pauses of the event loop, several per refresh). They hold only strings, numbers,
# tuples of strings and each other: no reference cycle can go through them.


class OfferedSlot(msgspec.Struct, frozen=True, gc=False):
    start: int  # epoch seconds (UTC)
    end: int  # epoch seconds
    types: tuple[str, ...]  # TRE_R314 codes from meta.security (sorted, unique)
    modes: tuple[str, ...]  # v3-ActCode serviceType codes AMB, HH, VR (sorted, unique)
    walk_in: bool  # appointmentType v2-0276 WALKIN (ROUTINE → False)
    booking_url: str | None  # the slot's ``comment`` when it is an http(s) URL
    specialties: tuple[str, ...] = ()  # TRE_R38 codes of slot.specialty (sorted, unique)


class SlotPlace(msgspec.Struct, frozen=True, gc=False):
    line: str  # "" when absent
    postcode: str
    city: str


class ReadSlot(msgspec.Struct, frozen=True, gc=False):
    slot_id: str
    #: The practitioner's IDNPS (psindiv/cpts); None for sos.
    idnps: str | None
    #: psindiv/cpts: the Location contained in the PractitionerRole; sos: the Schedule's.
    place: SlotPlace | None
    #: cpts: the first CPTS Organization's identifier value (IDNST, "1" + FINESS).
    cpts_finess: str | None
    #: sos: the identifier value of the Location's managingOrganization ("3" + SIRET).
    organization: str | None
    slot: OfferedSlot
    #: cpts: every CPTS the slot is offered to, in the slot's order (a slot may name
    #: several HealthcareServices, as the IG's ExampleBundleCPTS2 does); ``cpts_finess``
    #: is the first.
    cpts_finesses: tuple[str, ...] = ()
    #: sos: the consultation site (None for psindiv/cpts, or without an association).
    site: SosSite | None = None


@dataclass
class BundleRead:
    slots: list[ReadSlot]
    problems: list[str]  # one line per skipped resource: "Slot/<id>: <why>"


class _Skip(Exception):
    """Why one slot is left out (the text of its problem line)."""


@dataclass(frozen=True, slots=True)
class _Owner:
    """What a Schedule's actors say about each of its slots."""

    idnps: str | None
    place: SlotPlace | None
    organization: str | None
    site: SosSite | None


@dataclass(slots=True)
class _Bundle:
    """One Bundle's entries, and what its slots share, worked out once."""

    entries: Entries
    #: By Schedule reference: its owner, or why its slots are skipped.
    owners: dict[str | None, _Owner | str] = field(default_factory=dict)
    #: Instant text -> epoch seconds (slots of one Bundle start on a few grid times).
    instants: dict[str, int] = field(default_factory=dict)


def read_slots(bundle: Bundle) -> BundleRead:
    """The free slots of one search Bundle, with a problem line per skipped resource."""
    entries = index_entries(bundle.resources())
    out = BundleRead([], list(entries.problems))
    seen: set[str] = set()
    shared = _Bundle(entries)
    for slot in entries.slots:
        # Dedupe on the slots kept, so a broken first copy does not hide a good second one.
        if slot.status != "free" or slot.id in seen:
            continue
        try:
            read = _read(slot, shared)
        except _Skip as why:
            out.problems.append(f"Slot/{slot.id or '?'}: {why}")
            continue
        seen.add(slot.id)
        out.slots.append(read)
    return out


def _read(slot: Slot, shared: _Bundle) -> ReadSlot:
    if not slot.id:
        raise _Skip("no id")
    start, end = _instant(slot.start, "start", shared), _instant(slot.end, "end", shared)
    if end <= start:
        raise _Skip("end is not after start")
    reference = ref(slot.schedule)
    owner = shared.owners.get(reference)
    if owner is None:
        try:
            owner = _owner(reference, shared.entries)
        except _Skip as why:
            owner = str(why)
        shared.owners[reference] = owner
    if isinstance(owner, str):
        raise _Skip(owner)
    finesses = cpts_organizations(slot, shared.entries) if _extended(slot) else ()
    return ReadSlot(
        slot_id=slot.id,
        idnps=owner.idnps,
        place=owner.place,
        cpts_finess=finesses[0] if finesses else None,
        organization=owner.organization,
        slot=_offered(slot, start, end),
        cpts_finesses=finesses,
        site=owner.site,
    )


def _owner(reference: str | None, entries: Entries) -> _Owner:
    schedule = entries.get(reference)
    if not isinstance(schedule, Schedule):
        raise _Skip("its Schedule is not in the bundle")
    actors = schedule_actors(schedule, entries)
    if actors.idnps is None and actors.site is None:
        if actors.practitioner is not None:
            raise _Skip("its Practitioner has no IDNPS")
        raise _Skip("its Schedule's actors hold no Practitioner nor Location in the bundle")
    site = actors.site
    organization = organization_value(site.managing_organization, entries) if site else None
    return _Owner(
        idnps=actors.idnps,
        place=_place(actors.practice if actors.idnps else None) or _place(site),
        organization=organization,
        site=read_site(site, organization, entries) if site and not actors.idnps else None,
    )


def _extended(slot: Slot) -> bool:
    """Whether a serviceType carries an extension (the CPTS reference): most slots don't."""
    return any(service.extension for service in slot.service_type)


def _instant(text: str | None, member: str, shared: _Bundle) -> int:
    if text:
        known = shared.instants.get(text)
        if known is None:
            known = shared.instants[text] = _parse_instant(text, member)
        return known
    return _parse_instant(text, member)


def _parse_instant(text: str | None, member: str) -> int:
    """Epoch seconds of a FHIR instant, read by msgspec's RFC 3339 parser (a date and a
    time with seconds; it also takes a space for the ``T`` and ``+0100``, both unambiguous).
    The zone FHIR requires is checked: a zoneless time would be read in the gateway's zone,
    not the agenda's."""
    if not text:
        raise _Skip(f"no {member}")
    try:
        moment = msgspec.convert(text, datetime)
    except msgspec.ValidationError:
        raise _Skip(f"{member} is not a FHIR instant") from None
    if moment.tzinfo is None:
        raise _Skip(f"{member} has no timezone")
    return int(moment.timestamp())


def _place(location: Location | None) -> SlotPlace | None:
    address = location.address if location else None
    if address is None:
        return None
    return SlotPlace(
        line=", ".join(line.strip() for line in address.line if line and line.strip()),
        postcode=(address.postal_code or "").strip(),
        city=(address.city or "").strip(),
    )


def _offered(slot: Slot, start: int, end: int) -> OfferedSlot:
    security = slot.meta.security if slot.meta else []
    types = {c.code for c in security if c.system == TYPE_SYSTEM and c.code in SLOT_TYPES}
    modes = {
        c.code
        for concept in slot.service_type
        for c in concept.coding
        if c.system == MODE_SYSTEM and c.code in MODES
    }
    appointment = slot.appointment_type.coding if slot.appointment_type else []
    specialties = {
        c.code
        for concept in slot.specialty
        for c in concept.coding
        if c.system == SPECIALTY_SYSTEM and c.code
    }
    return OfferedSlot(
        start=start,
        end=end,
        types=_shared(t for t in types if t),
        modes=_shared(m for m in modes if m),
        walk_in=any(c.system == APPOINTMENT_SYSTEM and c.code == "WALKIN" for c in appointment),
        booking_url=_booking_url(slot.comment),
        specialties=_shared(specialties),
    )


#: Sorted code tuples met so far, each kept once (bounded: codes come from the sources).
_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_TUPLES = 4096


def _shared(codes: Iterable[str]) -> tuple[str, ...]:
    """``codes`` sorted, as the one tuple every slot with those codes holds."""
    found = tuple(sorted(codes))
    known = _TUPLES.get(found)
    if known is not None:
        return known
    if len(_TUPLES) < _MAX_TUPLES:
        _TUPLES[found] = found
    return found


def _booking_url(comment: str | None) -> str | None:
    """The comment when it is an http(s) URL with a host (``scheme://`` then a character
    that starts a host), as ``urlsplit`` reads one, without parsing the whole URL."""
    text = (comment or "").strip()
    scheme, sep, rest = text.partition("://")
    if sep and scheme.lower() in ("http", "https") and rest and rest[0] not in "/?#":
        return text
    return None
