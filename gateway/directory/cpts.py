"""CPTS and their intervention zones, indexed by INSEE commune code.

``build_cpts_index(resources, communes_of)`` turns ROR Organizations, HealthcareServices and
Locations (read by ``gateway.directory.ror_fhir``) into a ``CptsIndex``. It is shared by the
offline loader (``CptsSnapshot``, fed by the one snapshot read of ``gateway.snapshot``;
``load_cpts_snapshot(directory, communes_of)`` for a directory alone) and the online fetch
``gateway.directory.ror.fetch_cpts_index``, so both give the same index.

Zones above commune level are expanded into communes by ``communes_of(level, code)`` (the
commune reference; ``level`` is the TRE_R201 code: 1 région, 2 département, 4 territoire de
santé), called once per distinct zone. A commune covered at several levels by one CPTS
reports the most specific level. Paris, Lyon and Marseille arrondissements and their city
code (75056, 69123, 13055) find each other's CPTS, as the commune reference relates them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gateway.directory.ror_fhir import (
    R201_CODES,
    FhirResource,
    HealthcareService,
    Location,
    Organization,
    Zone,
    ZoneLevel,
    contact_phone,
    decode_resources,
    finess_of,
    is_cpts,
    parse_zones,
    phone_of,
    reference_id,
)
from gateway.geo.insee import normalise_code
from gateway.snapshot import SnapshotReader, SnapshotReport, read_snapshot

log = logging.getLogger("gateway.directory.cpts")


class CommunesOf(Protocol):
    """What the index needs of the commune reference (``cpts_source.communes_of`` over
    ``CommuneIndex``): zone expansion, and arrondissements, which only it knows."""

    def __call__(self, level: int, code: str) -> Iterable[str]:
        """The INSEE commune codes of a TRE_R201 ``level`` (1 région, 2 département,
        4 territoire de santé) and ``code``; empty when unknown."""
        ...

    def same_city(self, insee: str) -> Iterable[str]:
        """Paris, Lyon, Marseille: the city of an arrondissement, the arrondissements of
        the city; empty for any other commune."""
        ...


_SPECIFICITY = {level: rank for rank, level in enumerate(ZoneLevel)}


@dataclass(frozen=True, slots=True)
class Cpts:
    id: str
    finess: str | None
    name: str
    phone: str | None
    zones: tuple[Zone, ...]
    members_url: str | None = None


@dataclass(frozen=True, slots=True)
class CptsMatch:
    cpts: Cpts
    zone_level: ZoneLevel


@dataclass(slots=True)
class CptsReport:
    files: int = 0
    resources: int = 0
    problems: list[str] = field(default_factory=list)


def _order(match: CptsMatch) -> tuple[int, str, str]:
    return (_SPECIFICITY[match.zone_level], match.cpts.name, match.cpts.id)


class CptsIndex:
    """INSEE commune code → the CPTS covering it, with the level its zone matched at."""

    def __init__(self, cpts: Iterable[Cpts], communes_of: CommunesOf) -> None:
        self.cpts = list(cpts)
        self._same_city = communes_of.same_city
        self.report = CptsReport()
        #: Where the index came from (``snapshot:<dir>`` or ``ror:<url>``), for health checks.
        self.source = "memory"
        self.loaded_at = time.time()
        levels_by_insee: dict[str, dict[int, ZoneLevel]] = {}
        expanded: dict[Zone, list[str]] = {}
        #: FINESS → the INSEE codes of every commune of its zone (the console's map).
        self._zone_by_finess: dict[str, tuple[Cpts, tuple[str, ...]]] = {}
        for position, item in enumerate(self.cpts):
            for zone in item.zones:
                if zone not in expanded:
                    expanded[zone] = self._communes(zone, communes_of)
                for insee in expanded[zone]:
                    levels = levels_by_insee.setdefault(insee, {})
                    kept = levels.get(position)
                    if kept is None or _SPECIFICITY[zone.level] < _SPECIFICITY[kept]:
                        levels[position] = zone.level
            if item.finess and item.finess not in self._zone_by_finess:
                codes = sorted({c for zone in item.zones for c in expanded[zone]})
                self._zone_by_finess[item.finess] = (item, tuple(codes))
        self._by_insee = {
            insee: tuple(
                sorted((CptsMatch(self.cpts[p], lvl) for p, lvl in found.items()), key=_order)
            )
            for insee, found in levels_by_insee.items()
        }

    def _communes(self, zone: Zone, communes_of: CommunesOf) -> list[str]:
        if zone.level is ZoneLevel.COMMUNE:
            return [zone.code]
        found = sorted({str(c).upper() for c in communes_of(R201_CODES[zone.level], zone.code)})
        if not found:
            self.report.problems.append(f"no commune known for {zone.level.value} {zone.code}")
        return found

    def __len__(self) -> int:
        return len(self.cpts)

    @property
    def communes(self) -> int:
        """How many communes at least one CPTS covers."""
        return len(self._by_insee)

    def zone(self, finess: str) -> tuple[Cpts, tuple[str, ...]] | None:
        """The CPTS with this FINESS and the INSEE codes of its zone's communes."""
        return self._zone_by_finess.get(finess)

    def covering(self, insee: str) -> list[CptsMatch]:
        """The CPTS whose zone contains commune ``insee``: most specific level, then name."""
        code = normalise_code(insee)
        related = list(self._same_city(code))
        if not related:
            return list(self._by_insee.get(code, ()))
        merged: dict[str, CptsMatch] = {}
        for candidate in (code, *related):
            for match in self._by_insee.get(candidate, ()):
                kept = merged.get(match.cpts.id)
                if kept is None or _order(match) < _order(kept):
                    merged[match.cpts.id] = match
        return sorted(merged.values(), key=_order)


