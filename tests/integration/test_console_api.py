"""The JSON routes the console reads: steward state, value sets of a code, CPTS zones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.settings import MappingsSettings
from tests.conftest import AppClient, copy_mappings, make_client, offline_settings

R38 = "urn:oid:1.2.250.1.213.2.28"


@pytest.fixture
async def steward(tmp_path: Path) -> AsyncIterator[tuple[AppClient, Path]]:
    directory = copy_mappings(tmp_path / "mappings")
    settings = replace(offline_settings(), mappings=MappingsSettings(directory))
    async with make_client(settings) as client:
        yield client, directory


async def test_admin_mappings_reports_the_tables_against_the_disk(
    steward: tuple[AppClient, Path],
) -> None:
    client, directory = steward
    body = (await client.get("/admin/mappings")).json()
    assert body["disk_valid"] is True
    assert body["version"] == body["disk_version"]
    assert next(t["file"] for t in body["tables"]) == "nos.csv"
    authorities = directory / "lrm_authorities.csv"
    authorities.write_text(authorities.read_text("utf-8") + "broken\n", encoding="utf-8")
    body = (await client.get("/admin/mappings")).json()
    assert body["disk_valid"] is False
    table = next(t for t in body["tables"] if t["file"] == "lrm_authorities.csv")
    assert table["problems"][0].startswith(f"{authorities}:")
    # Nothing was swapped in.
    assert (await client.get("/health/ready")).json()["mappings"]["version"] == body["version"]


async def test_the_value_sets_containing_a_code(client: AppClient) -> None:
    response = await client.get("/v1/terminology/valuesets", params={"coding": f"{R38}|SM54"})
    assert response.status_code == 200
    [valueset] = response.json()["valuesets"]
    assert valueset["nos"].startswith("JDV_J239")
    none = await client.get("/v1/terminology/valuesets", params={"system": R38, "code": "SM99"})
    assert none.json()["valuesets"] == []
    assert (await client.get("/v1/terminology/valuesets")).status_code == 400


async def test_the_communes_of_a_cpts_zone(client: AppClient) -> None:
    body = (await client.get("/v1/cpts/929999901/zone")).json()
    assert body["communes"] == ["92004", "92036"]
    assert {"level": "commune", "code": "92036"} in body["zones"]
    assert (await client.get("/v1/cpts/123456789/zone")).status_code == 404
    assert (await client.get("/v1/cpts/abc/zone")).status_code == 400


@pytest.mark.parametrize("finess", ["2A0000154", "2b0000154"])
async def test_a_corsican_cpts_finess_is_a_finess(client: AppClient, finess: str) -> None:
    assert (await client.get(f"/v1/cpts/{finess}/zone")).status_code == 404  # not in the demo
    members = await client.get(f"/v1/cpts/{finess}/members")
    assert members.status_code == 200
    assert members.json()["members"] == []


@pytest.mark.parametrize("finess", ["2C0000154", "１２３４５６７８９", "12345678"])
async def test_a_malformed_finess_is_400(client: AppClient, finess: str) -> None:
    for path in (f"/v1/cpts/{finess}/zone", f"/v1/cpts/{finess}/members"):
        response = await client.get(path)
        assert response.status_code == 400, path
