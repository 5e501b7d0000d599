"""The demo agenda's SOS Médecins side: two fictitious associations and their sites.

``DemoAgenda`` answers the IG's SOS search (``specifications_techniques-sos-recherche_
creneaux``: ``GET [base]/Schedule?_revinclude=Slot:schedule&…``) with this module's
Bundle, shaped like the IG's ``ExampleBundleAgregateurSOS``: per site with a free slot in
the window, its Slots, then its Schedule (matched), Location and Organization. Sites are
few, so the answer is one page.

Slots sit on the demo's half-hour grid, drawn per site and per day from a seed (a slot keeps
its id and time from one refresh to the next); many are "sans rendez-vous" (WALKIN), as SOS
Médecins consultations often are. One Paris site gives its position, the others only their
address (the search places them at their commune).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from gateway.availability.demo_resources import (
    PROFILE,
    DemoSlot,
    entry,
    slot_resource,
    window_days,
)
from gateway.directory.identifiers import IDNST_SYSTEM

_LOCATION_TYPES = "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type"
_SITES_SYSTEM = "https://rdv.demo-agenda.invalid/sos/lieux"
_FIRST, _LAST = 7 * 2, 21 * 2  # the grid, in half hours since midnight UTC


@dataclass(frozen=True, slots=True)
class DemoSite:
    key: str
    name: str
    phone: str
    line: str
    postcode: str
    city: str
    position: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class DemoAssociation:
    #: IDNST: "3" + a fictitious SIRET (Luhn-valid, SIREN 99999…).
    identifier: str
    name: str
    sites: tuple[DemoSite, ...]


ASSOCIATIONS = (
    DemoAssociation("399999000500012", "SOS Médecins DEMO Paris", (
        DemoSite("demo-sos-paris-8", "Centre de consultation DEMO Paris 8", "+33100000001",
                 "12 rue de Rome", "75008", "PARIS", (48.8768, 2.3247)),
        DemoSite("demo-sos-paris-15", "Centre de consultation DEMO Paris 15", "+33100000002",
                 "300 rue de Vaugirard", "75015", "PARIS"),
    )),
    DemoAssociation("399999001300016", "SOS Médecins DEMO Lyon", (
        DemoSite("demo-sos-lyon-3", "Centre de consultation DEMO Lyon 3", "+33400000003",
                 "10 cours Lafayette", "69003", "LYON"),
    )),
)  # fmt: skip
_BY_ID = {a.identifier: a for a in ASSOCIATIONS}


def sos_bundle_entries(
    identifiers: list[str], low: float, high: float, now: float, base: str
) -> tuple[int, list[dict[str, Any]]]:
    """(matched Schedules, entries) for the associations asked, slots in ``[low, high]``
    not started at ``now``."""
    entries: list[dict[str, Any]] = []
    matched = 0
    for identifier in dict.fromkeys(identifiers):
        association = _BY_ID.get(identifier)
        if association is None:
            continue
        included = False
        for site in association.sites:
            slots = [s for s in site_offer(site.key, low, high) if s.start > now]
            if not slots:
                continue
            matched += 1
            entries += [entry(base, _slot(s), "include") for s in slots]
            entries.append(entry(base, _schedule(site), "match"))
            entries.append(entry(base, _location(site, identifier), "include"))
            if not included:  # the example's order: the Organization after its first Location
                entries.append(entry(base, _organization(association), "include"))
                included = True
    return matched, entries


def site_offer(key: str, low: float, high: float) -> list[DemoSlot]:
    out: list[DemoSlot] = []
    for day, midnight in window_days(low, high):
        rng = random.Random(f"demo-sos|{key}|{day.isoformat()}")
        for half in sorted(rng.sample(range(_FIRST, _LAST), rng.randint(2, 6))):
            start = midnight + half * 1800
            if low <= start <= high:
                modes = ("AMB", "VR") if rng.random() < 0.2 else ("AMB",)
                types = ("PUBLIC", "SNP") if rng.random() < 0.5 else ("SNP",)
                out.append(DemoSlot(key, start, types, modes, rng.random() < 0.5))
    return out


def _slot(slot: DemoSlot) -> dict[str, Any]:
    resource = slot_resource(slot)
    resource["meta"]["profile"] = [PROFILE + "FrSlotAgregateurSOS"]
    return resource


def _schedule(site: DemoSite) -> dict[str, Any]:
    return {
        "resourceType": "Schedule",
        "id": f"demo-{site.key}-schedule",  # as slot_resource refers to it
        "meta": {"profile": [PROFILE + "FrScheduleAgregateurSOS"]},
        "actor": [{"reference": f"Location/{site.key}"}],
    }


def _location(site: DemoSite, association: str) -> dict[str, Any]:
    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": site.key,
        "meta": {"profile": [PROFILE + "FrLocationAgregateurSOS"]},
        "identifier": [{"type": {"coding": [{"system": _LOCATION_TYPES, "code": "INTRN"}]},
                        "system": _SITES_SYSTEM, "value": site.key}],
        "name": site.name,
        "telecom": [{"system": "phone", "value": site.phone}],
        "address": {"line": [site.line], "city": site.city, "postalCode": site.postcode},
        "managingOrganization": {"reference": f"Organization/demo-sos-{association}"},
    }  # fmt: skip
    if site.position is not None:
        location["position"] = {"latitude": site.position[0], "longitude": site.position[1]}
    return location


def _organization(association: DemoAssociation) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": f"demo-sos-{association.identifier}",
        "meta": {"profile": [PROFILE + "FrOrganizationAgregateurSOS"]},
        "identifier": [{"type": {"coding": [{"system": _LOCATION_TYPES, "code": "IDNST"}]},
                        "system": IDNST_SYSTEM, "value": association.identifier}],
        "name": association.name,
    }  # fmt: skip
