"""``GET /v1/search``: from request parameters to a ranked page of cards.

Decides the radius (requested, else the département's default from the steward table; the
département's ``county_radius_km`` for a département-level search), the enlargement, the
CPTS covering the searched commune and the specialty filter, then lets
:class:`gateway.search.engine.SearchEngine` rank. Labels come from the terminology.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from gateway.component import Live
from gateway.directory.cpts import CptsIndex
from gateway.directory.identifiers import parse_practitioner_id
from gateway.directory.practitioner_codes import PROFESSION_NOS, SPECIALTY_NOS
from gateway.errors import InvalidInput, NotFound
from gateway.geo.communes import CommuneIndex, UnknownCommune
from gateway.geo.insee import parse_insee
from gateway.geo.spatial import SphereGrid
from gateway.mappings.radius import default_radius
from gateway.mappings.tables import ActiveMappings
from gateway.search.availability_table import SlotFilter, mode_bits
from gateway.search.cpts_members import Member, cpts_members
from gateway.search.engine import LocationType, RowStatus, SearchQuery
from gateway.search.labels import Labels
from gateway.search.live_availability import AvailabilityTables
from gateway.search.live_index import LocationIndex
from gateway.search.result_cards import (
    CardContext,
    LocationAvailability,
    Participation,
    ResultCard,
    build_card,
    cpts_only,
)
from gateway.settings import SearchSettings
from gateway.terminology.canonical import nos_id
from gateway.terminology.service import TerminologyService

_NOS_COLUMN = {PROFESSION_NOS: "profession", SPECIALTY_NOS: "specialty"}
_PROFESSION_CODE = re.compile(r"^[0-9]{1,3}$")


@dataclass(frozen=True, slots=True)
class SearchRequest:
    lat: float
    lon: float
    location_type: LocationType = "address"
    radius_km: float | None = None
    specialty: str | None = None
    preferred_doctor: str | None = None
    insee: str | None = None
    seed: str = ""
    page: int = 1
    page_size: int = 20
    #: Count only slots of these consultation modes (AMB, HH, VR; empty: any).
    consultation: tuple[str, ...] = ()
    #: Count only slots starting in this window (epoch seconds, inclusive).
    slots_from: int | None = None
    slots_to: int | None = None
    #: The complementary offer: participants who accept patients beyond their slots.
    supplementary: bool = False


@dataclass(frozen=True, slots=True)
class SearchResult:
    cards: list[ResultCard]
    radius_km: float
    enlarged: bool
    total: int
    departement: str | None
    #: False when the specialty asked for is not a known code: only the preferred doctor's
    #: cards are returned (SAS rule); None when no specialty was asked for.
    specialty_known: bool | None = None
    #: The practice-location index that answered (``X-Locations-Version``).
    index_version: str = ""


class SearchService:
    def __init__(
        self,
        index: Live[LocationIndex],
        terminology: TerminologyService,
        communes: CommuneIndex,
        mappings: ActiveMappings,
        settings: SearchSettings,
        tables: AvailabilityTables | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self.tables = tables
        self.clock = clock
        self.terminology = terminology
        self.communes = communes
        self.mappings = mappings
        self.settings = settings
        self.labels = Labels(terminology)

    @cached_property
    def _commune_grid(self) -> tuple[SphereGrid, list[str]]:
        found = [c for c in self.communes.records() if c.kind in {"COM", "ARM"}]
        lat = np.array([c.lat for c in found])
        lon = np.array([c.lon for c in found])
        grid = SphereGrid(lat, lon, 0.2)
        return grid, [found[int(i)].departement for i in grid.order]

    def departement_near(self, lat: float, lon: float) -> str | None:
        """The département of the commune point nearest to (lat, lon), within 50 km."""
        grid, departements = self._commune_grid
        hits = grid.within(lat, lon, 50.0)
        if not hits.positions.size:
            return None
        return departements[int(hits.positions[int(np.argmax(hits.dots))])]

    async def search(self, request: SearchRequest, cpts_index: CptsIndex) -> SearchResult:
        departement, cpts = None, []
        if request.insee:
            insee = parse_insee(request.insee)
            departement = self.communes.departement_of(insee)
            if departement is None:
                raise UnknownCommune("Unknown INSEE commune code", details={"parameter": "insee"})
            cpts = [m.cpts for m in cpts_index.covering(insee) if m.cpts.finess]
        else:
            departement = self.departement_near(request.lat, request.lon)
        row = self.mappings.current.radii.get(departement) if departement else None
        lat, lon = request.lat, request.lon
        if request.location_type == "county" and row is not None:
            lat, lon = row.barycentre_lat, row.barycentre_lon  # SAS: the département's centre
        specialty = await self._specialty(request.specialty) if request.specialty else None
        radius = request.radius_km
        if radius is None:
            radius = default_radius(
                row, self.settings.fallback_radius_km, county=request.location_type == "county"
            )
        query = SearchQuery(
            lat=lat,
            lon=lon,
            location_type=request.location_type,
            radius_km=radius,
            seed=request.seed,
            enlargement_km=row.enlargement_km if row is not None else 0.0,
            min_results=self.settings.min_results,
            cpts=[c.finess for c in cpts if c.finess],
            preferred_doctor=int(
                parse_practitioner_id(request.preferred_doctor, "preferred_doctor").idnps
            )
            if request.preferred_doctor
            else None,
            specialty=specialty or None,
            only_preferred=specialty == (),
            page=request.page,
            page_size=request.page_size,
        )
        index = self.index.current  # in force for the whole request, whatever swaps meanwhile
        context = await self._context(index, request)
        page = index.engine.search(query, context.status)
        by_finess = {c.finess: c for c in cpts}
        cards = [await build_card(self.labels, context, r, by_finess) for r in page.rows]
        # A CPTS covering the commune is shown even with no member inside the circle (DESIGN
        # §2: by zone, not by distance): after the ranked cards, in the covering order.
        # Not in the complementary offer: a CPTS is no participant taking patients beyond
        # its slots.
        unranked = (
            [] if request.supplementary else [c for c in cpts if c.finess not in page.cpts_ranked]
        )
        start = (request.page - 1) * request.page_size + len(cards)
        for position in range(max(start, page.total), page.total + len(unranked)):
            if len(cards) >= request.page_size:
                break
            cards.append(cpts_only(unranked[position - page.total]))
        return SearchResult(
            cards,
            page.radius_km,
            page.enlarged,
            page.total + len(unranked),
            departement,
            None if specialty is None else specialty != (),
            index.version,
        )

    async def _specialty(self, value: str) -> tuple[str, str] | tuple[()]:
        """``system|code`` (URL or ``urn:oid:``), or a bare TRE_R38 code or TRE_G15 code;
        ``()`` for a well-formed code the terminology does not know."""
        text = value.strip()
        if "|" in text:
            system, _, code = text.rpartition("|")
        else:
            code = text
            system = PROFESSION_NOS if _PROFESSION_CODE.match(text) else SPECIALTY_NOS
        try:
            found = (await self.terminology.lookup(system, code)).value
        except NotFound:
            return ()
        column = _NOS_COLUMN.get(nos_id(found.codesystem.url) or "")
        if column is None:
            raise InvalidInput(
                "specialty must be a TRE_R38 specialty or a TRE_G15 profession",
                parameter="specialty",
            )
        return column, found.concept.code

    async def _context(self, index: LocationIndex, request: SearchRequest) -> CardContext:
        """Live availability over this index (when sources are read) for this request's
        filters; else the index's own columns."""
        now = self.clock()
        wanted = SlotFilter(mode_bits(request.consultation), request.slots_from, request.slots_to)
        columns = index.locations.columns
        if self.tables is None:
            only = np.zeros(len(index.locations), dtype=bool) if request.supplementary else None
            status = RowStatus(columns["participant"], columns["first_slot"], only)
            return CardContext(index.locations, status, None, wanted, now)
        table = await self.tables.table_for(index)
        only = table.beyond if request.supplementary else None
        status = RowStatus(table.participant, table.first_slot(wanted, now), only)
        return CardContext(index.locations, status, table, wanted, now)

    async def cpts_members(self, finess: str) -> list[Member]:
        if self.tables is None:
            return []
        index = self.index.current
        table = await self.tables.table_for(index)
        return await cpts_members(finess, index, table, self.labels, self.clock())

    async def practitioner_availability(self, idnps: str) -> list[LocationAvailability]:
        """Each location of ``idnps`` in the index, with its live availability (none when
        agenda sources are not read)."""
        if self.tables is None or not idnps.isdigit():
            return []
        index = self.index.current
        table = await self.tables.table_for(index)
        now = self.clock()
        first = table.first_slot(SlotFilter(), now)
        sub = table.availability.subscription(idnps)
        participation = (
            Participation(sub.mode, sub.cpts_finess, sub.beyond_slots) if sub is not None else None
        )
        columns = index.locations.columns
        return [
            LocationAvailability(
                lat=float(columns["lat"][p]),
                lon=float(columns["lon"][p]),
                sas_participant=bool(table.participant[p]),
                first_slot=int(first[p]),
                slots=[s.slot for s in table.slots_at(int(p), SlotFilter(), now)],
                availability=table.status_at(int(p)),
                participation=participation,
            )
            for p in index.locations.positions_of(int(idnps))
        ]
