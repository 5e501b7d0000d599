"""The practice-location index is replaced without a restart: on ``POST
/admin/locations/reload``, when its manifest changes, never half-way through a search,
never by an unusable file."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.directory.locations_file import LOCATIONS_FILE, MANIFEST_FILE
from gateway.search.component import SearchComponent
from gateway.settings import DEMO_SNAPSHOT_DIR, LocationsSettings
from tests.conftest import AppClient, make_client, offline_settings, publish_locations

PARIS_8 = {"lat": 48.8727, "lon": 2.3126, "page_size": 5}


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO_SNAPSHOT_DIR, tmp_path / "snapshot"))


@pytest.fixture
async def client(snapshot: Path) -> AsyncIterator[AppClient]:
    settings = replace(offline_settings(snapshot), locations=LocationsSettings(poll_s=0.0))
    async with make_client(settings) as test_client:
        yield test_client


async def search(client: AppClient) -> tuple[str, list[dict[str, Any]]]:
    response = await client.get("/v1/search", params=PARIS_8)
    assert response.status_code == 200
    results = [r for r in response.json()["results"] if r["kind"] != "cpts"]
    return response.headers["x-locations-version"], results


async def test_a_reload_swaps_the_index_and_says_which_one_answers(
    client: AppClient, snapshot: Path
) -> None:
    before, results = await search(client)
    assert before
    assert all(r["family"] != "SWAPPED" for r in results)
    version = publish_locations(snapshot, "SWAPPED")
    response = await client.post("/admin/locations/reload")
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["previous_version"], body["changed"]) == (version, before, True)
    assert body["locations"] > 0
    after, results = await search(client)
    assert after == version
    assert results
    assert {r["family"] for r in results if r["idnps"].startswith("829")} == {"SWAPPED"}
    ready = (await client.get("/health/ready")).json()
    assert ready["locations"]["version"] == version


async def test_an_unusable_file_is_refused_and_the_index_in_force_stays(
    client: AppClient, snapshot: Path
) -> None:
    before, results = await search(client)
    (snapshot / "directory" / LOCATIONS_FILE).write_bytes(b"not a numpy archive")
    response = await client.post("/admin/locations/reload")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "locations_rejected"
    assert await search(client) == (before, results)


async def test_a_search_under_way_finishes_on_the_index_it_started_with(
    client: AppClient, snapshot: Path
) -> None:
    component = client.component(SearchComponent)
    old = component.index.current
    publish_locations(snapshot, "SWAPPED")
    new = await asyncio.to_thread(component.loader.load)
    ranked = old.engine.search

    def swap_mid_search(*args: Any) -> Any:
        page = ranked(*args)
        component.index.swap(new)  # lands between ranking and building the cards
        return page

    object.__setattr__(old.engine, "search", swap_mid_search)
    version, results = await search(client)
    assert version == old.version
    assert "SWAPPED" not in {r["family"] for r in results}
    assert component.index.current is new


async def test_a_new_manifest_is_picked_up_by_the_watcher(snapshot: Path) -> None:
    settings = replace(offline_settings(snapshot), locations=LocationsSettings(poll_s=0.05))
    async with make_client(settings) as client:
        tasks = await client.assembly.start()
        try:
            version = publish_locations(snapshot, "WATCHED")
            for _ in range(200):
                if (await search(client))[0] == version:
                    break
                await asyncio.sleep(0.05)
            found, results = await search(client)
        finally:
            for task in tasks:
                task.cancel()
        assert found == version
        assert "WATCHED" in {r["family"] for r in results}
        assert (snapshot / "directory" / MANIFEST_FILE).exists()
