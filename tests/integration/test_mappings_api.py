"""Steward tables through HTTP: free-text specialties, hot reload, version pinning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.geo.component import GeoComponent
from gateway.mappings.component import MappingsComponent
from gateway.settings import MappingsSettings
from tests.conftest import AppClient, copy_mappings, make_client, offline_settings

R38 = "urn:oid:1.2.250.1.213.2.28"
G15 = "urn:oid:1.2.250.1.71.1.2.7"


@pytest.fixture
def mappings_dir(tmp_path: Path) -> Path:
    return copy_mappings(tmp_path / "mappings")


@pytest.fixture
async def steward_client(mappings_dir: Path) -> AsyncIterator[AppClient]:
    settings = replace(offline_settings(), mappings=MappingsSettings(mappings_dir))
    async with make_client(settings) as client:
        yield client


async def resolve(client: AppClient, **params: str) -> tuple[dict[str, Any], str]:
    response = await client.get(
        "/v1/contextual-search/resolve", params={"origin": "TEST-SAMU000", **params}
    )
    assert response.status_code == 200, response.text
    return response.json(), response.headers["x-mappings-version"]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "system", "code"),
    [
        ("Consultation de médecine générale", R38, "SM54"),
        ("cardiologue", R38, "SM04"),
        ("ORL", R38, "SM39"),
        ("dentiste", G15, "40"),
        ("pédiatre", R38, "SM40"),
        ("Pediatre", R38, "SM40"),
        ("sage-femme", G15, "50"),
        ("Sage femme", G15, "50"),
        ("kiné", G15, "70"),
        ("KINE", G15, "70"),
    ],
)
async def test_free_text_specialties_from_lrm_usage_resolve(
    client: AppClient, text: str, system: str, code: str
) -> None:
    body, _ = await resolve(client, specialty=text)
    specialty = body["specialty"]
    assert specialty["label"] == text
    assert (specialty["coding"]["system"], specialty["coding"]["code"]) == (system, code)
    assert specialty["match"] == "synonym"
    assert specialty["coding"]["display"]


async def test_a_text_no_synonym_covers_is_matched_to_a_close_label(client: AppClient) -> None:
    body, _ = await resolve(client, specialty="gynecologie obstetrique")
    assert body["specialty"]["coding"]["code"] == "SM20"
    assert body["specialty"]["match"] == "fuzzy"
    nothing, _ = await resolve(client, specialty="plombier")
    assert nothing["specialty"]["coding"] is None
    assert nothing["specialty"]["match"] is None


async def test_every_response_names_the_mappings_version(client: AppClient) -> None:
    version = client.component(MappingsComponent).active.current.version
    for path in ("/health/live", "/v1/cpts?insee=92036", "/nope"):
        response = await client.get(path)
        assert response.headers["x-mappings-version"] == version
    ready = (await client.get("/health/ready")).json()
    assert ready["mappings"]["version"] == version


async def test_reload_swaps_in_a_valid_edit(steward_client: AppClient, mappings_dir: Path) -> None:
    before, old_version = await resolve(steward_client, origin="SAMU-92-NEW")
    assert before["origin"]["valid"] is False
    with (mappings_dir / "lrm_authorities.csv").open("a", encoding="utf-8") as handle:
        handle.write("SAMU-92-NEW,SAMU 92,92,yes,no\n")
    response = await steward_client.post("/admin/mappings/reload")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["previous_version"] == old_version
    assert body["changed"] is True
    after, new_version = await resolve(steward_client, origin="SAMU-92-NEW")
    assert after["origin"]["valid"] is True
    assert new_version == body["version"] != old_version
    again = (await steward_client.post("/admin/mappings/reload")).json()
    assert again["changed"] is False


async def test_a_bad_edit_is_rejected_and_the_previous_version_stays(
    steward_client: AppClient, mappings_dir: Path
) -> None:
    _, version = await resolve(steward_client)
    edit(mappings_dir / "specialty_synonyms.csv", "\nORL,TRE_R38,SM39,", "\nORL,TRE_R38,SP01,")
    edit(mappings_dir / "lrm_authorities.csv", "TEST-SAMU000,", "TEST SAMU000,")
    response = await steward_client.post("/admin/mappings/reload")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "mappings_rejected"
    assert version in error["message"]
    problems = error["details"]["problems"]
    assert any(
        "specialty_synonyms.csv:" in p and "SP01" in p and "deprecated" in p for p in problems
    )
    assert any("lrm_authorities.csv:" in p and "'TEST SAMU000'" in p for p in problems)
    body, still = await resolve(steward_client, specialty="ORL")
    assert still == version
    assert body["origin"]["valid"] is True  # the old authorities table is still in force
    assert body["specialty"]["coding"]["code"] == "SM39"


async def test_an_agenda_source_is_added_by_a_reload_and_a_bad_one_keeps_the_old_list(
    steward_client: AppClient, mappings_dir: Path
) -> None:
    active = steward_client.component(MappingsComponent).active
    assert [source.name for source in active.current.agenda] == ["demo", "demo-sos"]
    with (mappings_dir / "agenda_sources.csv").open("a", encoding="utf-8") as handle:
        handle.write("editeur-a,cpts,https://fhir.editeur-a.example/sas,10,48\n")
    assert (await steward_client.post("/admin/mappings/reload")).status_code == 200
    added = active.current
    assert [(s.name, s.kind, s.window_hours) for s in added.agenda] == [
        ("demo", "psindiv", 72),
        ("demo-sos", "sos", 72),
        ("editeur-a", "cpts", 48),
    ]
    edit(mappings_dir / "agenda_sources.csv", ",10,48\n", ",10,400\n")
    response = await steward_client.post("/admin/mappings/reload")
    assert response.status_code == 422
    (problem,) = response.json()["error"]["details"]["problems"]
    assert "agenda_sources.csv:" in problem
    assert "window_hours is '400'" in problem
    assert active.current is added  # the tables in force did not change


async def test_a_reload_under_load_never_mixes_two_versions(
    steward_client: AppClient, mappings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old tables: cardiologue → SM04, Paris radius 5. New: cardiologue → SM38, radius 7.
    Every answer must be all old or all new, and say which in its header."""
    geo = steward_client.component(GeoComponent).service
    original = geo.geocode

    async def slow_geocode(**kwargs: Any) -> Any:
        # Yield between the specialty (read before) and the radius (read after): without
        # pinning, a reload landing here would mix the two versions.
        await asyncio.sleep(0.02)
        return await original(**kwargs)

    monkeypatch.setattr(geo, "geocode", slow_geocode)
    old_version = steward_client.component(MappingsComponent).active.current.version
    edit(
        mappings_dir / "specialty_synonyms.csv",
        "\ncardiologue,TRE_R38,SM04,",
        "\ncardiologue,TRE_R38,SM38,",
    )
    edit(mappings_dir / "departement_radius.csv", "\n75,Paris,5,3,", "\n75,Paris,7,3,")

    async def one(delay: float) -> tuple[str, float, str]:
        await asyncio.sleep(delay)
        body, version = await resolve(steward_client, specialty="cardiologue", inseecode="75108")
        return body["specialty"]["coding"]["code"], body["location"]["default_radius_km"], version

    async def reload() -> str:
        await asyncio.sleep(0.01)
        response = await steward_client.post("/admin/mappings/reload")
        assert response.status_code == 200
        version: str = response.json()["version"]
        return version

    *answers, new_version = await asyncio.gather(*(one(i * 0.01) for i in range(50)), reload())
    assert new_version != old_version
    seen = set(answers)
    assert seen <= {("SM04", 5.0, old_version), ("SM38", 7.0, new_version)}, seen
    assert len(seen) == 2, "the reload should land while requests are in flight"
