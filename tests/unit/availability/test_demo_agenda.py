"""``DemoAgenda``: the IG's psindiv search answered in process, read back by ``read_slots``
through the real ``UpstreamClient`` and the shared pager (``search_pages``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from gateway.availability.demo_agenda import DemoAgenda
from gateway.availability.slots import ReadSlot, SlotPlace, read_slots
from gateway.fhir import search_pages
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient

BASE = "https://agenda.demo/fhir"
NOW = datetime(2030, 1, 2, 10, 10, tzinfo=UTC).timestamp()
HOURS = 3600
IDNPS = [f"8{10000000000 + n:011d}" for n in range(25)]


def fhir_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def search(
    agenda: DemoAgenda, idnps: list[str], start: float, end: float, count: int | None = None
) -> tuple[list[ReadSlot], int]:
    """Every page of the IG's psindiv search, read; and the number of pages."""
    client = UpstreamClient(
        UpstreamSettings(name="demo-agenda", url=BASE, rate_per_s=1000.0), transport=agenda
    )
    tokens = ",".join(f"urn:oid:1.2.250.1.71.4.2.1|{i}" for i in idnps)
    # ``start`` is given twice: a plain dict cannot hold it, ``httpx.QueryParams`` (a
    # ``Mapping[str, str]`` too) sends every value.
    params = httpx.QueryParams([
        ("_include", "Slot:schedule"),
        ("_include:iterate", "Schedule:actor"),
        ("start", f"ge{fhir_time(start)}"),
        ("start", f"le{fhir_time(end)}"),
        ("schedule.actor:Practitioner.identifier", tokens),
        ("status", "free"),
        *([("_count", str(count))] if count is not None else []),
    ])  # fmt: skip
    slots: list[ReadSlot] = []
    pages = 0
    try:
        async for page in search_pages(client, "/Slot", params, max_pages=100):
            read = read_slots(page.bundle)
            assert read.problems == []
            slots.extend(read.slots)
            pages += 1
    finally:
        await client.aclose()
    return slots, pages


def clock(at: float) -> Callable[[], float]:
    return lambda: at


async def test_slots_are_future_in_the_window_and_about_the_practitioners_asked() -> None:
    slots, _ = await search(DemoAgenda(clock(NOW)), IDNPS, NOW - 5 * HOURS, NOW + 48 * HOURS)

    assert slots, "25 practitioners over two days offer some slots"
    assert all(NOW < s.slot.start <= NOW + 48 * HOURS for s in slots)
    assert all(s.slot.end - s.slot.start == 1800 for s in slots)
    assert {s.idnps for s in slots} <= set(IDNPS)
    assert len({s.slot_id for s in slots}) == len(slots)
    per_practitioner = {i: sum(s.idnps == i for s in slots) for i in IDNPS}
    assert 0 in per_practitioner.values(), "some practitioners have no slot"
    assert max(per_practitioner.values()) >= 2, "some have several"
    assert all(s.place is None for s in slots)  # no address given to the demo
    assert all(s.slot.types and s.slot.modes for s in slots)
    assert all((s.slot.booking_url is None) == s.slot.walk_in for s in slots)


async def test_same_clock_same_answer_and_a_later_clock_keeps_the_remaining_slots() -> None:
    window = (NOW, NOW + 24 * HOURS)
    first, _ = await search(DemoAgenda(clock(NOW)), IDNPS, *window)
    again, _ = await search(DemoAgenda(clock(NOW)), IDNPS, *window)
    later, _ = await search(DemoAgenda(clock(NOW + 3 * HOURS)), IDNPS, *window)

    assert first == again
    # three hours on, the slots still to come are the same ones, with the same ids
    assert later == [s for s in first if s.slot.start > NOW + 3 * HOURS]
    assert len(later) < len(first)


async def test_pages_follow_next_links_and_add_up_to_the_whole_answer() -> None:
    whole, one_page = await search(DemoAgenda(clock(NOW)), IDNPS, NOW, NOW + 48 * HOURS, 1000)
    paged, pages = await search(DemoAgenda(clock(NOW)), IDNPS, NOW, NOW + 48 * HOURS, 4)

    assert one_page == 1
    assert pages == -(-len(whole) // 4) > 1
    assert paged == whole


async def test_the_window_bounds_the_slots() -> None:
    wide, _ = await search(DemoAgenda(clock(NOW)), IDNPS, NOW, NOW + 72 * HOURS)
    low, high = NOW + 20 * HOURS, NOW + 30 * HOURS

    narrow, _ = await search(DemoAgenda(clock(NOW)), IDNPS, low, high)

    assert narrow == [s for s in wide if low <= s.slot.start <= high]


async def test_the_practice_address_goes_into_the_contained_location() -> None:
    def place(idnps: str) -> SlotPlace | None:
        return (
            SlotPlace(f"{idnps[-2:]} rue de la Paix", "75002", "Paris")
            if idnps[-1] in "13579"
            else None
        )

    slots, _ = await search(DemoAgenda(clock(NOW), places=place), IDNPS, NOW, NOW + 72 * HOURS)

    assert all(s.place == place(s.idnps or "") for s in slots)
    assert {s.place is None for s in slots} == {True, False}  # both kinds were served


@pytest.fixture
async def raw() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=DemoAgenda(clock(NOW)), base_url=BASE) as client:
        yield client


GOOD = (
    "/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor"
    "&start=ge2030-01-02T00:00:00Z&start=le2030-01-04T00:00:00Z&status=free"
    "&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|810000000001"
)


async def test_a_zoneless_window_is_read_as_utc(raw: httpx.AsyncClient) -> None:
    zoned = await raw.get(GOOD)
    zoneless = await raw.get(GOOD.replace(":00Z", ":00"))

    assert zoned.status_code == zoneless.status_code == 200
    assert zoned.json()["entry"] == zoneless.json()["entry"]


@pytest.mark.parametrize(
    "query",
    [
        GOOD + "&_include=Slot:service-type-reference"
        "&_include:iterate=HealthcareService:organization",  # cpts: not served by the demo
        "/Schedule?_revinclude=Slot:schedule&_include=Schedule:actor:Location",  # sos
        GOOD.replace("&status=free", ""),
        GOOD.replace("start=le2030-01-04T00:00:00Z", "start=ge2030-01-04T00:00:00Z"),
        GOOD.replace("2030-01-02T00:00:00Z", "2030-01-02"),
        GOOD.replace("|810000000001", "|123"),
        GOOD + "&_count=0",
        GOOD + "&name=DUPONT",
        GOOD.split("&schedule")[0]
        + "&schedule.actor:Practitioner.identifier="
        + ",".join(f"urn:oid:1.2.250.1.71.4.2.1|{i}" for i in [*IDNPS, "810000000001"]),
    ],
)
async def test_other_queries_get_a_400_operation_outcome(
    raw: httpx.AsyncClient, query: str
) -> None:
    answer = await raw.get(query)

    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert answer.json()["issue"][0]["diagnostics"]
