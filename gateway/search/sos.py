"""``GET /v1/sos``: SOS Médecins consultation sites near the patient, with their free slots.

SOS slots belong to sites (the fixed consultation points an SOS agenda source names:
``gateway.availability.sites``), not to practitioners, so they are searched apart from the
practice-location index. The sites are those the sources of kind sos have shown at a good
refresh, of the associations still subscribed; each is placed at its Location's position
when the editor gives one (``precision: address``), else at its commune's point (the
address's INSEE code, else its postcode and city: ``precision: city``); a site that cannot
be placed is left out.

The search circle is the radius asked for, else the département's default radius (the
steward table), enlarged once by the département's enlargement value when no site is
inside. Order: distance, then the SAS availability partition ([slots & participant],
[slots], [no slot & participant], [rest]). ``availability`` is the association's source's
status (``gateway.availability.state``): an ``unknown`` site shows no slot, which does not
mean it has none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.availability.sites import SosSite
from gateway.availability.slots import OfferedSlot
from gateway.availability.state import Availability, Status
from gateway.component import Live
from gateway.errors import InvalidInput
from gateway.geo.communes import CommuneIndex, UnknownCommune, search_key
from gateway.geo.earth import haversine_km
from gateway.geo.insee import parse_insee
from gateway.mappings.radius import default_radius
from gateway.mappings.tables import ActiveMappings
from gateway.search.availability_table import SlotFilter, mode_bits
from gateway.settings import SearchSettings

SHOWN_SLOTS = 3


@dataclass(frozen=True, slots=True)
class SosQuery:
    lat: float | None = None
    lon: float | None = None
    #: The searched commune: the centre when no point is given, and its département.
    insee: str | None = None
    radius_km: float | None = None
    wanted: SlotFilter = field(default_factory=SlotFilter)


@dataclass(frozen=True, slots=True)
class PlacedSite:
    """A site with its point and every slot held for it (by start), once per availability."""

    site: SosSite
    source: str
    participant: bool
    lat: float
    lon: float
    precision: str
    insee: str | None
    slots: tuple[OfferedSlot, ...]


@dataclass(frozen=True, slots=True)
class SiteCard:
    placed: PlacedSite
    distance_km: float
    availability: Status
    #: The next slots matching the request's filters (at most ``SHOWN_SLOTS``).
    slots: list[OfferedSlot]


@dataclass(frozen=True, slots=True)
class SosResult:
    sites: list[SiteCard]
    radius_km: float
    enlarged: bool
    departement: str | None


class SosService:
    def __init__(
        self,
        availability: Live[Availability],
        communes: CommuneIndex,
        mappings: ActiveMappings,
        settings: SearchSettings,
        departement_near: Callable[[float, float], str | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.availability = availability
        self.communes = communes
        self.mappings = mappings
        self.settings = settings
        self.departement_near = departement_near
        self.clock = clock
        self._placed: tuple[int, list[PlacedSite]] | None = None

    def search(self, query: SosQuery) -> SosResult:
        lat, lon, departement = self._centre(query)
        row = self.mappings.current.radii.get(departement) if departement else None
        radius = query.radius_km
        if radius is None:
            radius = default_radius(row, self.settings.fallback_radius_km)
        availability, now = self.availability.current, self.clock()
        placed = [(haversine_km(lat, lon, p.lat, p.lon), p) for p in self.placed(availability)]
        inside = [(d, p) for d, p in placed if d <= radius]
        enlarged = False
        if not inside and query.radius_km is None and row is not None and row.enlargement_km > 0:
            radius, enlarged = radius + row.enlargement_km, True
            inside = [(d, p) for d, p in placed if d <= radius]
        cards = [_card(d, p, availability, query.wanted, now) for d, p in inside]
        cards.sort(key=lambda c: (c.distance_km, c.placed.site.name or "", c.placed.site.key))
        # Stable: distance order within each group of the SAS partition.
        cards.sort(key=lambda c: (0 if c.slots else 2) + (0 if c.placed.participant else 1))
        return SosResult(cards, radius, enlarged, departement)

    def _centre(self, query: SosQuery) -> tuple[float, float, str | None]:
        if (query.lat is None) != (query.lon is None):
            missing = "lon" if query.lon is None else "lat"
            raise InvalidInput("lat and lon go together: give both", parameter=missing)
        insee = parse_insee(query.insee) if query.insee else None
        commune = self.communes.by_insee(insee) if insee else None
        if insee and commune is None:
            raise UnknownCommune("Unknown INSEE commune code", details={"parameter": "insee"})
        if query.lat is not None and query.lon is not None:
            departement = commune.departement if commune else None
            return query.lat, query.lon, departement or self.departement_near(query.lat, query.lon)
        if commune is None:
            raise InvalidInput("give the patient's point (lat, lon) or commune (insee)",
                               parameter="insee")  # fmt: skip
        return commune.lat, commune.lon, commune.departement

    def placed(self, availability: Availability) -> list[PlacedSite]:
        """Every site of the sos sources that can be placed (cached per availability)."""
        known = self._placed
        if known is not None and known[0] == availability.version:
            return known[1]
        found: list[PlacedSite] = []
        associations = availability.subscriptions.associations
        for state in availability.sources.values():
            by_site: dict[tuple[str, str], list[OfferedSlot]] = {}
            for owner, held in state.slots.items():
                for read in held:
                    if read.site is not None:
                        by_site.setdefault((owner, read.site.key), []).append(read.slot)
            for site in state.sites:
                association = associations.get(site.association)
                point = self._locate(site)
                if association is None or association.source != state.name or point is None:
                    continue
                slots = sorted(by_site.get((site.association, site.key), ()), key=lambda s: s.start)
                found.append(PlacedSite(site, state.name, association.participant, *point,
                                        tuple(slots)))  # fmt: skip
        self._placed = (availability.version, found)
        return found

    def _locate(self, site: SosSite) -> tuple[float, float, str, str | None] | None:
        """(lat, lon, precision, INSEE code) of a site, or None when it cannot be placed."""
        place = site.place
        commune = self.communes.by_insee(place.insee) if place and place.insee else None
        if commune is None and place is not None and place.postcode:
            found = self.communes.by_postcode(place.postcode)
            city = search_key(place.city)
            commune = next((c for c in found if search_key(c.name) == city), None)
            commune = commune or (found[0] if found else None)
        insee = commune.insee if commune else None
        if site.lat is not None and site.lon is not None:
            return site.lat, site.lon, "address", insee
        return None if commune is None else (commune.lat, commune.lon, "city", insee)


def _card(
    distance: float, placed: PlacedSite, availability: Availability, wanted: SlotFilter, now: float
) -> SiteCard:
    status = availability.association_status(placed.site.association, now)
    shown = [] if status == "unknown" else [s for s in placed.slots if _matches(s, wanted, now)]
    return SiteCard(placed, round(distance, 3), status, shown[:SHOWN_SLOTS])


def _matches(slot: OfferedSlot, wanted: SlotFilter, now: float) -> bool:
    """Not started yet, and within the request's filters (as ``/v1/search`` counts them)."""
    if slot.start <= now:
        return False
    if wanted.modes and not mode_bits(slot.modes) & wanted.modes:
        return False
    if wanted.start_from is not None and slot.start < wanted.start_from:
        return False
    return wanted.start_to is None or slot.start <= wanted.start_to
