"""In-memory spatial grid over points on the sphere: strict-circle radius queries.

Hand-written over numpy: the queries are one shape only (a circle of ≤ a few hundred km)
and the data is static between snapshot loads, so a fixed lat/lon grid with points sorted
by cell beats general-purpose indexes here (an R-tree or KD-tree library answers with
Python lists per hit; ~70,000 hits per query make that the bottleneck). Each grid row
of the query's bounding box is one contiguous slice of the sorted arrays, filtered by a
dot product of unit vectors against ``cos(radius / R)``: exact on the sphere, three
multiply-adds per candidate, no trigonometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.geo.earth import EARTH_RADIUS_KM

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0


def unit_vectors(lat: F64, lon: F64) -> tuple[F64, F64, F64]:
    phi, lam = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)


def chord_to_km(dot: F64) -> F64:
    """Great-circle distance (km) from the dot product of two unit vectors (precise near 0,
    unlike ``arccos``)."""
    chord = np.sqrt(np.clip(2.0 - 2.0 * dot, 0.0, 4.0))
    result: F64 = 2.0 * EARTH_RADIUS_KM * np.arcsin(chord / 2.0)
    return result


@dataclass(frozen=True, slots=True)
class Hits:
    #: Positions (in the grid's sorted order) of the points inside the circle.
    positions: I64
    #: Their dot products with the centre (1.0 = the centre itself; larger = nearer).
    dots: F64


class SphereGrid:
    """Points sorted by ``cell_deg`` × ``cell_deg`` cell; ``order`` maps back to input rows.

    Build with :meth:`build`, then reorder every per-point array with ``order`` so that
    position ``i`` of the grid is row ``order[i]`` of the input.
    """

    def __init__(self, lat: F64, lon: F64, cell_deg: float = 0.1) -> None:
        if lat.shape != lon.shape or lat.ndim != 1:
            raise ValueError("lat and lon must be 1-D arrays of the same length")
        self.cell_deg = cell_deg
        n = lat.shape[0]
        self.lat0 = float(lat.min()) if n else 0.0
        self.lon0 = float(lon.min()) if n else 0.0
        self.rows = int((float(lat.max()) - self.lat0) // cell_deg) + 1 if n else 1
        self.cols = int((float(lon.max()) - self.lon0) // cell_deg) + 1 if n else 1
        cells = self._cells(lat, lon)
        self.order: I64 = np.argsort(cells, kind="stable").astype(np.int64)
        counts = np.bincount(cells, minlength=self.rows * self.cols)
        self.cell_start: I64 = np.zeros(self.rows * self.cols + 1, dtype=np.int64)
        np.cumsum(counts, out=self.cell_start[1:])
        sorted_lat, sorted_lon = lat[self.order], lon[self.order]
        self.x, self.y, self.z = unit_vectors(sorted_lat, sorted_lon)

    def scalars(self) -> dict[str, float | int]:
        """What :meth:`restore` needs besides the :meth:`arrays`."""
        return {"cell_deg": self.cell_deg, "lat0": self.lat0, "lon0": self.lon0,
                "rows": self.rows, "cols": self.cols}  # fmt: skip

    def arrays(self) -> dict[str, npt.NDArray[np.int64] | F64]:
        return {"order": self.order, "cell_start": self.cell_start, "x": self.x, "y": self.y,
                "z": self.z}  # fmt: skip

    @classmethod
    def restore(
        cls, scalars: dict[str, float | int], arrays: dict[str, npt.NDArray[Any]]
    ) -> SphereGrid:
        """A grid built elsewhere (another process), from its :meth:`scalars` and
        :meth:`arrays`, without sorting anything again."""
        grid = cls.__new__(cls)
        grid.cell_deg = float(scalars["cell_deg"])
        grid.lat0, grid.lon0 = float(scalars["lat0"]), float(scalars["lon0"])
        grid.rows, grid.cols = int(scalars["rows"]), int(scalars["cols"])
        grid.order, grid.cell_start = arrays["order"], arrays["cell_start"]
        grid.x, grid.y, grid.z = arrays["x"], arrays["y"], arrays["z"]
        return grid

    def _cells(self, lat: F64, lon: F64) -> I64:
        row = ((lat - self.lat0) // self.cell_deg).astype(np.int64)
        col = ((lon - self.lon0) // self.cell_deg).astype(np.int64)
        cells: I64 = row * self.cols + col
        return cells

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.order.nbytes + self.cell_start.nbytes + 3 * self.x.nbytes)

    def within(self, lat: float, lon: float, radius_km: float) -> Hits:
        """Every point whose great-circle distance to (lat, lon) is ``<= radius_km``."""
        cx, cy, cz = (float(v[0]) for v in unit_vectors(np.array([lat]), np.array([lon])))
        min_dot = math.cos(min(radius_km / EARTH_RADIUS_KM, math.pi))
        dlat = radius_km / KM_PER_DEGREE
        # Longitude span of the circle: widest at the latitude nearest a pole.
        far_lat = min(89.9, abs(lat) + dlat)
        dlon = min(180.0, dlat / max(math.cos(math.radians(far_lat)), 1e-6))
        r0 = max(0, int((lat - dlat - self.lat0) // self.cell_deg))
        r1 = min(self.rows - 1, int((lat + dlat - self.lat0) // self.cell_deg))
        c0 = max(0, int((lon - dlon - self.lon0) // self.cell_deg))
        c1 = min(self.cols - 1, int((lon + dlon - self.lon0) // self.cell_deg))
        positions: list[I64] = []
        dots: list[F64] = []
        if len(self) == 0 or r0 > r1 or c0 > c1:  # the circle misses the points' extent
            return Hits(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        for row in range(r0, r1 + 1):
            start = int(self.cell_start[row * self.cols + c0])
            stop = int(self.cell_start[row * self.cols + c1 + 1])
            if start == stop:
                continue
            dot = self.x[start:stop] * cx
            dot += self.y[start:stop] * cy
            dot += self.z[start:stop] * cz
            inside = np.flatnonzero(dot >= min_dot)
            positions.append(inside + start)
            dots.append(dot[inside])
        if not positions:
            return Hits(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        return Hits(np.concatenate(positions), np.concatenate(dots))
