"""``AgendaReader`` against the stub agenda: batches, paging, past slots, duplicates,
failures."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from gateway.availability.reader import AgendaReader
from gateway.errors import UpstreamError
from gateway.mappings.agenda import AgendaSource
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient
from tests.agenda_stub import AGENDA_URL, FHIR_HEADERS, AgendaStub, StubSlot

PRACTITIONERS = [f"8290000{n:05d}" for n in range(60)]


def reader(stub: AgendaStub) -> AgendaReader:
    source = AgendaSource("stub", stub.kind, AGENDA_URL, 1000.0, 24, 2)
    upstream = UpstreamClient(
        UpstreamSettings("agenda-stub", AGENDA_URL, retries=0, rate_per_s=1000.0, budget_s=0.3)
    )
    return AgendaReader(source, upstream, clock=lambda: stub.now)


async def test_sixty_practitioners_are_asked_25_at_a_time_and_pages_followed() -> None:
    stub = AgendaStub("psindiv")
    for idnps in PRACTITIONERS:
        stub.offer(idnps, *(StubSlot(3600 * (k + 1)) for k in range(3)))
    with respx.mock() as router:
        stub.mount(router)
        harvest = await reader(stub).read(PRACTITIONERS)
    asked = [stub.identifiers(r) for r in stub.requests if "_offset" not in str(r.url)]
    assert sorted(len(a) for a in asked) == [10, 25, 25]
    assert sorted(i for a in asked for i in a) == PRACTITIONERS
    assert set(harvest.slots) == set(PRACTITIONERS)
    assert all(len(s) == 3 for s in harvest.slots.values())
    assert harvest.calls >= len(asked)
    for found in harvest.slots.values():
        assert [s.slot.start for s in found] == sorted(s.slot.start for s in found)


async def test_started_slots_are_dropped_and_a_slot_seen_twice_counts_once() -> None:
    stub = AgendaStub("psindiv", past=True)
    stub.offer(PRACTITIONERS[0], StubSlot(1800, slot_id="same"), StubSlot(1800, slot_id="same"))
    with respx.mock() as router:
        stub.mount(router)
        harvest = await reader(stub).read(PRACTITIONERS[:1])
    found = harvest.slots[PRACTITIONERS[0]]
    assert len(found) == 1
    assert all(s.slot.start > stub.now for s in found)


@pytest.mark.parametrize(("failure", "value"), [("down", True), ("html", True), ("slow", 1.0)])
async def test_a_failing_source_raises_for_the_caller_to_keep_its_last_slots(
    failure: str, value: object
) -> None:
    stub = AgendaStub("psindiv", **{failure: value})  # type: ignore[arg-type]
    stub.offer(PRACTITIONERS[0], StubSlot(1800))
    # (a call cut by the budget is not counted as made)
    with respx.mock(assert_all_called=False) as router:
        stub.mount(router)
        with pytest.raises(UpstreamError):
            await reader(stub).read(PRACTITIONERS[:1])


async def test_slots_answered_latest_first_are_held_by_start() -> None:
    stub = AgendaStub("psindiv")
    stub.offer(PRACTITIONERS[0], *(StubSlot(3600 * (k + 1)) for k in range(4)))

    async def latest_first(request: httpx.Request) -> httpx.Response:
        bundle = json.loads((await stub(request)).content)
        bundle["entry"].reverse()
        return httpx.Response(200, content=json.dumps(bundle), headers=FHIR_HEADERS)

    with respx.mock() as router:
        router.get(url__startswith=stub.base_url).mock(side_effect=latest_first)
        harvest = await reader(stub).read(PRACTITIONERS[:1])
    starts = [s.slot.start for s in harvest.slots[PRACTITIONERS[0]]]
    assert len(starts) == 4
    assert starts == sorted(starts)
