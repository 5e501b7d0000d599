from __future__ import annotations

import json
from pathlib import Path

from gateway.terminology.indexed import IndexedCodeSystem, IndexedConceptMap, version_order
from gateway.terminology.store import TerminologyStore
from tests.conftest import searchset
from tests.samples import TRE_R38, demo_resource, smt_tre_r38


def test_snapshot_directory_is_read_recursively_with_bundles(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "bundle.json").write_text(
        json.dumps(
            searchset(
                smt_tre_r38(),
                demo_resource("ValueSet-JDV_J239.json"),
                {"resourceType": "Practitioner", "id": "ignored-here"},
            )
        )
    )
    (tmp_path / "g15.json").write_text(json.dumps(demo_resource("CodeSystem-TRE_G15.json")))
    store = TerminologyStore()
    report = store.load_directory(tmp_path)
    assert report.errors == []
    assert (report.files, report.count()) == (2, 3)
    assert report.ignored == 1  # the Practitioner: no terminology loader wants it
    assert store.codesystem("TRE_G15") is not None
    assert store.valueset("JDV_J239") is not None


def test_a_broken_file_is_reported_and_the_rest_still_loads(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"resourceType": "CodeSystem", "url": ')
    (tmp_path / "ok.json").write_text(json.dumps(smt_tre_r38()))
    store = TerminologyStore()
    report = store.load_directory(tmp_path)
    assert len(report.errors) == 1
    assert "broken.json" in report.errors[0]
    assert store.codesystem(TRE_R38) is not None


def test_latest_version_prefers_timestamps_over_legacy_semver(tmp_path: Path) -> None:
    store = TerminologyStore()
    for version in ("0.1.0", "20260730120000", "20250328120000", "1.1.0"):
        store.load_bytes(json.dumps(smt_tre_r38(version)).encode(), "test")
    latest = store.codesystem(TRE_R38)
    assert latest is not None
    assert latest.version == "20260730120000"
    assert store.versions_of(IndexedCodeSystem, TRE_R38) == [
        "0.1.0",
        "1.1.0",
        "20250328120000",
        "20260730120000",
    ]
    assert version_order("0.0.0-demo") < version_order("0.1.0")


def test_missing_directory_is_reported_not_raised(tmp_path: Path) -> None:
    report = TerminologyStore().load_directory(tmp_path / "absent")
    assert report.count() == 0
    assert report.errors


def test_two_concept_maps_with_one_url_and_version_are_both_searched() -> None:
    # Reads by url see the last loaded; $translate without a url consults both (HL7 tests
    # load two different maps under one url|version).
    store = TerminologyStore()
    for source in ("a", "b"):
        body = {
            "resourceType": "ConceptMap",
            "url": "http://example.org/ConceptMap/m",
            "version": "1",
            "group": [{"source": f"http://example.org/{source}"}],
        }
        store.load_bytes(json.dumps(body).encode(), source)
    assert store.conceptmap("http://example.org/ConceptMap/m") is not None
    assert [m.source for m in store.latest(IndexedConceptMap)] == ["b"]
    assert sorted(m.source for m in store.searchable(IndexedConceptMap)) == ["a", "b"]
