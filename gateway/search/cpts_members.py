"""``GET /v1/cpts/{finess}/members``: the practitioners taking part in the SAS through one
CPTS ("voir tous les professionnels de la CPTS"), with the slots of their declared site."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.availability.slots import OfferedSlot
from gateway.coded import CodeDisplay
from gateway.directory.locations_file import NO_SLOT
from gateway.directory.practitioner_codes import PROFESSION_NOS, SPECIALTY_NOS
from gateway.search.availability_table import LiveTable, SlotFilter
from gateway.search.labels import Labels
from gateway.search.live_index import LocationIndex


@dataclass(frozen=True, slots=True)
class Member:
    idnps: str
    family: str | None
    given: str | None
    profession: CodeDisplay | None
    specialty: CodeDisplay | None
    #: The site for which the member opens CPTS slots.
    insee: str | None
    sas_participant: bool
    beyond_slots: bool
    availability: str
    first_slot: int
    slots: list[OfferedSlot]


async def cpts_members(
    finess: str, index: LocationIndex, table: LiveTable, labels: Labels, now: float
) -> list[Member]:
    """Members by first slot (none last), then name."""
    loc = index.locations
    first_slots = table.first_slot(SlotFilter(), now)
    found: list[Member] = []
    for sub in table.availability.subscriptions.items.values():
        if sub.mode != "cpts" or sub.cpts_finess != finess or not sub.idnps.isdigit():
            continue
        positions = [int(p) for p in loc.positions_of(int(sub.idnps))]
        site = [p for p in positions if loc.text("insee", p) == sub.cpts_site_insee]
        if not positions:
            status = table.availability.status(sub.idnps, now)
            found.append(Member(
                sub.idnps, None, None, None, None, sub.cpts_site_insee, sub.participant,
                sub.beyond_slots, status, NO_SLOT, [],
            ))  # fmt: skip
            continue
        row = (site or positions)[0]
        found.append(
            Member(
                idnps=sub.idnps,
                family=loc.text("family", row) or None,
                given=loc.text("given", row) or None,
                profession=await labels.of(PROFESSION_NOS, loc.text("profession", row)),
                specialty=await labels.of(SPECIALTY_NOS, loc.text("specialty", row)),
                insee=sub.cpts_site_insee or loc.text("insee", row),
                sas_participant=sub.participant,
                beyond_slots=sub.beyond_slots,
                availability=table.status_at(row),
                first_slot=int(first_slots[row]),
                slots=[s.slot for s in table.slots_at(row, SlotFilter(), now)],
            )
        )
    later = 2**62
    found.sort(key=lambda m: (m.first_slot if m.first_slot != NO_SLOT else later,
                              m.family or "", m.idnps))  # fmt: skip
    return found
