"""SOS Médecins through HTTP: a stub source of kind sos (respx), its associations in the
subscriptions, and what ``GET /v1/sos`` shows a regulator."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import respx

from gateway.availability.component import AvailabilityComponent
from gateway.availability.slots import SlotPlace
from gateway.settings import DEMO_SNAPSHOT_DIR
from tests.agenda_stub import AgendaStub, StubSlot, stub_source_settings
from tests.conftest import AppClient, make_client

PARIS_8 = {"lat": 48.8727, "lon": 2.3126}
RENNES, LORIENT = "334173748400020", "392080466300010"
ROME = SlotPlace("8 rue de Rome", "75008", "PARIS")
NEUILLY = SlotPlace("1 avenue Charles de Gaulle", "92200", "NEUILLY-SUR-SEINE")
BELLECOUR = SlotPlace("1 place Bellecour", "69002", "LYON")
SUBSCRIPTIONS = f"""idnps,source,participant
{RENNES},sos-a,true
{LORIENT},sos-a,false
"""
Stubbed = tuple[AppClient, AgendaStub]


@pytest.fixture
async def stubbed(tmp_path: Path) -> AsyncIterator[Stubbed]:
    snapshot = Path(shutil.copytree(DEMO_SNAPSHOT_DIR, tmp_path / "snapshot"))
    (snapshot / "availability" / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    settings = stub_source_settings(snapshot, tmp_path / "mappings", "sos-a", "sos")
    stub = AgendaStub("sos")
    stub.offer(
        RENNES,
        StubSlot(3600, place=ROME, modes=("AMB", "VR"), booking_url="https://sos.test/r/1"),
        StubSlot(7200, place=ROME),
        StubSlot(5400, place=NEUILLY, modes=("HH",)),
    )
    stub.offer(LORIENT, StubSlot(3600, place=BELLECOUR, walk_in=True))
    with respx.mock(assert_all_called=False) as router:
        stub.mount(router)
        async with make_client(settings) as client:
            yield client, stub


async def sites(client: AppClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/sos", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    found: list[dict[str, Any]] = response.json()["sites"]
    assert response.json()["total"] == len(found)
    return found


async def refresh(client: AppClient) -> dict[str, Any]:
    response = await client.post("/admin/availability/refresh")
    assert response.status_code == 200
    figures: dict[str, Any] = response.json()["sources"]["sos-a"]
    return figures


async def test_sos_sites_near_the_patient_carry_their_association_and_slots(
    stubbed: Stubbed,
) -> None:
    client, stub = stubbed
    figures = await refresh(client)
    assert (figures["error"], figures["slots"], figures["sites"], figures["subscribed"]) == (
        None, 4, 3, 2,
    )  # fmt: skip
    assert all(len(stub.identifiers(r)) <= 25 for r in stub.requests)
    assert all(r.url.path.endswith("/Schedule") for r in stub.requests)
    found = await sites(client, **PARIS_8)
    assert [(s["city"], s["postcode"]) for s in found] == [
        ("PARIS", "75008"),
        ("NEUILLY-SUR-SEINE", "92200"),
    ]  # Lyon is far away; by distance
    rome = found[0]
    assert rome["id"].startswith(f"{RENNES}/")
    assert rome["association"] == {"identifier": RENNES, "name": f"Organisation {RENNES}"}
    assert (rome["address"], rome["insee"], rome["precision"]) == ("8 rue de Rome", "75108", "city")
    assert (rome["availability"], rome["sas_participant"], rome["source"]) == (
        "live",
        True,
        "sos-a",
    )
    assert rome["distance_km"] < found[1]["distance_km"] <= 5.0
    assert [s["modes"] for s in rome["slots"]] == [["AMB", "VR"], ["AMB"]]
    assert rome["slots"][0]["booking_url"] == "https://sos.test/r/1"
    assert set(rome["slots"][0]) == {"start", "end", "types", "modes", "walk_in", "booking_url"}
    starts = [datetime.fromisoformat(s["start"]) for s in rome["slots"]]
    assert starts == sorted(starts)
    assert all(start > datetime.now().astimezone() for start in starts)
    assert datetime.fromisoformat(rome["first_slot"]) == starts[0]
    ready = (await client.get("/health/ready")).json()["availability"]
    assert ready["sources"]["sos-a"]["status"] == "live"
    assert ready["sources"]["sos-a"]["error"] is None
    assert ready["sos_associations"] == 2
    metrics = (await client.get("/metrics")).text
    assert 'gateway_availability_slots{source="sos-a"} 4.0' in metrics
    # Around Lyon, by its commune: the other association's site (not a SAS participant).
    [lyon] = await sites(client, insee="69123")
    assert (lyon["association"]["identifier"], lyon["sas_participant"]) == (LORIENT, False)
    assert lyon["slots"][0]["walk_in"] is True


async def test_filters_count_only_matching_slots_and_sites_with_slots_come_first(
    stubbed: Stubbed,
) -> None:
    client, _ = stubbed
    await refresh(client)
    video = await sites(client, **PARIS_8, consultation="VR")
    assert [s["postcode"] for s in video] == ["75008", "92200"]
    assert [s["modes"] for s in video[0]["slots"]] == [["AMB", "VR"]]
    assert (video[1]["slots"], video[1]["first_slot"]) == ([], None)
    home = await sites(client, **PARIS_8, consultation="HH")
    assert [s["postcode"] for s in home] == ["92200", "75008"]  # the one with a slot first
    repeated = await sites(client, **PARIS_8, consultation=["VR", "HH"])  # one box per mode
    assert repeated == await sites(client, **PARIS_8, consultation="VR,HH")
    assert all(site["slots"] for site in repeated)
    tomorrow = (await sites(client, **PARIS_8, slots_from="2999-01-01"))[0]
    assert tomorrow["slots"] == []


async def test_a_site_without_free_slot_stays_listed(stubbed: Stubbed) -> None:
    client, stub = stubbed
    await refresh(client)
    stub.offers[RENNES] = [s for s in stub.offers[RENNES] if s.place == ROME]
    assert (await refresh(client))["sites"] == 3
    neuilly = next(s for s in await sites(client, **PARIS_8) if s["postcode"] == "92200")
    assert (neuilly["availability"], neuilly["slots"]) == ("live", [])


async def test_a_failing_source_shows_stale_then_unknown_sites(stubbed: Stubbed) -> None:
    client, stub = stubbed
    await refresh(client)
    stub.html = True
    assert (await refresh(client))["error"] is not None
    stub.html, stub.down = False, True
    assert (await refresh(client))["error"] is not None
    rome = (await sites(client, **PARIS_8))[0]
    assert (rome["availability"], len(rome["slots"])) == ("stale", 2)
    ready = (await client.get("/health/ready")).json()["availability"]
    assert ready["sources"]["sos-a"]["status"] == "stale"
    component = client.component(AvailabilityComponent)
    later = component.clock() + 601
    component.clock = lambda: later
    found = await sites(client, **PARIS_8)
    assert {(s["availability"], len(s["slots"])) for s in found} == {("unknown", 0)}
    assert len(found) == 2  # still listed: "unknown" is not "no slot"


async def test_a_malformed_slot_is_skipped_and_the_rest_shown(stubbed: Stubbed) -> None:
    client, stub = stubbed
    stub.malformed_slot = True
    figures = await refresh(client)
    assert (figures["error"], figures["problems"]) == (None, 1)
    assert figures["slots"] == 3


@pytest.mark.parametrize(
    ("params", "status", "parameter"),
    [
        ({}, 400, "insee"),
        ({"lat": 48.87}, 400, "lon"),
        ({"insee": "12"}, 400, "insee"),
        ({"insee": "99999"}, 404, "insee"),
        ({**PARIS_8, "consultation": "XYZ"}, 400, "consultation"),
        ({**PARIS_8, "slots_from": "tomorrow"}, 400, "slots_from"),
        ({**PARIS_8, "radius_km": 0}, 400, None),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    stubbed: Stubbed, params: dict[str, Any], status: int, parameter: str | None
) -> None:
    client, _ = stubbed
    response = await client.get("/v1/sos", params=params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if parameter is not None:
        assert error["details"]["parameter"] == parameter


async def test_the_demo_shows_its_sos_sites_once_read(client: AppClient) -> None:
    figures = (await client.post("/admin/availability/refresh")).json()["sources"]["demo-sos"]
    assert (figures["error"], figures["sites"]) == (None, 3)
    found = await sites(client, **PARIS_8)
    paris_8 = next(s for s in found if s["id"].endswith("/demo-sos-paris-8"))
    assert paris_8["association"]["name"] == "SOS Médecins DEMO Paris"
    assert (paris_8["precision"], paris_8["availability"]) == ("address", "live")
    assert paris_8["slots"]
    ready = (await client.get("/health/ready")).json()["availability"]
    assert ready["sources"]["demo-sos"]["status"] == "live"
