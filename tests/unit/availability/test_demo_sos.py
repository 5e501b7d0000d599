"""``DemoAgenda``'s SOS side: the IG's SOS search answered in process, read back through the
real ``AgendaReader`` (so the reader's query is the one the demo accepts)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from gateway.availability.demo_agenda import DemoAgenda
from gateway.availability.demo_sos import ASSOCIATIONS
from gateway.availability.reader import AgendaReader
from gateway.mappings.agenda import AgendaSource
from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient

BASE = "https://agenda.demo/fhir"
NOW = datetime(2030, 1, 2, 10, 10, tzinfo=UTC).timestamp()
PARIS, LYON = (a.identifier for a in ASSOCIATIONS)


def reader(hours: int = 72) -> AgendaReader:
    source = AgendaSource("demo-sos", "sos", "demo:", 1000.0, hours, 2)
    agenda = DemoAgenda(clock=lambda: NOW)
    upstream = UpstreamClient(
        UpstreamSettings("agenda-demo-sos", BASE, rate_per_s=1000.0), transport=agenda
    )
    return AgendaReader(source, upstream, clock=lambda: NOW)


async def test_the_demo_answers_the_readers_sos_search_with_its_sites() -> None:
    harvest = await reader().read([PARIS, LYON])
    assert harvest.problems == 0
    assert set(harvest.slots) == {PARIS, LYON}
    sites = {key: site for (_, key), site in harvest.sites.items()}
    assert set(sites) == {s.key for a in ASSOCIATIONS for s in a.sites}
    paris_8 = sites["demo-sos-paris-8"]
    assert (paris_8.association, paris_8.association_name) == (PARIS, "SOS Médecins DEMO Paris")
    assert (paris_8.lat, paris_8.lon) == (48.8768, 2.3247)
    assert paris_8.place is not None
    assert paris_8.place.postcode == "75008"
    assert sites["demo-sos-lyon-3"].lat is None  # placed at its commune by the search
    for found in harvest.slots.values():
        assert all(NOW < s.slot.start <= NOW + 72 * 3600 for s in found)
        assert [s.slot.start for s in found] == sorted(s.slot.start for s in found)


async def test_the_same_window_gives_the_same_slots_and_an_unknown_association_none() -> None:
    first, again = await reader().read([PARIS]), await reader().read([PARIS])
    assert first.slots == again.slots
    assert (await reader().read(["399999999999999"])).slots == {}


async def test_another_search_on_schedule_is_refused() -> None:
    agenda = DemoAgenda(clock=lambda: NOW)
    async with httpx.AsyncClient(transport=agenda, base_url=BASE) as client:
        response = await client.get("/Schedule", params={"_revinclude": "Slot:schedule"})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
