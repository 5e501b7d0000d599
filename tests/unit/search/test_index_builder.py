"""A running gateway's new index, built by a child process and mapped: the same index as
one built in-process, the same verdicts on bad files, nothing left behind."""

from __future__ import annotations

import shutil
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import pytest

from gateway.directory.index import DirectoryIndex
from gateway.directory.locations_file import LOCATIONS_FILE, LocationsError
from gateway.errors import LocationsRejected
from gateway.geo.communes import CommuneIndex, load_communes
from gateway.search import heap, index_builder
from gateway.search.index_files import map_index, save_index
from gateway.search.live_index import IndexLoader, LocationIndex
from gateway.search.locations import PracticeLocations
from gateway.settings import DEMO_SNAPSHOT_DIR


@pytest.fixture(scope="module")
def communes() -> CommuneIndex:
    return load_communes()


@pytest.fixture(scope="module")
def directory() -> DirectoryIndex:
    return DirectoryIndex.load(DEMO_SNAPSHOT_DIR)


@pytest.fixture
def loader(tmp_path: Path, directory: DirectoryIndex, communes: CommuneIndex) -> IndexLoader:
    snapshot = Path(shutil.copytree(DEMO_SNAPSHOT_DIR, tmp_path / "snapshot"))
    return IndexLoader(snapshot, directory, communes, None)


def same_index(a: PracticeLocations, b: PracticeLocations) -> None:
    assert a.grid.scalars() == b.grid.scalars()
    for name, array in a.grid.arrays().items():
        assert np.array_equal(array, b.grid.arrays()[name]), name
    theirs = b.arrays()
    for name, array in a.arrays().items():
        assert array.dtype == theirs[name].dtype, name
        assert np.array_equal(array, theirs[name]), name


def test_the_child_builds_the_index_built_here(loader: IndexLoader) -> None:
    here, aside = loader.load(), loader.load_aside()
    same_index(here.locations, aside.locations)
    assert (aside.version, aside.practitioners) == (here.version, here.practitioners)
    assert aside.practitioners == len(np.unique(here.locations.columns["idnps"]))
    # The build's scratch directory is gone (the arrays stay mapped).
    assert not list((loader.snapshot / "directory").glob(".locations-build-*"))


def test_the_childs_version_without_manifest_nor_meta_is_the_content_hash(
    tmp_path: Path, directory: DirectoryIndex, communes: CommuneIndex
) -> None:
    # No locations file at all: the snapshot's FHIR practitioners only.
    snapshot = tmp_path / "bare"
    (snapshot / "directory").mkdir(parents=True)
    loader = IndexLoader(snapshot, directory, communes, None)
    here, aside = loader.load(), loader.load_aside()
    assert len(aside.locations) == len(here.locations) > 0
    assert aside.version == here.version


def test_an_unusable_file_is_refused_by_the_child(loader: IndexLoader) -> None:
    (loader.snapshot / "directory" / LOCATIONS_FILE).write_bytes(b"not a numpy archive")
    with pytest.raises(LocationsRejected, match="cannot read"):
        loader.load_aside()
    assert not list((loader.snapshot / "directory").glob(".locations-build-*"))


def test_a_failed_builder_falls_back_to_building_here(
    loader: IndexLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise index_builder.BuilderFailed("exit status -9")

    monkeypatch.setattr(index_builder, "_run", fail)
    index = loader.load_aside()
    same_index(index.locations, loader.load().locations)


def test_a_half_written_build_is_not_mapped(loader: IndexLoader, tmp_path: Path) -> None:
    built = loader.load().locations
    out = tmp_path / "built"
    out.mkdir()
    grid = save_index(built, out)
    same_index(built, map_index(out, grid))
    (out / "row_hash.npy").unlink()
    with pytest.raises(LocationsError, match="lacks row_hash"):
        map_index(out, grid)
    np.save(out / "row_hash.npy", built.row_hash[:-1])
    with pytest.raises(LocationsError, match="lengths"):
        map_index(out, grid)


def test_a_replaced_index_is_dropped_later_off_the_caller(loader: IndexLoader) -> None:
    index: LocationIndex | None = loader.load()
    assert index is not None
    gone = weakref.ref(index.locations)
    freed_by: list[str] = []
    weakref.finalize(index.locations, lambda: freed_by.append(threading.current_thread().name))
    heap.drop_later(index, after_s=0.01)
    index = None
    deadline = time.monotonic() + 30
    while gone() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gone() is None
    assert freed_by == ["drop-replaced-index"]


def test_trimming_the_heap_is_harmless_anywhere() -> None:
    assert heap.trim_heap() in (True, False)
