"""The availability table: which slots reach which row."""

from __future__ import annotations

from gateway.availability.slots import OfferedSlot, ReadSlot, SlotPlace
from gateway.availability.state import Availability, SourceState
from gateway.availability.subscriptions import Subscription, Subscriptions
from gateway.geo.communes import load_communes
from gateway.search.availability_build import build_table
from gateway.search.availability_table import SlotFilter
from tests.unit.search import T0, make_locations


def _slot(n: int, place: SlotPlace, types: tuple[str, ...], cpts: str | None) -> ReadSlot:
    return ReadSlot(
        slot_id=f"s{n}",
        idnps=None,  # set by the caller's dict key; the table does not read it
        place=place,
        cpts_finess=cpts,
        organization=None,
        slot=OfferedSlot(T0 + 600 * n, T0 + 600 * n + 300, types, ("AMB",), False, None),
        cpts_finesses=(cpts,) if cpts else (),
    )


def test_a_cpts_slot_offered_to_another_cpts_never_shares_its_neighbours_row() -> None:
    locations = make_locations(40, seed=3)
    row = 0
    idnps = str(int(locations.columns["idnps"][row]))
    # One place object for every slot, as the reader shares it across a page.
    place = SlotPlace("1 rue de Rivoli", "75001", "Paris")
    slots = (
        _slot(1, place, ("PUBLIC",), None),
        _slot(2, place, ("CPTS", "PUBLIC"), "1929999901"),  # this practitioner's CPTS
        _slot(3, place, ("CPTS", "PUBLIC"), "1111111118"),  # another CPTS: not shown
        _slot(4, place, ("PUBLIC",), None),
    )
    sub = Subscription(idnps, "stub", True, "cpts", "929999901", "75101")
    subscriptions = Subscriptions({idnps: sub}, [], "v1")
    state = SourceState("stub", "cpts", {idnps: slots}, last_success=T0)
    availability = Availability(subscriptions, {"stub": state}, stale_s=3600.0)

    table = build_table("v", locations, availability, load_communes(), now=T0)

    # Only this practitioner is subscribed: every slot of the table is theirs.
    shown = sorted(table.slot(i).slot_id for i in range(table.slot_row.size))
    assert shown == ["s1", "s2", "s4"]
    rows = set(locations.positions_of(int(idnps)).tolist())
    assert set(table.slot_row.tolist()) <= rows
    assert max(table.first_slot(SlotFilter(), T0)[sorted(rows)]) == T0 + 600
