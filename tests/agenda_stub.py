"""A small agenda source (SAS IG "Consommateur" flows, FHIR R4) for respx.

``AgendaStub(kind)`` answers one of the IG's three searches, checked parameter by
parameter (another query gets a 400 OperationOutcome, as a real server answers a search it
cannot run):

* psindiv: ``GET [base]/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor
  &start=ge…&start=le…&schedule.actor:Practitioner.identifier=<tokens>&status=free``;
* cpts: the same and ``_include=Slot:service-type-reference
  &_include:iterate=HealthcareService:organization``;
* sos: ``GET [base]/Schedule?_revinclude=Slot:schedule&_include=Schedule:actor:Location
  &_include:iterate=Location:organization&_has:Slot:schedule:start=ge…&…=le…
  &_has:Slot:schedule:status=free&actor:Location.organization.identifier=<tokens>``.

Offers are kept per owner (an IDNPS, or an SOS association's identifier value), with start
offsets relative to the stub's ``now``. Bundles are shaped like the IG's examples
(``../shared/reference/sas/examples``); pages of ``_count`` matches (Slots; Schedules for
sos) are chained by ``next`` links. Every request is kept (``requests``). Failure modes:
``down`` (503), ``slow`` (seconds of sleep before answering), ``html`` (a 200 HTML page),
``malformed_slot`` (the first slot of each first page has a broken start), ``past`` (the
server ignores ``start=ge`` and each owner also has a slot that started 10 minutes ago).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import respx

from gateway.availability.slots import SlotPlace
from gateway.settings import AvailabilitySettings, MappingsSettings, Settings
from tests.conftest import copy_mappings, offline_settings

AGENDA_URL = "https://agenda.test/fhir"
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
IDNST = "urn:oid:1.2.250.1.71.4.2.2"
TYPES = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
R38 = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
R66 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR"
    "/TRE-R66-CategorieEtablissement"
)
SERVICE_TYPE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"
FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}
PRACTITIONERS = "schedule.actor:Practitioner.identifier"
ORGANIZATIONS = "actor:Location.organization.identifier"
Kind = Literal["psindiv", "cpts", "sos"]
Resource = dict[str, Any]

PSINDIV = {"_include": ["Slot:schedule"], "_include:iterate": ["Schedule:actor"],
           "status": ["free"]}  # fmt: skip
CPTS = {"_include": ["Slot:schedule", "Slot:service-type-reference"],
        "_include:iterate": ["HealthcareService:organization", "Schedule:actor"],
        "status": ["free"]}  # fmt: skip
SOS = {"_revinclude": ["Slot:schedule"], "_include": ["Schedule:actor:Location"],
       "_include:iterate": ["Location:organization"],
       "_has:Slot:schedule:status": ["free"]}  # fmt: skip


@dataclass(frozen=True)
class StubSlot:
    start: float  # seconds after the stub's ``now`` (negative: already started)
    minutes: int = 30
    types: tuple[str, ...] = ("PUBLIC",)
    modes: tuple[str, ...] = ("AMB",)
    walk_in: bool = False
    booking_url: str | None = None
    #: The practice (psindiv/cpts) or the consultation site (sos).
    place: SlotPlace | None = None
    #: cpts: the CPTS Organization's identifier value ("1" + FINESS) the slot is offered to.
    cpts_finess: str | None = None
    specialties: tuple[str, ...] = ()
    slot_id: str | None = None


@dataclass(frozen=True)
class _Served:
    owner: str
    offer: StubSlot
    start: float  # epoch seconds
    place: int  # the owner's place number: one Schedule (and role, or site) per place

    @property
    def id(self) -> str:
        return self.offer.slot_id or f"{self.owner}-{int(self.offer.start)}"

    @property
    def schedule(self) -> str:
        return f"{self.owner}-{self.place}"


@dataclass
class AgendaStub:
    kind: Kind
    now: float = field(default_factory=time.time)
    base_url: str = AGENDA_URL
    offers: dict[str, list[StubSlot]] = field(default_factory=dict)
    down: bool = False
    slow: float = 0.0
    html: bool = False
    malformed_slot: bool = False
    past: bool = False
    #: sos: what ``_revinclude`` really returns, every slot of a matching Schedule (one in
    #: the window), grouped by Schedule; else only the slots in the window, by start.
    whole_schedules: bool = False
    #: The IG's cardinality of the identifier parameter; more is answered 400.
    max_identifiers: int = 25
    requests: list[httpx.Request] = field(default_factory=list)

    def offer(self, owner: str, *slots: StubSlot) -> None:
        self.offers.setdefault(owner, []).extend(slots)

    def mount(self, router: respx.MockRouter) -> respx.Route:
        return router.get(url__startswith=self.base_url).mock(side_effect=self)

    @property
    def owner_param(self) -> str:
        return ORGANIZATIONS if self.kind == "sos" else PRACTITIONERS

    def identifiers(self, request: httpx.Request) -> list[str]:
        """The owners one request asked for (token values)."""
        values = request.url.params.get_list(self.owner_param)
        return [t.strip().partition("|")[2] for v in values for t in v.split(",") if t.strip()]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.down:
            return _outcome(503, "the agenda is down")
        if self.html:
            page = "<html><body>Maintenance</body></html>"
            return httpx.Response(200, text=page, headers={"Content-Type": "text/html"})
        sos = self.kind == "sos"
        path, start = ("/Schedule", "_has:Slot:schedule:start") if sos else ("/Slot", "start")
        params: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            params.setdefault(key, []).append(value)
        owners = self.identifiers(request)
        bounds = {v[:2]: v[2:] for v in params.pop(start, [])}
        count, offset = params.pop("_count", ["100"])[0], params.pop("_offset", ["0"])[0]
        params.pop(self.owner_param, None)
        fixed = {"psindiv": PSINDIV, "cpts": CPTS, "sos": SOS}[self.kind]
        if (
            not request.url.path.endswith(path)
            or {k: sorted(v) for k, v in params.items()} != fixed
            or set(bounds) != {"ge", "le"}
            or not (count.isdigit() and offset.isdigit())
        ):
            return _outcome(400, f"not the IG's {self.kind} search")
        if not owners or len(owners) > self.max_identifiers:
            return _outcome(400, f"1 to {self.max_identifiers} identifiers")
        try:
            low, high = (_epoch(bounds[b]) for b in ("ge", "le"))
        except ValueError:
            return _outcome(400, "start is not a dateTime")
        return self._answer(request, owners, low, high, int(count), int(offset))

    def _answer(
        self, request: httpx.Request, owners: list[str], low: float, high: float, count: int,
        offset: int,
    ) -> httpx.Response:  # fmt: skip
        sos = self.kind == "sos"
        served = [
            s
            for owner in owners
            for s in self._served(owner)
            if (self.past or low <= s.start) and s.start <= high
        ]
        served.sort(key=lambda s: (s.start, s.id))
        if sos and self.whole_schedules:
            matching = {s.schedule for s in served}
            everything = [s for owner in owners for s in self._served(owner)]
            served = [s for s in everything if s.schedule in matching]
            served.sort(key=lambda s: (s.schedule, s.start, s.id))
        # Matches are Slots, or Schedules (one per owner and place) for sos.
        schedules = list(dict.fromkeys(s.schedule for s in served))
        total = len(schedules) if sos else len(served)
        page = set(schedules[offset : offset + count])
        slots = [s for s in served if s.schedule in page] if sos else served[offset:][:count]
        bundle: Resource = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "entry": self._entries(slots, broken=self.malformed_slot and offset == 0),
        }
        if offset + count < total:
            following = request.url.copy_set_param("_offset", str(offset + count))
            bundle["link"] = [{"relation": "next", "url": str(following)}]
        return httpx.Response(200, content=json.dumps(bundle), headers=FHIR_HEADERS)

    def _served(self, owner: str) -> list[_Served]:
        offers = list(self.offers.get(owner, []))
        if self.past and offers:
            offers.append(StubSlot(-600, place=offers[0].place, slot_id=f"{owner}-past"))
        places = list(dict.fromkeys(s.place for s in offers))
        return [_Served(owner, s, self.now + s.start, places.index(s.place)) for s in offers]

    def _entries(self, slots: list[_Served], broken: bool) -> list[Resource]:
        out: dict[str, Resource] = {}
        for n, served in enumerate(slots):
            out[f"Slot/{served.id}"] = _slot(served, broken=broken and n == 0)
            for resource in self._context(served.owner, served.offer, served.schedule):
                out.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
        match = "Schedule" if self.kind == "sos" else "Slot"
        return [
            {
                "fullUrl": f"{self.base_url}/{key}",
                "resource": resource,
                "search": {"mode": "match" if key.startswith(f"{match}/") else "include"},
            }
            for key, resource in out.items()
        ]

    def _context(self, owner: str, offer: StubSlot, schedule: str) -> list[Resource]:
        location = _location(f"loc-{schedule}", offer.place)
        if self.kind == "sos":
            location["managingOrganization"] = {"reference": f"Organization/sos-{owner}"}
            site = {"reference": f"Location/{location['id']}"}
            return [
                {"resourceType": "Schedule", "id": schedule, "actor": [site]},
                location,
                _organization(f"sos-{owner}", owner),
            ]
        role, me = f"role-{schedule}", {"reference": f"Practitioner/{owner}"}
        out: list[Resource] = [
            {"resourceType": "Schedule", "id": schedule,
             "actor": [me, {"reference": f"PractitionerRole/{role}"}]},
            {"resourceType": "Practitioner", "id": owner,
             "identifier": [{"system": IDNPS, "value": owner}]},
            {"resourceType": "PractitionerRole", "id": role, "contained": [location],
             "practitioner": me, "location": [{"reference": f"#{location['id']}"}]},
        ]  # fmt: skip
        if self.kind == "cpts" and offer.cpts_finess:
            cpts = f"cpts-{offer.cpts_finess}"
            provider = {"reference": f"Organization/{cpts}"}
            hs = {"resourceType": "HealthcareService", "id": f"hs-{offer.cpts_finess}"}
            out += [{**hs, "providedBy": provider}, _organization(cpts, offer.cpts_finess)]
        return out


def _slot(served: _Served, broken: bool) -> Resource:
    offer = served.offer
    service: list[Resource] = [{"coding": [{"system": ACT, "code": m}]} for m in offer.modes]
    if offer.cpts_finess:
        reference = {"reference": f"HealthcareService/hs-{offer.cpts_finess}"}
        service.append({
            "extension": [{"url": SERVICE_TYPE, "valueReference": reference}],
            "coding": [{"system": R66, "code": "604"}],
        })  # fmt: skip
    appointment = "WALKIN" if offer.walk_in else "ROUTINE"
    resource: Resource = {
        "resourceType": "Slot",
        "id": served.id,
        "meta": {"security": [{"system": TYPES, "code": t} for t in offer.types]},
        "serviceType": service,
        "specialty": [{"coding": [{"system": R38, "code": c}]} for c in offer.specialties],
        "appointmentType": {"coding": [{"system": V2_0276, "code": appointment}]},
        "schedule": {"reference": f"Schedule/{served.schedule}"},
        "status": "free",
        "start": "2030-02-31T25:00:00+01:00" if broken else _instant(served.start),
        "end": _instant(served.start + offer.minutes * 60),
    }
    if offer.booking_url:
        resource["comment"] = offer.booking_url
    return resource


def _location(lid: str, place: SlotPlace | None) -> Resource:
    location: Resource = {"resourceType": "Location", "id": lid, "name": "Cabinet"}
    if place is not None:
        location["address"] = {"line": [place.line], "postalCode": place.postcode,
                               "city": place.city}  # fmt: skip
    return location


def _organization(oid: str, value: str) -> Resource:
    return {"resourceType": "Organization", "id": oid, "name": f"Organisation {value}",
            "identifier": [{"system": IDNST, "value": value}]}  # fmt: skip


def _epoch(text: str) -> float:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _outcome(status: int, diagnostics: str) -> httpx.Response:
    issue = {"severity": "error", "code": "invalid", "diagnostics": diagnostics}
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return httpx.Response(status, content=json.dumps(body), headers=FHIR_HEADERS)


def stub_source_settings(snapshot: Path, mappings: Path, name: str, kind: Kind) -> Settings:
    """Offline settings on ``snapshot`` whose only agenda source is the stub (``name``,
    ``kind``, at ``AGENDA_URL``), its slots stale after 600 s; the steward tables are copied
    to ``mappings``."""
    copy_mappings(mappings)
    (mappings / "agenda_sources.csv").write_text(
        f"name,kind,base_url,rate_per_s,window_hours\n{name},{kind},{AGENDA_URL},100,24\n",
        encoding="utf-8",
    )
    return replace(
        offline_settings(snapshot),
        mappings=MappingsSettings(mappings),
        availability=AvailabilitySettings(stale_s=600.0),
    )
