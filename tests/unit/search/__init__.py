"""Practice-location tables for the search tests (engine, /v1/rank, /v1/search)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gateway.directory.locations_file import NO_SLOT, validate
from gateway.search.locations import PracticeLocations

PARIS = (48.8566, 2.3522)
T0 = 1_795_000_000
CPTS = ("750000001", "750000002")


def make_locations(n: int, seed: int, spread_deg: float = 0.2) -> PracticeLocations:
    rng = np.random.default_rng(seed)
    practitioners = max(1, n * 3 // 4)
    owner = rng.integers(0, practitioners, n)
    ordinal = np.zeros(n, dtype=np.uint8)
    seen: dict[int, int] = {}
    for i, o in enumerate(owner):
        ordinal[i] = seen.get(int(o), 0)
        seen[int(o)] = ordinal[i] + 1
    columns: dict[str, Any] = {
        "idnps": 829_000_000_000 + owner,
        "ordinal": ordinal,
        "lat": PARIS[0] + rng.uniform(-spread_deg, spread_deg, n),
        "lon": PARIS[1] + rng.uniform(-spread_deg, spread_deg, n),
        "insee": np.full(n, b"75101"),
        "profession": np.where(rng.random(n) < 0.7, b"10", b"40"),
        "specialty": np.where(rng.random(n) < 0.5, b"SM54", b""),
        "participant": rng.random(n) < 0.4,
        "first_slot": np.where(rng.random(n) < 0.4, T0 + rng.integers(0, 10**5, n), NO_SLOT),
        "cpts": np.array(CPTS + ("",) * 4, dtype="S14")[rng.integers(0, 6, n)],
        "family": np.full(n, b"DEMO-X"),
        "given": np.full(n, b"Y"),
    }
    return PracticeLocations(validate(columns, "test"))


def card_id(loc: PracticeLocations, position: int) -> str:
    """The id ``/v1/search`` shows for a location: ``<idnps>-<ordinal>``."""
    return f"{int(loc.columns['idnps'][position])}-{int(loc.columns['ordinal'][position])}"
