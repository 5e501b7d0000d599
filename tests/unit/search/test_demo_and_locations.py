"""The demo generator and the practice-locations file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from gateway.directory import locations_file
from gateway.directory.cpts import load_cpts_snapshot
from gateway.directory.cpts_source import communes_of
from gateway.directory.identifiers import luhn_valid
from gateway.directory.index import DirectoryIndex
from gateway.directory.locations_file import (
    LOCATIONS_FILE,
    SCHEMA,
    LocationsError,
    concat,
    load_columns,
    save_columns,
)
from gateway.geo.communes import CommuneIndex, load_communes
from gateway.search.demo import generate_columns, luhn_check_digits, write_snapshot
from gateway.search.locations import load_locations
from gateway.settings import DEMO_SNAPSHOT_DIR

NOW = datetime(2026, 11, 26, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def communes() -> CommuneIndex:
    return load_communes()


@pytest.fixture(scope="module")
def generated(communes: CommuneIndex) -> dict[str, np.ndarray]:
    cpts = load_cpts_snapshot(DEMO_SNAPSHOT_DIR, communes_of(communes))
    return generate_columns(20_000, 11, NOW, communes, cpts)


def test_concat_copies_by_chunks_what_np_concatenate_would(
    generated: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locations_file, "COPY_ROWS", 7)  # chunks end inside both parts
    head = {name: array[:100] for name, array in generated.items()}
    tail = {name: array[100:123] for name, array in generated.items()}
    joined = concat(head, tail, {name: array[:0] for name, array in generated.items()})
    for name in SCHEMA:
        assert joined[name].dtype == np.dtype(SCHEMA[name])
        assert np.array_equal(joined[name], np.concatenate([head[name], tail[name]]))


def test_check_digits_make_valid_rpps() -> None:
    bodies = np.array([2_900_000_000, 2_912_345_678, 2_999_999_999, 1_000_000_000])
    for body, check in zip(bodies, luhn_check_digits(bodies), strict=True):
        assert luhn_valid(f"{body}{check}")
        assert not luhn_valid(f"{body}{(check + 1) % 10}")


def test_generated_identifiers_have_the_idnps_format(generated: dict[str, np.ndarray]) -> None:
    idnps = [str(v) for v in np.unique(generated["idnps"])]
    assert len(idnps) == 20_000
    assert all(len(v) == 12 and v.startswith("829") and luhn_valid(v[1:]) for v in idnps)
    assert all(f.startswith(b"DEMO-") for f in np.unique(generated["family"]))


def test_locations_follow_population(
    generated: dict[str, np.ndarray], communes: CommuneIndex
) -> None:
    insee = generated["insee"]
    paris = np.char.startswith(insee, b"751").mean()
    lozere = np.char.startswith(insee, b"48").mean()
    # Paris holds ~3.2 % of the population, Lozère ~0.1 %.
    assert 0.02 < paris < 0.045
    assert lozere < 0.004
    for code, lat, lon in zip(
        insee[:300], generated["lat"][:300], generated["lon"][:300], strict=True
    ):
        commune = communes.by_insee(code.decode())
        assert commune is not None
        assert abs(commune.lat - lat) < 0.1
        assert abs(commune.lon - lon) < 0.15


def test_a_practitioners_offices_share_a_departement(generated: dict[str, np.ndarray]) -> None:
    deps: dict[int, set[bytes]] = {}
    for idnps, code in zip(generated["idnps"], generated["insee"], strict=True):
        deps.setdefault(int(idnps), set()).add(bytes(code[:2]))
    assert all(len(d) == 1 for d in deps.values())
    assert (generated["ordinal"] > 0).sum() > 1000


def test_flags_and_cpts_membership(
    generated: dict[str, np.ndarray], communes: CommuneIndex
) -> None:
    participant = generated["participant"].mean()
    assert 0.15 < participant < 0.45
    slots = generated["first_slot"][generated["first_slot"] >= 0]
    assert slots.min() > NOW.timestamp()
    assert slots.max() <= NOW.timestamp() + 72 * 3600
    members = generated["insee"][generated["cpts"] != b""]
    assert members.size
    cpts = load_cpts_snapshot(DEMO_SNAPSHOT_DIR, communes_of(communes))
    assert all(cpts.covering(code.decode()) for code in members[:200])


def test_same_seed_same_file_and_a_full_snapshot(tmp_path: Path, communes: CommuneIndex) -> None:
    cpts = load_cpts_snapshot(DEMO_SNAPSHOT_DIR, communes_of(communes))
    paths = []
    for name in ("a", "b"):
        columns = generate_columns(300, 5, NOW, communes, cpts)
        done = write_snapshot(tmp_path / name, columns, template=DEMO_SNAPSHOT_DIR, meta={"s": 5})
        paths.append(done.path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert (tmp_path / "a" / "terminology").is_dir()
    columns, meta = load_columns(paths[0])
    assert meta == {"s": 5}
    assert columns["idnps"].size >= 300
    other = generate_columns(300, 6, NOW, communes, cpts)
    assert not np.array_equal(other["idnps"], columns["idnps"])


def test_the_shipped_demo_merges_the_fhir_practitioners(communes: CommuneIndex) -> None:
    directory = DirectoryIndex.load(DEMO_SNAPSHOT_DIR)
    locations, meta = load_locations(DEMO_SNAPSHOT_DIR, directory, communes)
    assert meta["practitioners"] == 5000
    assert len(locations) > 5000
    martin = locations.positions_of(819990000002)
    assert sorted(locations.text("insee", int(p)) for p in martin) == ["75108", "92036"]


def test_a_broken_locations_file_is_rejected(tmp_path: Path, generated: dict) -> None:
    path = tmp_path / LOCATIONS_FILE
    partial = {k: v[:10] for k, v in generated.items() if k != "cpts"}
    save_columns(path, partial, {})
    with pytest.raises(LocationsError, match="missing columns cpts"):
        load_columns(path)
    bad = {k: v[:10].copy() for k, v in generated.items()}
    bad["lat"][3] = 123.0
    save_columns(path, bad, {})
    with pytest.raises(LocationsError, match="out of range"):
        load_columns(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(LocationsError, match="cannot read"):
        load_columns(path)


def test_fhir_practitioners_already_in_the_file_are_not_added_twice(
    tmp_path: Path, generated: dict[str, np.ndarray], communes: CommuneIndex
) -> None:
    columns = {k: v[:3].copy() for k, v in generated.items()}
    columns["idnps"][:] = 819990000002  # the demo FHIR practitioner with two offices
    columns["ordinal"][:] = [0, 1, 2]
    save_columns(tmp_path / "directory" / LOCATIONS_FILE, columns, {})
    directory = DirectoryIndex.load(DEMO_SNAPSHOT_DIR)
    locations, _ = load_locations(tmp_path, directory, communes)
    assert len(locations.positions_of(819990000002)) == 3  # the file's, not the FHIR ones
    assert len(locations.positions_of(819990000028)) == 1  # FHIR-only practitioners stay
