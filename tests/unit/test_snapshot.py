"""The snapshot directory is walked once, each file decoded once, each resource handed to
every loader registered for its type; problems end in one report, ``file: message``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.directory.cpts import CptsSnapshot, load_cpts_snapshot
from gateway.directory.cpts_source import communes_of
from gateway.directory.index import DirectoryIndex
from gateway.geo.communes import load_communes
from gateway.settings import DEMO_SNAPSHOT_DIR
from gateway.snapshot import SnapshotReader, read_snapshot
from gateway.terminology.store import TerminologyStore
from tests.conftest import searchset


class Named(msgspec.Struct):
    id: str


class Collector:
    """Takes resources of some types; refuses (as a loader would) a resource without id."""

    def __init__(self, *types: str) -> None:
        self.types = types
        self.taken: list[tuple[str, str]] = []

    def read_from(self, reader: SnapshotReader) -> None:
        reader.register(self.types, self.take)

    def take(self, raw: bytes, file: Path) -> None:
        self.taken.append((msgspec.json.decode(raw, type=Named).id, file.name))


def write(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document))


def test_resources_go_to_every_loader_of_their_type(tmp_path: Path) -> None:
    org = {"resourceType": "Organization", "id": "o1"}
    nested = searchset({"resourceType": "Location", "id": "l1"}, org)
    write(tmp_path / "a" / "b" / "bundle.json", searchset(nested, {"resourceType": "Slot"}))
    write(tmp_path / "cs.json", {"resourceType": "CodeSystem", "id": "c1"})
    write(tmp_path / "notes.txt", "not read")
    directory, cpts = Collector("Organization"), Collector("Organization", "Location")
    terminology = Collector("CodeSystem")
    report = read_snapshot(tmp_path, directory, cpts, terminology)
    assert directory.taken == [("o1", "bundle.json")]
    assert cpts.taken == [("l1", "bundle.json"), ("o1", "bundle.json")]
    assert terminology.taken == [("c1", "cs.json")]
    assert report.files == 2
    assert report.resources == Counter({"Organization": 1, "Location": 1, "CodeSystem": 1})
    assert (report.count(), report.count("Location", "CodeSystem"), report.ignored) == (3, 2, 1)
    assert report.problems == []


def test_a_broken_file_or_a_refused_resource_is_reported_and_skipped(tmp_path: Path) -> None:
    write(tmp_path / "broken.json", '{"resourceType": "CodeSystem", "url": ')
    write(
        tmp_path / "page.json",
        searchset(
            {"resourceType": "Organization"},  # no id: refused by its loaders
            {"resourceType": "Organization", "id": "kept"},
            {"resourceType": "CodeSystem", "id": "c1"},
        ),
    )
    write(tmp_path / "entries.json", {"resourceType": "Bundle", "entry": [{"resource": 12}]})
    organizations, codesystems = Collector("Organization"), Collector("CodeSystem")
    report = read_snapshot(tmp_path, organizations, codesystems)
    assert organizations.taken == [("kept", "page.json")]
    assert codesystems.taken == [("c1", "page.json")]
    broken, entry, refused = report.errors
    assert broken.startswith(f"{tmp_path / 'broken.json'}: ")
    assert entry.startswith(f"{tmp_path / 'entries.json'}: Bundle entry skipped: ")
    assert refused.startswith(f"{tmp_path / 'page.json'}: Organization skipped: ")
    assert "id" in refused
    # what each loader missed: unreadable files for all, refused resources for their own
    assert report.errors_for(["Organization"]) == [broken, entry, refused]
    assert report.errors_for(["CodeSystem"]) == [broken, entry]
    assert report.count("Organization") == 1


def test_a_missing_directory_is_one_problem(tmp_path: Path) -> None:
    report = read_snapshot(tmp_path / "absent", Collector("CodeSystem"))
    assert (report.files, report.count()) == (0, 0)
    assert report.errors == [f"{tmp_path / 'absent'}: not a directory"]


def test_the_gateway_loaders_share_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: Counter[Path] = Counter()
    read_bytes = Path.read_bytes

    def counting(path: Path) -> bytes:
        reads[path] += 1
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", counting)
    store, directory, cpts = TerminologyStore(), DirectoryIndex(), CptsSnapshot()
    report = read_snapshot(DEMO_SNAPSHOT_DIR, store, directory, cpts)
    json_files = sorted(DEMO_SNAPSHOT_DIR.rglob("*.json"))
    assert sorted(reads) == json_files
    assert set(reads.values()) == {1}
    assert report.errors == []
    assert report.files == len(json_files)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    # the same as each loader reading the directory alone
    alone = TerminologyStore()
    alone.load_directory(DEMO_SNAPSHOT_DIR)
    assert store.summary() == alone.summary() != []
    assert list(directory.practitioners) == list(
        DirectoryIndex.load(DEMO_SNAPSHOT_DIR).practitioners
    )
    reference = communes_of(load_communes())
    shared = cpts.index(reference, report)
    assert shared.cpts == load_cpts_snapshot(DEMO_SNAPSHOT_DIR, reference).cpts != []
    assert shared.report.files == report.files
    assert shared.source == f"snapshot:{DEMO_SNAPSHOT_DIR}"
