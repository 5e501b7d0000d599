"""``$translate`` through HTTP with a ConceptMap in the snapshot."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.settings import DEMO_SNAPSHOT_DIR
from tests.conftest import AppClient, make_client, offline_settings
from tests.integration.fhir_validation import assert_valid_fhir, param
from tests.samples import G15_OID, R38_OID, TRE_G15, TRE_R38

SPECIALTY_TO_PROFESSION = {
    "resourceType": "ConceptMap",
    "id": "specialite-profession",
    "url": "https://gateway.test/ConceptMap/specialite-profession",
    "version": "1",
    "status": "active",
    "sourceUri": TRE_R38,
    "targetUri": TRE_G15,
    "group": [
        {
            "source": TRE_R38,
            "target": TRE_G15,
            "element": [
                {
                    "code": "SM54",
                    "target": [{"code": "10", "display": "Médecin", "equivalence": "wider"}],
                },
                {"code": "SP01", "target": [{"equivalence": "unmatched"}]},
            ],
        }
    ],
}


@pytest.fixture
async def client_with_map(tmp_path: Path) -> AsyncIterator[AppClient]:
    shutil.copytree(DEMO_SNAPSHOT_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "ConceptMap-specialite-profession.json").write_text(
        json.dumps(SPECIALTY_TO_PROFESSION), encoding="utf-8"
    )
    async with make_client(offline_settings(tmp_path)) as client:
        yield client


async def test_translate_get_by_oid(client_with_map: AppClient) -> None:
    response = await client_with_map.get(
        "/fhir/ConceptMap/$translate",
        params={"system": R38_OID, "code": "SM54", "targetsystem": G15_OID},
    )
    assert response.status_code == 200
    body = response.json()
    assert_valid_fhir(body, "Parameters")
    assert param(body, "result") is True
    match = next(p for p in body["parameter"] if p["name"] == "match")
    parts = {p["name"]: p for p in match["part"]}
    assert parts["equivalence"]["valueCode"] == "wider"
    assert parts["concept"]["valueCoding"] == {
        "system": TRE_G15,
        "code": "10",
        "display": "Médecin",
    }


async def test_translate_post_with_coding_and_url(client_with_map: AppClient) -> None:
    body = (
        await client_with_map.post(
            "/fhir/ConceptMap/$translate",
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "url", "valueUri": SPECIALTY_TO_PROFESSION["url"]},
                    {"name": "coding", "valueCoding": {"system": TRE_R38, "code": "SP01"}},
                ],
            },
        )
    ).json()
    assert param(body, "result") is False
    assert param(body, "message") == "No mapping found"


async def test_concept_map_is_searchable_by_url(client_with_map: AppClient) -> None:
    body = (
        await client_with_map.get(
            "/fhir/ConceptMap", params={"url": SPECIALTY_TO_PROFESSION["url"]}
        )
    ).json()
    assert body["total"] == 1
    assert body["entry"][0]["resource"]["id"] == "specialite-profession"
