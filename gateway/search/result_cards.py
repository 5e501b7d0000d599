"""The cards of a search result: one practice location (or a CPTS) as the front end shows
it, with its live availability when the agenda sources are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.availability.slots import OfferedSlot
from gateway.coded import CodeDisplay
from gateway.directory.cpts import Cpts
from gateway.directory.locations_file import NO_SLOT
from gateway.directory.practitioner_codes import PROFESSION_NOS, SPECIALTY_NOS
from gateway.search.availability_table import LiveTable, SlotFilter
from gateway.search.engine import RankedRow, RowStatus
from gateway.search.labels import Labels
from gateway.search.locations import PracticeLocations


@dataclass(frozen=True, slots=True)
class Participation:
    mode: str
    cpts_finess: str | None
    beyond_slots: bool


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
    #: live | stale | unknown | none (see ``gateway.availability.state``).
    availability: str = "none"
    #: The next slots of this location (at most 3), matching the request's filters.
    slots: list[OfferedSlot] = field(default_factory=list)
    participation: Participation | None = None


@dataclass(frozen=True, slots=True)
class LocationAvailability:
    """One indexed location of a practitioner and its live availability."""

    lat: float
    lon: float
    sas_participant: bool
    first_slot: int
    slots: list[OfferedSlot]
    availability: str
    participation: Participation | None


def cpts_only(cpts: Cpts) -> ResultCard:
    """A covering CPTS with no member inside the circle."""
    return ResultCard(
        id=cpts.finess or cpts.id, kind="cpts", preferred_doctor=False, distance_km=None,
        sas_participant=False, first_slot=None, idnps=None, family=None, given=None,
        profession=None, specialty=None, insee=None, lat=None, lon=None, cpts=cpts,
        cpts_members=0,
    )  # fmt: skip


def epoch_to_datetime(slot: int) -> datetime | None:
    return None if slot == NO_SLOT else datetime.fromtimestamp(slot, UTC)


@dataclass(frozen=True, slots=True)
class CardContext:
    """What every card of one request shares."""

    locations: PracticeLocations
    status: RowStatus
    table: LiveTable | None
    wanted: SlotFilter
    now: float


async def build_card(
    labels: Labels, context: CardContext, row: RankedRow, cpts: dict[str | None, Cpts]
) -> ResultCard:
    loc, p = context.locations, row.position
    columns = loc.columns
    idnps = str(int(columns["idnps"][p]))
    group = row.cpts
    slot = group.first_slot if group else int(context.status.first_slot[p])
    table = context.table
    slots: list[OfferedSlot] = []
    participation = None
    availability = "none"
    if table is not None and group is None:
        availability = table.status_at(p)
        slots = [s.slot for s in table.slots_at(p, context.wanted, context.now)]
        sub = table.availability.subscription(idnps)
        if sub is not None:
            participation = Participation(sub.mode, sub.cpts_finess, sub.beyond_slots)
    return ResultCard(
        id=group.finess if group else f"{idnps}-{int(columns['ordinal'][p])}",
        kind=row.kind,
        preferred_doctor=row.preferred_doctor,
        distance_km=round(row.distance_km, 3),
        sas_participant=group.participant if group else bool(context.status.participant[p]),
        first_slot=epoch_to_datetime(slot),
        idnps=idnps,
        family=loc.text("family", p),
        given=loc.text("given", p),
        profession=await labels.of(PROFESSION_NOS, loc.text("profession", p)),
        specialty=await labels.of(SPECIALTY_NOS, loc.text("specialty", p)),
        insee=loc.text("insee", p),
        lat=float(columns["lat"][p]),
        lon=float(columns["lon"][p]),
        cpts=cpts.get(group.finess) if group else None,
        cpts_members=group.members if group else 0,
        availability=availability,
        slots=slots,
        participation=participation,
    )