def build_cpts_index(
    resources: Iterable[FhirResource],
    communes_of: CommunesOf,
    *,
    members_base_url: str | None = None,
    problems: list[str] | None = None,
) -> CptsIndex:
    """The index of the CPTS Organizations in ``resources`` and of the offers they provide.

    Resources sharing an id are deduplicated (the last one wins). ``members_url`` is the
    FHIR search of the CPTS's PractitionerRoles under ``members_base_url``, or ``None``.
    """
    problems = [] if problems is None else problems
    orgs: dict[str, Organization] = {}
    services: dict[str, HealthcareService] = {}
    locations: dict[str, Location] = {}
    count = 0
    for resource in resources:
        count += 1
        key = resource.id or f"#{count}"  # without an id it can be neither merged nor referenced
        if isinstance(resource, Organization):
            orgs[key] = resource
        elif isinstance(resource, HealthcareService):
            services[key] = resource
        else:
            locations[key] = resource
    offers: dict[str, list[HealthcareService]] = {}
    for service in services.values():
        owner = reference_id(service.provided_by, "Organization")
        if owner is not None and service.active is not False:
            offers.setdefault(owner, []).append(service)
    found = [
        _cpts(org_id, org, offers.get(org_id, []), locations, members_base_url, problems)
        for org_id, org in orgs.items()
        if is_cpts(org) and org.active is not False
    ]
    index = CptsIndex(found, communes_of)
    index.report.resources = count
    index.report.problems[:0] = problems
    return index


def _cpts(
    org_id: str,
    org: Organization,
    offers: list[HealthcareService],
    locations: dict[str, Location],
    members_base_url: str | None,
    problems: list[str],
) -> Cpts:
    zones = parse_zones(org.extension, problems)
    for service in offers:
        zones.extend(parse_zones(service.extension, problems))
    places = [
        locations[ref_id]
        for service in offers
        for ref in service.location
        if (ref_id := reference_id(ref, "Location")) in locations
    ]
    phones = [phone_of(org.telecom)]
    phones += [phone_of(s.telecom) or contact_phone(s) for s in offers]
    phones += [phone_of(place.telecom) for place in places]
    members = None
    if members_base_url and org.id:
        base = members_base_url.rstrip("/")
        members = f"{base}/PractitionerRole?organization=Organization/{org.id}"
    name = org.name or next((s.name for s in offers if s.name), None) or org_id
    return Cpts(
        id=org_id,
        finess=finess_of(org),
        name=name,
        phone=next((p for p in phones if p), None),
        zones=tuple(dict.fromkeys(zones)),
        members_url=members,
    )


class CptsSnapshot:
    """The snapshot's ROR resources (Organizations, HealthcareServices, Locations, given by
    ``gateway.snapshot`` as the ROR returns them), then the index they make."""

    RESOURCE_TYPES = ("Organization", "HealthcareService", "Location")

    def __init__(self) -> None:
        self.resources: list[FhirResource] = []

    def read_from(self, reader: SnapshotReader) -> None:
        reader.register(self.RESOURCE_TYPES, self._take)

    def _take(self, raw: bytes, file: Path) -> None:
        self.resources.extend(decode_resources(raw, []))  # one resource: raises if refused

    def index(
        self,
        communes_of: CommunesOf,
        report: SnapshotReport,
        *,
        members_base_url: str | None = None,
    ) -> CptsIndex:
        """The index; ``index.report`` counts the snapshot's files and lists the problems
        that concern CPTS (unreadable files, refused ROR resources, zones)."""
        read_problems = report.errors_for(self.RESOURCE_TYPES)
        index = build_cpts_index(
            self.resources,
            communes_of,
            members_base_url=members_base_url,
            problems=list(read_problems),
        )
        index.report.files = report.files
        index.source = f"snapshot:{report.directory}"
        for problem in index.report.problems[len(read_problems) :]:  # the reader logged its own
            log.warning("CPTS snapshot problem", extra={"problem": problem})
        return index


def load_cpts_snapshot(
    directory: Path, communes_of: CommunesOf, *, members_base_url: str | None = None
) -> CptsIndex:
    """The CPTS index of a snapshot directory (tools, tests; the gateway reads its snapshot
    once for every loader and calls ``CptsSnapshot.index``)."""
    found = CptsSnapshot()
    report = read_snapshot(directory, found)
    return found.index(communes_of, report, members_base_url=members_base_url)
