"""Practice locations for ``GET /v1/search``: a columnar, in-memory table in grid order.

One row per practice location (a practitioner with three offices has three rows). Columns
are numpy arrays (fixed-width bytes for codes and names): 1,000,000 rows take ~130 MB,
where as many Python objects would take several times that and slow start-up.

Sources, merged at load: ``<snapshot>/directory/practice-locations.npz`` (written by
``gateway sync locations`` from the Annuaire Santé, or ``gateway demo generate``; format in
``gateway.directory.locations_file``) and the snapshot's FHIR practitioners not in it,
placed at their practice commune's point (SAS participation and slots are not in the
directory, so those rows are non-participants without slots).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.directory.index import DirectoryIndex
from gateway.directory.locations_file import (
    LOCATIONS_FILE,
    NO_SLOT,
    SCHEMA,
    Columns,
    concat,
    empty_columns,
    load_columns,
    text_column,
    validate,
)
from gateway.directory.practitioner_codes import practitioner_codes, practitioner_idnps
from gateway.geo.communes import CommuneIndex
from gateway.geo.spatial import SphereGrid
from gateway.terminology.canonical import CanonicalIndex


def from_directory(
    index: DirectoryIndex, communes: CommuneIndex, aliases: CanonicalIndex | None = None
) -> Columns:
    """Rows for the snapshot's FHIR practitioners, at their commune's point; profession
    and specialty read as their cards read them (``aliases``: the terminology's)."""
    rows: list[tuple[Any, ...]] = []
    for record in index.records():
        practitioner = record.practitioner
        idnps = practitioner_idnps(practitioner)
        if idnps is None or not idnps.isdigit():
            continue
        name = next((n for n in practitioner.name if n.family), None)
        codes = practitioner_codes(practitioner, aliases)
        profession = codes.profession.code if codes.profession else ""
        specialty = codes.specialty.code if codes.specialty else ""
        ordinal = 0
        for organization in record.organizations:
            for address in organization.address:
                insee = address.insee()
                commune = communes.by_insee(insee) if insee else None
                if commune is None:
                    continue
                rows.append(
                    (
                        int(idnps), ordinal, commune.lat, commune.lon, commune.insee,
                        profession, specialty, False, NO_SLOT, "",
                        (name.family or "") if name else "",
                        " ".join(name.given) if name else "",
                        organization.name or "", address.street() or "",
                        address.postalCode or "", "city",
                    )
                )  # fmt: skip
                ordinal += 1
    if not rows:
        return empty_columns()
    columns = list(zip(*rows, strict=True))
    return validate(
        {
            name: text_column(list(values), SCHEMA[name])
            if SCHEMA[name].startswith("S")
            else np.array(values, dtype=SCHEMA[name])
            for name, values in zip(SCHEMA, columns, strict=True)
        },
        "snapshot",
    )


class PracticeLocations:
    """The columns in grid order, with lookups by IDNPS and a per-row hash for seeded
    random orders."""

    def __init__(self, columns: Columns, *, cell_deg: float = 0.1) -> None:
        self.grid = SphereGrid(columns["lat"], columns["lon"], cell_deg)
        order = self.grid.order
        self.columns: Columns = {name: array[order] for name, array in columns.items()}
        idnps = self.columns["idnps"]
        self._by_idnps = np.argsort(idnps, kind="stable")
        self._sorted_idnps = idnps[self._by_idnps]
        self.row_hash = mix(
            idnps.astype(np.uint64) * np.uint64(256) + self.columns["ordinal"].astype(np.uint64)
        )

    @classmethod
    def restore(cls, grid: SphereGrid, arrays: dict[str, npt.NDArray[Any]]) -> PracticeLocations:
        """Locations built elsewhere (another process, see ``gateway.search.index_files``):
        the :meth:`arrays` of that build, nothing sorted or computed again."""
        locations = cls.__new__(cls)
        locations.grid = grid
        locations.columns = {name: arrays[name] for name in SCHEMA}
        locations._by_idnps = arrays["by_idnps"]
        locations._sorted_idnps = arrays["sorted_idnps"]
        locations.row_hash = arrays["row_hash"]
        return locations

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Every array but the grid's: what :meth:`restore` takes back."""
        derived = {"by_idnps": self._by_idnps, "sorted_idnps": self._sorted_idnps}
        return {**self.columns, **derived, "row_hash": self.row_hash}

    def __len__(self) -> int:
        return len(self.grid)

    def practitioners(self) -> int:
        """Distinct IDNPS: the changes along the sorted column (a Python set of a million
        ints held the GIL for 130-320 ms, stalling the event loop during a reload)."""
        ids = self._sorted_idnps
        return int(np.count_nonzero(ids[1:] != ids[:-1])) + 1 if ids.size else 0

    @property
    def nbytes(self) -> int:
        arrays = [*self.columns.values(), self._by_idnps, self._sorted_idnps, self.row_hash]
        return self.grid.nbytes + sum(int(a.nbytes) for a in arrays)

    def positions_of(self, idnps: int) -> npt.NDArray[np.int64]:
        """Grid positions of every location of one practitioner."""
        lo = int(np.searchsorted(self._sorted_idnps, idnps, side="left"))
        hi = int(np.searchsorted(self._sorted_idnps, idnps, side="right"))
        found: npt.NDArray[np.int64] = self._by_idnps[lo:hi]
        return found

    def text(self, column: str, position: int) -> str:
        value = self.columns[column][position]
        return bytes(value).decode("utf-8", "replace")


def mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser, vectorised (uint64 arithmetic wraps around, as intended)."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    result: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


def load_locations(
    snapshot: Path,
    directory: DirectoryIndex,
    communes: CommuneIndex,
    aliases: CanonicalIndex | None = None,
) -> tuple[PracticeLocations, dict[str, Any]]:
    """The snapshot's locations file (if any) plus its FHIR practitioners not in it."""
    fhir = from_directory(directory, communes, aliases)
    return merge_locations(snapshot / "directory" / LOCATIONS_FILE, fhir)


def merge_locations(path: Path, fhir: Columns) -> tuple[PracticeLocations, dict[str, Any]]:
    """The locations file at ``path`` (if any) plus the ``fhir`` rows of practitioners not
    in it (no snapshot needed: a builder process runs this, see ``index_builder``)."""
    parts: list[Columns] = []
    meta: dict[str, Any] = {}
    if path.exists():
        columns, meta = load_columns(path)
        parts.append(columns)
    if parts and fhir["idnps"].size:
        # Scan the big column for the few FHIR practitioners (np.isin the other way round
        # sorts the million rows: ~0.7 s).
        big = parts[0]["idnps"]
        present = big[np.isin(big, fhir["idnps"])]
        keep = ~np.isin(fhir["idnps"], present)
        fhir = {k: v[keep] for k, v in fhir.items()}
    parts.append(fhir)
    return PracticeLocations(concat(*parts)), meta
