"""``AgendaReader`` on a source of kind sos (SAS IG SOS slot search) against the stub agenda:
the spec's query, 25 associations per call, paging, sites, past and duplicate slots,
failures."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import respx

from gateway.availability.reader import AgendaReader, instant
from gateway.availability.sites import association_key
from gateway.availability.slots import SlotPlace
from gateway.errors import UpstreamBadResponse, UpstreamError
from gateway.mappings.agenda import AgendaSource
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient
from tests.agenda_stub import AGENDA_URL, AgendaStub, StubSlot

#: "3" + SIRET, as the IG's example associations (SOS Médecins de Rennes, Lorient).
RENNES, LORIENT = "334173748400020", "392080466300010"
ASSOCIATIONS = [f"3{n:014d}" for n in range(60)]
NORD = SlotPlace("320 avenue Général Georges Patton", "35700", "RENNES")
CLEUNAY = SlotPlace("106 rue Eugène Pottier", "35000", "RENNES")
H = 3600


def reader(stub: AgendaStub) -> AgendaReader:
    source = AgendaSource("sos", "sos", AGENDA_URL, 1000.0, 24, 2)
    upstream = UpstreamClient(
        UpstreamSettings("agenda-sos", AGENDA_URL, retries=0, rate_per_s=1000.0, budget_s=0.3)
    )
    return AgendaReader(source, upstream, clock=lambda: stub.now)


def test_the_query_is_the_specs_schedule_search() -> None:
    stub = AgendaStub("sos")
    path = reader(stub).query([RENNES, LORIENT], stub.now)
    parts = urlsplit(path)
    assert parts.path == "/Schedule"
    assert parse_qsl(parts.query) == [
        ("_revinclude", "Slot:schedule"),
        ("_include", "Schedule:actor:Location"),
        ("_include:iterate", "Location:organization"),
        ("_has:Slot:schedule:start", f"ge{instant(stub.now)}"),
        ("_has:Slot:schedule:start", f"le{instant(stub.now + 24 * H)}"),
        ("_has:Slot:schedule:status", "free"),
        (
            "actor:Location.organization.identifier",
            f"urn:oid:1.2.250.1.71.4.2.2|{RENNES},urn:oid:1.2.250.1.71.4.2.2|{LORIENT}",
        ),
    ]


async def test_sixty_associations_are_asked_25_at_a_time_and_pages_followed() -> None:
    stub = AgendaStub("sos")
    for owner in ASSOCIATIONS:  # 5 sites each: 125 Schedules for a batch of 25, 2 pages
        for site in range(5):
            place = SlotPlace(f"{site} rue Neuve", "35000", "RENNES")
            stub.offer(owner, StubSlot(H * (site + 1), place=place))
    with respx.mock() as router:
        stub.mount(router)
        harvest = await reader(stub).read(ASSOCIATIONS)
    first = [stub.identifiers(r) for r in stub.requests if "_offset" not in str(r.url)]
    assert sorted(len(a) for a in first) == [10, 25, 25]
    assert sorted(i for a in first for i in a) == ASSOCIATIONS
    assert len(stub.requests) > len(first)  # next links followed
    assert harvest.calls == len(stub.requests)
    assert set(harvest.slots) == set(ASSOCIATIONS)
    assert all(len(found) == 5 for found in harvest.slots.values())
    assert len(harvest.sites) == 60 * 5
    assert {s.association for s in harvest.sites.values()} == set(ASSOCIATIONS)


async def test_slots_are_held_by_association_with_their_site() -> None:
    stub = AgendaStub("sos")
    stub.offer(RENNES, StubSlot(H, place=NORD, slot_id="n1", modes=("AMB", "VR")),
               StubSlot(2 * H, place=CLEUNAY, slot_id="c1"),
               StubSlot(3 * H, place=NORD, slot_id="n2"))  # fmt: skip
    stub.offer(LORIENT, StubSlot(H, place=None, slot_id="l1"))
    with respx.mock() as router:
        stub.mount(router)
        harvest = await reader(stub).read([RENNES])
    assert list(harvest.slots) == [RENNES]  # Lorient was not asked
    found = harvest.slots[RENNES]
    assert [s.slot_id for s in found] == ["n1", "c1", "n2"]
    assert [s.slot.modes for s in found] == [("AMB", "VR"), ("AMB",), ("AMB",)]
    sites = {s.site.key: s.site for s in found if s.site}
    assert len(sites) == 2
    assert {(s.association, s.place.postcode if s.place else None) for s in sites.values()} == {
        (RENNES, "35700"),
        (RENNES, "35000"),
    }
    assert set(harvest.sites.values()) == set(sites.values())


async def test_started_slots_are_dropped_but_their_site_is_known() -> None:
    stub = AgendaStub("sos", past=True)
    stub.offer(RENNES, StubSlot(H, place=NORD, slot_id="same"),
               StubSlot(H, place=NORD, slot_id="same"))  # fmt: skip
    with respx.mock() as router:
        stub.mount(router)
        harvest = await reader(stub).read([RENNES])
    found = harvest.slots[RENNES]
    assert [s.slot_id for s in found] == ["same"]  # the past slot is gone, the twin counted once
    assert all(s.slot.start > stub.now for s in found)
    assert len(harvest.sites) == 1


async def test_a_malformed_slot_is_counted_and_skipped() -> None:
    stub = AgendaStub("sos", malformed_slot=True)
    stub.offer(RENNES, StubSlot(H, place=NORD, slot_id="bad"),
               StubSlot(2 * H, place=NORD, slot_id="good"))  # fmt: skip
    with respx.mock() as router:
        stub.mount(router)
        harvest = await reader(stub).read([RENNES])
    assert harvest.problems == 1
    assert [s.slot_id for s in harvest.slots[RENNES]] == ["good"]


@pytest.mark.parametrize(
    ("failure", "error"), [("down", UpstreamError), ("html", UpstreamBadResponse)]
)
async def test_a_failing_source_raises_for_the_caller_to_keep_its_last_slots(
    failure: str, error: type[Exception]
) -> None:
    stub = AgendaStub("sos", down=failure == "down", html=failure == "html")
    stub.offer(RENNES, StubSlot(H, place=NORD))
    with respx.mock(assert_all_called=False) as router:
        stub.mount(router)
        with pytest.raises(error):
            await reader(stub).read([RENNES])
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [(RENNES, RENNES), (RENNES[1:], RENNES), (f" {RENNES} ", RENNES), (None, None)],
)
def test_an_association_written_without_its_3_is_still_matched(
    value: str | None, expected: str | None
) -> None:
    assert association_key(value) == expected


async def test_slots_grouped_by_site_are_held_by_start_and_the_window_applies() -> None:
    stub = AgendaStub("sos", whole_schedules=True)
    stub.offer(RENNES, *(StubSlot(h * H, place=NORD, slot_id=f"n{h}") for h in (5, 1, 3)))
    stub.offer(RENNES, *(StubSlot(h * H, place=CLEUNAY, slot_id=f"c{h}") for h in (30, 4, 2)))
    with respx.mock() as router:
        stub.mount(router)
        harvest = await reader(stub).read([RENNES])
    # in start order across both sites; 30 h is past the source's 24 h window
    assert [s.slot_id for s in harvest.slots[RENNES]] == ["n1", "c2", "n3", "c4", "n5"]
    assert len(harvest.sites) == 2
