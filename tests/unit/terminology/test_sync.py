"""``gateway sync terminology`` writes what the SMT serves, atomically, never half a file."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from gateway.mappings.nos import MirroredNos, load_nos
from gateway.settings import DEFAULT_MAPPINGS_DIR
from gateway.terminology.smt import SmtClient
from gateway.terminology.store import TerminologyStore
from gateway.terminology.sync import sync_terminology
from gateway.upstream import UpstreamClient
from tests.conftest import FHIR_HEADERS, SMT_URL, online_settings, searchset
from tests.samples import JDV_J239, TRE_R38, demo_resource, smt_tre_r38

R38_ROW = MirroredNos("TRE_R38", "CodeSystem", TRE_R38, "specialties", 2)
J239_ROW = MirroredNos("JDV_J239", "ValueSet", JDV_J239, "SAS specialties", 3)


def test_committed_mappings_list_the_required_nos() -> None:
    names = {row.name for row in load_nos(DEFAULT_MAPPINGS_DIR / "nos.csv")}
    assert {
        "TRE_R38",
        "TRE_G15",
        "TRE_R314",
        "JDV_J165",
        "JDV_J210",
        "JDV_J229",
        "JDV_J239",
    } <= names


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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,kind,canonical,why\nTRE_R38,Thing,https://x/TRE-R38,y\n", ":2: kind 'Thing'"),
        (
            "# c\nname,kind,canonical,why\nTRE_R38,CodeSystem,https://mos.esante.gouv.fr/NOS/TRE_R38-X/FHIR/TRE-R38-X,y\n"
            "TRE_R38,CodeSystem,https://mos.esante.gouv.fr/NOS/TRE_R38-X/FHIR/TRE-R38-X,y\n",
            ":4: 'TRE_R38' already listed on line 3",
        ),
        ("name,kind\n", ":1: the header must be"),
        (
            "name,kind,canonical,why\nTRE_R38,CodeSystem,https://mos.esante.gouv.fr/NOS/TRE_G15-X/FHIR/TRE-G15-X,y\n",
            "does not match",
        ),
    ],
)
def test_nos_mapping_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    from gateway.mappings.nos import MappingError

    path = tmp_path / "nos.csv"
    path.write_text(content)
    with pytest.raises(MappingError) as caught:
        load_nos(path)
    assert message in str(caught.value)
