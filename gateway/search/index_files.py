"""A built practice-location index as plain ``.npy`` files, mapped rather than read.

A running gateway has its new index built by another process
(``gateway.search.index_builder``), which writes every final array here, already in grid
order and uncompressed; the server then maps them (``mmap_mode="r"``): no decompression,
sort or copy runs in the server, so its event loop keeps the GIL while a reload happens.
The pages are the ones the builder just wrote (in the page cache), so a search touches no
disk; read-only arrays suffice (nothing writes into an index once built).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.directory.locations_file import SCHEMA, LocationsError
from gateway.geo.spatial import SphereGrid
from gateway.search.locations import PracticeLocations

_GRID = "grid."


def save_index(locations: PracticeLocations, directory: Path) -> dict[str, float | int]:
    """Every array of ``locations`` as ``<name>.npy`` in ``directory``; the grid's scalars
    (what :func:`map_index` needs besides the files)."""
    arrays = {
        **locations.arrays(),
        **{_GRID + name: array for name, array in locations.grid.arrays().items()},
    }
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    return locations.grid.scalars()


def map_index(directory: Path, grid: dict[str, float | int]) -> PracticeLocations:
    """The locations :func:`save_index` wrote, memory-mapped. ``LocationsError`` when a file
    is missing or does not fit (a builder that died half-way)."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        for path in directory.glob("*.npy"):
            # A plain ndarray view of the map (it keeps the map open): memmap's subclass
            # would only add overhead to every operation of every search.
            arrays[path.stem] = np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    except (OSError, ValueError) as exc:
        raise LocationsError(f"{directory}: cannot map the built index ({exc})") from None
    grid_arrays = {k[len(_GRID) :]: v for k, v in arrays.items() if k.startswith(_GRID)}
    expected = {*SCHEMA, "by_idnps", "sorted_idnps", "row_hash"}
    grid_expected = {"order", "cell_start", "x", "y", "z"}
    missing = sorted((expected - set(arrays)) | (grid_expected - set(grid_arrays)))
    if missing:
        raise LocationsError(f"{directory}: the built index lacks {', '.join(missing)}")
    rows = {int(arrays[name].shape[0]) for name in expected} | {
        int(grid_arrays[name].shape[0]) for name in ("order", "x", "y", "z")
    }
    if len(rows) != 1:
        raise LocationsError(f"{directory}: the built index has arrays of lengths {sorted(rows)}")
    for name, dtype in SCHEMA.items():
        if arrays[name].dtype != np.dtype(dtype):
            raise LocationsError(f"{directory}: built column {name} is {arrays[name].dtype}")
    return PracticeLocations.restore(SphereGrid.restore(grid, grid_arrays), arrays)
