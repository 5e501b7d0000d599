"""``GET /v1/search``: from request parameters to a ranked page of cards.

Decides the radius (requested, else the département's default from the steward table; the
département's ``county_radius_km`` for a département-level search), the enlargement, the
CPTS covering the searched commune and the specialty filter, then lets
:class:`gateway.search.engine.SearchEngine` rank. Labels come from the terminology.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import numpy as np

from gateway.coded import CodeDisplay
from gateway.component import Live
from gateway.directory.cpts import Cpts, CptsIndex
from gateway.directory.identifiers import parse_practitioner_id
from gateway.directory.locations_file import NO_SLOT
from gateway.directory.practitioner_codes import PROFESSION_NOS, SPECIALTY_NOS
from gateway.errors import InvalidInput, NotFound
from gateway.geo.communes import CommuneIndex, UnknownCommune
from gateway.geo.insee import parse_insee
from gateway.geo.spatial import SphereGrid
from gateway.mappings.tables import ActiveMappings
from gateway.search.engine import LocationType, RankedRow, SearchQuery
from gateway.search.labels import Labels
from gateway.search.live_index import LocationIndex
from gateway.search.locations import PracticeLocations
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


@dataclass(frozen=True, slots=True)
class ResultCard:
    id: str
    kind: str
    preferred_doctor: bool
    #: None for a CPTS card with no member inside the circle.
    distance_km: float | None
    sas_participant: bool
    first_slot: datetime | None
    idnps: str | None
    family: str | None
    given: str | None
    profession: CodeDisplay | None
    specialty: CodeDisplay | None
    insee: str | None
    lat: float | None
    lon: float | None
    cpts: Cpts | None = None
    cpts_members: int = 0


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


def _cpts_only(cpts: Cpts) -> ResultCard:
    return ResultCard(
        id=cpts.finess or cpts.id,
        kind="cpts",
        preferred_doctor=False,
        distance_km=None,
        sas_participant=False,
        first_slot=None,
        idnps=None,
        family=None,
        given=None,
        profession=None,
        specialty=None,
        insee=None,
        lat=None,
        lon=None,
        cpts=cpts,
        cpts_members=0,
    )


class SearchService:
    def __init__(
        self,
        index: Live[LocationIndex],
        terminology: TerminologyService,
        communes: CommuneIndex,
        mappings: ActiveMappings,
        settings: SearchSettings,
    ) -> None:
        self.index = index
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
            default = (
                (
                    row.county_radius_km
                    if request.location_type == "county"
                    else row.default_radius_km
                )
                if row is not None
                else self.settings.fallback_radius_km
            )
            radius = default
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
        page = index.engine.search(query)
        by_finess = {c.finess: c for c in cpts}
        cards = [await self._card(index.locations, r, by_finess) for r in page.rows]
        # A CPTS covering the commune is shown even with no member inside the circle (DESIGN
        # §2: by zone, not by distance): after the ranked cards, in the covering order.
        unranked = [c for c in cpts if c.finess not in page.cpts_ranked]
        start = (request.page - 1) * request.page_size + len(cards)
        for position in range(max(start, page.total), page.total + len(unranked)):
            if len(cards) >= request.page_size:
                break
            cards.append(_cpts_only(unranked[position - page.total]))
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

    async def _card(
        self, loc: PracticeLocations, row: RankedRow, cpts: dict[str | None, Cpts]
    ) -> ResultCard:
        p = row.position
        columns = loc.columns
        idnps = str(int(columns["idnps"][p]))
        group = row.cpts
        slot = group.first_slot if group else int(columns["first_slot"][p])
        return ResultCard(
            id=group.finess if group else f"{idnps}-{int(columns['ordinal'][p])}",
            kind=row.kind,
            preferred_doctor=row.preferred_doctor,
            distance_km=round(row.distance_km, 3),
            sas_participant=group.participant if group else bool(columns["participant"][p]),
            first_slot=None if slot == NO_SLOT else datetime.fromtimestamp(slot, UTC),
            idnps=idnps,
            family=loc.text("family", p),
            given=loc.text("given", p),
            profession=await self.labels.of(PROFESSION_NOS, loc.text("profession", p)),
            specialty=await self.labels.of(SPECIALTY_NOS, loc.text("specialty", p)),
            insee=loc.text("insee", p),
            lat=float(columns["lat"][p]),
            lon=float(columns["lon"][p]),
            cpts=cpts.get(group.finess) if group else None,
            cpts_members=group.members if group else 0,
        )
