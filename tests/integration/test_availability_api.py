"""Live availability through HTTP: the demo agenda (in process) and a stub source (respx)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import respx

from gateway.availability.component import AvailabilityComponent
from gateway.settings import DEMO_SNAPSHOT_DIR
from tests.agenda_stub import AgendaStub, StubSlot, stub_source_settings
from tests.conftest import AppClient, make_client, offline_settings

PARIS_8 = {"lat": 48.8727, "lon": 2.3126, "page_size": 50, "radius_km": 5}


async def results(client: AppClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/search", params={**PARIS_8, **params})
    assert response.status_code == 200, response.text
    return [r for r in response.json()["results"] if r["kind"] == "practitioner"]


async def test_before_any_refresh_subscribed_practitioners_are_unknown(
    client: AppClient,
) -> None:
    found = await results(client)
    subscribed = [r for r in found if r["participation"] is not None]
    assert subscribed
    assert {r["availability"] for r in subscribed} == {"unknown"}
    assert all(r["slots"] == [] and r["first_slot"] is None for r in subscribed)
    assert {r["availability"] for r in found if r["participation"] is None} <= {"none"}


async def test_a_refresh_brings_future_slots_that_rank_their_locations(client: AppClient) -> None:
    response = await client.post("/admin/availability/refresh")
    assert response.status_code == 200
    demo = response.json()["sources"]["demo"]
    assert demo["error"] is None
    assert demo["slots"] > 0
    assert demo["calls"] >= demo["subscribed"] / 25
    found = await results(client)
    with_slots = [r for r in found if r["slots"]]
    assert with_slots
    now = datetime.now().astimezone()
    for card in with_slots:
        starts = [datetime.fromisoformat(s["start"]) for s in card["slots"]]
        assert starts == sorted(starts)
        assert all(start > now for start in starts)
        assert datetime.fromisoformat(card["first_slot"]) == starts[0]
        assert card["availability"] == "live"
        assert len(card["slots"]) <= 3
    # the SAS partition: [slots & participant], [slots], [no slot & participant], [rest]
    groups = [(0 if r["first_slot"] else 2) + (0 if r["sas_participant"] else 1) for r in found]
    assert groups == sorted(groups)


async def test_consultation_and_day_filters_count_only_matching_slots(client: AppClient) -> None:
    await client.post("/admin/availability/refresh")
    found = await results(client, consultation="VR")
    slots = [s for r in found for s in r["slots"]]
    assert slots
    assert all("VR" in s["modes"] for s in slots)
    everything = await results(client)
    day = min(s["start"] for r in everything for s in r["slots"])[:10]
    same_day = await results(client, slots_from=day)
    assert all(s["start"][:10] == day for r in same_day for s in r["slots"])
    assert await results(client, slots_from=day.replace("-", "")) == same_day  # ISO's compact day
    bad = await client.get("/v1/search", params={**PARIS_8, "consultation": "XYZ"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["parameter"] == "consultation"


async def test_the_complementary_offer_is_participants_beyond_their_slots(
    client: AppClient,
) -> None:
    found = await results(client, supplementary="true")
    assert found
    assert all(r["participation"]["beyond_slots"] for r in found)
    assert all(r["sas_participant"] for r in found)


async def test_the_complementary_offer_leaves_out_a_medecin_traitant_and_cpts_not_in_it(
    client: AppClient,
) -> None:
    everyone = await results(client, page_size="50")
    plain = next(
        r for r in everyone if r["participation"] and not r["participation"]["beyond_slots"]
    )
    params = {**PARIS_8, "supplementary": "true", "page_size": "100", "insee": "92036"}
    response = await client.get("/v1/search", params={**params, "preferred_doctor": plain["idnps"]})
    assert response.status_code == 200
    found = response.json()["results"]
    assert found
    assert plain["idnps"] not in {r["idnps"] for r in found}
    assert all(r["kind"] == "practitioner" for r in found)
    assert all(r["participation"]["beyond_slots"] for r in found)


async def test_a_practitioner_card_shows_the_slots_of_its_locations(client: AppClient) -> None:
    await client.post("/admin/availability/refresh")
    card = next(r for r in await results(client) if r["slots"])
    response = await client.get(f"/v1/practitioners/{card['idnps']}")
    assert response.status_code == 200
    locations = response.json()["locations"]
    assert any(loc["slots"] == card["slots"] for loc in locations)
    assert {loc["availability"] for loc in locations} == {"live"}


# -- a stub source: failures, staleness, CPTS ------------------------------------------------
SUBSCRIPTIONS = """idnps,source,participant,mode,cpts_finess,cpts_site_insee,beyond_slots
{a},stub,true,individual,,,false
{b},stub,true,cpts,929999901,{site},true
"""


@pytest.fixture
async def stubbed(tmp_path: Path) -> AsyncIterator[tuple[AppClient, AgendaStub, list[str]]]:
    snapshot = Path(shutil.copytree(DEMO_SNAPSHOT_DIR, tmp_path / "snapshot"))
    async with make_client(offline_settings(snapshot)) as probe:
        found = await results(probe)
    chosen = [r for r in found if r["idnps"].startswith("829")][:2]
    idnps = [r["idnps"] for r in chosen]
    (snapshot / "availability" / "subscriptions.csv").write_text(
        SUBSCRIPTIONS.format(a=idnps[0], b=idnps[1], site=chosen[1]["insee"]), encoding="utf-8"
    )
    settings = stub_source_settings(snapshot, tmp_path / "mappings", "stub", "cpts")
    stub = AgendaStub("cpts")
    stub.offer(idnps[0], StubSlot(3600, modes=("AMB", "VR")), StubSlot(7200))
    stub.offer(
        idnps[1],
        StubSlot(1800, types=("PUBLIC", "CPTS"), cpts_finess="1929999901"),
        # offered to another CPTS than the one this practitioner takes part through
        StubSlot(2400, types=("PUBLIC", "CPTS"), cpts_finess="1111111118"),
    )
    with respx.mock(assert_all_called=False) as router:
        stub.mount(router)
        async with make_client(settings) as client:
            yield client, stub, idnps


async def test_a_failing_source_keeps_its_slots_stale_then_unknown(
    stubbed: tuple[AppClient, AgendaStub, list[str]],
) -> None:
    client, stub, (a, _) = stubbed
    first = (await client.post("/admin/availability/refresh")).json()["sources"]["stub"]
    assert (first["error"], first["slots"]) == (None, 4)
    assert all(len(stub.identifiers(r)) <= 25 for r in stub.requests)
    stub.down = True
    failed = (await client.post("/admin/availability/refresh")).json()["sources"]["stub"]
    assert failed["error"] is not None
    card = next(r for r in await results(client) if r["idnps"] == a)
    assert card["availability"] == "stale"
    assert len(card["slots"]) == 2  # the last good ones
    ready = (await client.get("/health/ready")).json()
    assert ready["availability"]["sources"]["stub"]["status"] == "stale"
    metrics = (await client.get("/metrics")).text
    assert 'gateway_availability_failing{source="stub"} 1.0' in metrics
    assert 'gateway_availability_slots{source="stub"} 4.0' in metrics
    assert 'gateway_upstream_calls_total{upstream="agenda-stub"}' in metrics
    component = client.component(AvailabilityComponent)
    later = component.clock() + 601
    component.clock = lambda: later
    await client.post("/admin/availability/refresh")
    card = next(r for r in await results(client) if r["idnps"] == a)
    assert (card["availability"], card["slots"], card["first_slot"]) == ("unknown", [], None)


async def test_cpts_slots_count_on_the_declared_site_and_list_the_cpts_members(
    stubbed: tuple[AppClient, AgendaStub, list[str]],
) -> None:
    client, _, (_, b) = stubbed
    await client.post("/admin/availability/refresh")
    members = await client.get("/v1/cpts/929999901/members")
    assert members.status_code == 200
    listed = members.json()["members"]
    assert [m["idnps"] for m in listed] == [b]
    assert listed[0]["beyond_slots"] is True
    # only the slot offered to this CPTS counts, on the declared site
    assert len(listed[0]["slots"]) == 1
    assert listed[0]["slots"][0]["types"] == ["CPTS", "PUBLIC"]
    bad = await client.get("/v1/cpts/12/members")
    assert bad.status_code == 400


async def test_an_html_answer_or_a_broken_slot_never_stops_the_others(
    stubbed: tuple[AppClient, AgendaStub, list[str]],
) -> None:
    client, stub, _ = stubbed
    stub.malformed_slot = True
    figures = (await client.post("/admin/availability/refresh")).json()["sources"]["stub"]
    assert figures["error"] is None
    assert figures["problems"] >= 1
    stub.malformed_slot, stub.html = False, True
    figures = (await client.post("/admin/availability/refresh")).json()["sources"]["stub"]
    assert figures["error"] is not None


async def test_slots_replaced_by_a_refresh_are_freed_by_the_reaper(client: AppClient) -> None:
    component = client.component(AvailabilityComponent)
    await client.post("/admin/availability/refresh")
    first = id(component.live.current.sources["demo"].slots)
    await client.post("/admin/availability/refresh")
    assert id(component.live.current.sources["demo"].slots) != first
    reaper = component.reaper.task
    assert reaper is not None  # the first refresh's slots were retired
    await client.get("/v1/search", params=PARIS_8)
    # Emptied once the tables and requests using them let them go (none holds them here).
    await asyncio.wait_for(reaper, timeout=10)
    assert component.reaper.retired == []


async def test_stopping_the_refresh_loop_stops_every_source_s_loop(client: AppClient) -> None:
    component = client.component(AvailabilityComponent)
    assert len(component.sources()) >= 2  # the demo's practitioners' and SOS sources
    keeper = asyncio.create_task(component._keep_refreshed())
    await asyncio.sleep(0.05)

    def source_loops() -> list[asyncio.Task[Any]]:
        return [
            t
            for t in asyncio.all_tasks()
            if getattr(t.get_coro(), "__qualname__", "").endswith("AvailabilityComponent._loop")
        ]

    started = source_loops()
    assert len(started) == len(component.sources())
    keeper.cancel()
    await asyncio.gather(keeper, return_exceptions=True)
    # ended before the component closes its clients: no loop left to use a closed one
    assert all(t.done() for t in started)
    assert not [t for t in source_loops() if not t.done()]
