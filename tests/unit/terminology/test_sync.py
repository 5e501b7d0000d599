"""``gateway sync terminology`` writes what the SMT serves, atomically, never half a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import httpx
import respx

from gateway.terminology.smt import SmtClient
from gateway.terminology.store import TerminologyStore
from gateway.terminology.sync import sync_terminology
from gateway.upstream import UpstreamClient
from tests.conftest import FHIR_HEADERS, SMT_URL, online_settings, searchset
from tests.samples import JDV_J239, TRE_R38, demo_resource, smt_tre_r38


class Row(NamedTuple):
    """What the sync needs of a mirrored resource (the CLI passes ``mappings/nos.csv``'s
    rows, the terminology does not read the stewards' tables itself)."""

    name: str
    kind: str
    canonical: str


R38_ROW = Row("TRE_R38", "CodeSystem", TRE_R38)
J239_ROW = Row("JDV_J239", "ValueSet", JDV_J239)


@respx.mock
async def test_sync_writes_loadable_files_and_attaches_expansions(tmp_path: Path) -> None:
    respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=httpx.Response(200, json=searchset(smt_tre_r38()), headers=FHIR_HEADERS)
    )
    respx.get(f"{SMT_URL}/ValueSet").mock(
        return_value=httpx.Response(
            200, json=searchset(demo_resource("ValueSet-JDV_J239.json")), headers=FHIR_HEADERS
        )
    )
    expansion = {
        "resourceType": "ValueSet",
        "expansion": {
            "contains": [{"system": "x", "code": "40", "display": "Chirurgien-Dentiste"}]
        },
    }
    respx.get(f"{SMT_URL}/ValueSet/$expand").mock(
        return_value=httpx.Response(200, json=expansion, headers=FHIR_HEADERS)
    )
    upstream = UpstreamClient(online_settings().smt)
    try:
        report = await sync_terminology(SmtClient(upstream), [R38_ROW, J239_ROW], tmp_path)
    finally:
        await upstream.aclose()
    assert report.failed == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "CodeSystem-TRE_R38.json",
        "ValueSet-JDV_J239.json",
    ]
    # J239 includes TRE_G15, which this sync does not mirror: its expansion is attached
    j239 = json.loads((tmp_path / "ValueSet-JDV_J239.json").read_text())
    assert j239["expansion"]["contains"][0]["code"] == "40"
    store = TerminologyStore()
    assert store.load_directory(tmp_path).errors == []
    cs = store.codesystem("urn:oid:1.2.250.1.213.2.28")
    assert cs is not None
    assert cs.version == "20260730120000"


@respx.mock
async def test_failed_sync_keeps_the_previous_file(tmp_path: Path) -> None:
    previous = tmp_path / "CodeSystem-TRE_R38.json"
    previous.write_text('{"resourceType": "CodeSystem", "url": "kept"}')
    respx.get(f"{SMT_URL}/CodeSystem").mock(return_value=httpx.Response(503))
    upstream = UpstreamClient(online_settings().smt)
    try:
        report = await sync_terminology(SmtClient(upstream), [R38_ROW], tmp_path)
    finally:
        await upstream.aclose()
    assert report.written == []
    assert "TRE_R38" in report.failed[0]
    assert json.loads(previous.read_text())["url"] == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["CodeSystem-TRE_R38.json"]
