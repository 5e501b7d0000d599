"""The sphere grid finds exactly the points a brute-force haversine scan finds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.geo.earth import haversine_km
from gateway.geo.spatial import SphereGrid, chord_to_km

RNG = np.random.default_rng(42)
LAT = np.concatenate([RNG.uniform(41.0, 51.5, 20_000), RNG.uniform(-21.4, -20.8, 500)])
LON = np.concatenate([RNG.uniform(-5.5, 9.6, 20_000), RNG.uniform(55.2, 55.9, 500)])
GRID = SphereGrid(LAT, LON, 0.1)


def brute(lat: float, lon: float, radius: float) -> set[int]:
    return {i for i in range(LAT.size) if haversine_km(lat, lon, LAT[i], LON[i]) <= radius}


@settings(max_examples=40, deadline=None)
@given(
    lat=st.floats(40.5, 52.0),
    lon=st.floats(-6.0, 10.0),
    radius=st.floats(0.5, 120.0),
)
def test_within_matches_a_brute_force_scan(lat: float, lon: float, radius: float) -> None:
    hits = GRID.within(lat, lon, radius)
    found = {int(GRID.order[p]) for p in hits.positions}
    expected = brute(lat, lon, radius)
    # Points within a micrometre of the circle may fall either way (rounding).
    undecided = {
        i for i in found ^ expected if abs(haversine_km(lat, lon, LAT[i], LON[i]) - radius) < 1e-6
    }
    assert found ^ expected == undecided


def test_distances_agree_with_haversine() -> None:
    hits = GRID.within(48.85, 2.35, 60.0)
    assert hits.positions.size > 50
    distances = chord_to_km(hits.dots)
    for position, distance in zip(hits.positions[:200], distances[:200], strict=False):
        row = int(GRID.order[position])
        assert distance == pytest.approx(haversine_km(48.85, 2.35, LAT[row], LON[row]), abs=1e-6)


def test_a_centre_far_from_every_point_finds_nothing() -> None:
    assert GRID.within(-45.0, 170.0, 50.0).positions.size == 0


def test_overseas_points_are_found_in_their_own_cell_range() -> None:
    found = {int(GRID.order[p]) for p in GRID.within(-21.1, 55.5, 40.0).positions}
    assert found == brute(-21.1, 55.5, 40.0)
    assert found


def test_an_empty_grid_answers_empty() -> None:
    empty = SphereGrid(np.empty(0), np.empty(0))
    assert len(empty) == 0
    assert empty.within(48.0, 2.0, 10.0).positions.size == 0


@pytest.mark.parametrize(("lat", "lon"), [(51.0, 179.0), (46.0, 40.0), (0.0, -170.0)])
def test_a_single_point_grid_answers_outside_its_extent(lat: float, lon: float) -> None:
    grid = SphereGrid(np.array([46.0]), np.array([2.0]))
    assert grid.within(lat, lon, 5.0).positions.size == 0
    assert grid.within(46.0, 2.0, 1.0).positions.tolist() == [0]
