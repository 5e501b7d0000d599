"""``POST /v1/rank``'s ranking (the engine over the caller's candidates) orders exactly as
the reference rules in ``ranking.rank`` do, whatever the candidates look like."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.geo.earth import haversine_km
from gateway.search.candidates import Candidate, RankQuery, card_identity, rank_page
from gateway.search.engine import seed_hash
from gateway.search.locations import mix
from gateway.search.ranking import rank, seeded_key

DOC = "810001234567"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PARIS = (48.8566, 2.3522)
#: Near the antimeridian (Wallis-et-Futuna): a circle there spans both signs of longitude.
FUTUNA = (-14.28, 179.9)

slots = st.one_of(
    st.none(),
    st.builds(
        lambda hours, micros, offset: (T0 + timedelta(hours=hours, microseconds=micros)).astimezone(
            timezone(timedelta(hours=offset))
        ),
        st.integers(0, 48),
        st.sampled_from([0, 1, 500_000]),
        st.sampled_from([0, 1, -10]),
    ),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[RankQuery, list[Candidate]]:
    center = draw(st.sampled_from([PARIS, FUTUNA]))
    query = RankQuery(
        center_lat=center[0],
        center_lon=center[1],
        location_type=draw(st.sampled_from(["address", "city", "county", "postcode"])),
        radius_km=draw(st.floats(0.5, 40.0)),
        seed=draw(st.text(max_size=8)),
        insee=draw(st.sampled_from([None, "75108"])),
        preferred_doctor=draw(st.sampled_from([DOC, None])),
    )
    out = []
    for _ in range(draw(st.integers(0, 30))):
        located = draw(st.booleans()) or draw(st.booleans())
        lon = center[1] + draw(st.floats(-0.3, 0.3))
        out.append(
            Candidate(
                # A few duplicates, and ids shaped like /v1/search's.
                id=draw(st.sampled_from(["a", "b", "829000000001-0", "829000000001-1"]))
                if draw(st.integers(0, 5)) == 0
                else f"c{len(out)}",
                idnps=draw(st.sampled_from([DOC, "0" + DOC, "800000000001", None])),
                lat=center[0] + draw(st.floats(-0.3, 0.3)) if located else None,
                lon=(lon + 180.0) % 360.0 - 180.0 if located else None,
                sas_participant=draw(st.booleans()),
                first_slot=draw(slots),
                cpts_finess=draw(st.sampled_from([None, "920000001", "F" * 40])),
            )
        )
    return query, out


def _distinct_distances(query: RankQuery, candidates: list[Candidate]) -> bool:
    """Float rounding may order two points less than a metre apart in distance differently
    (haversine here, dot products in the engine), or put a point at the radius on either
    side of it: such inputs are left out (points at one place are fine: a tie both ways)."""
    points = {(c.lat, c.lon) for c in candidates if c.lat is not None and c.lon is not None}
    distances = sorted(
        haversine_km(query.center_lat, query.center_lon, lat, lon)
        for lat, lon in points
        if lat is not None and lon is not None
    )
    gaps = [b - a for a, b in itertools.pairwise(distances)]
    return all(g > 1e-3 for g in gaps) and all(abs(d - query.radius_km) > 1e-3 for d in distances)


@settings(max_examples=200, deadline=None)
@given(case=cases())
def test_rank_page_orders_as_the_reference_rules(case: tuple[RankQuery, list[Candidate]]) -> None:
    query, candidates = case
    assume(_distinct_distances(query, candidates))
    expected = rank(query, candidates)
    got = rank_page(query, candidates, page=1, page_size=10_000)
    assert got.total == len(expected)
    assert [
        (c.id, c.kind, c.preferred_doctor, c.sas_participant, c.first_slot) for c in got.cards
    ] == [(c.id, c.kind, c.preferred_doctor, c.sas_participant, c.first_slot) for c in expected]
    for mine, theirs in zip(got.cards, expected, strict=True):
        if theirs.distance_km is None:
            assert mine.distance_km is None
        else:
            assert mine.distance_km == pytest.approx(theirs.distance_km, abs=1e-3)
    # Pages are slices of the whole ranking.
    pages = [rank_page(query, candidates, page=p, page_size=4) for p in range(1, 10)]
    assert [c for p in pages for c in p.cards] == got.cards[:36]


def test_practitioner_cards_show_the_callers_own_slot() -> None:
    slot = datetime(2026, 11, 23, 14, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=1)))
    page = rank_page(
        RankQuery(*PARIS, "address", 5.0, "s", insee="75108"),
        [
            Candidate("a", lat=PARIS[0], lon=PARIS[1], first_slot=slot),
            Candidate("b", lat=PARIS[0], lon=PARIS[1], first_slot=slot, cpts_finess="F"),
        ],
    )
    assert [(c.id, c.first_slot) for c in page.cards] == [("a", slot), ("F", slot)]
    assert all(c.first_slot.utcoffset() == timedelta(hours=1) for c in page.cards if c.first_slot)


def test_preferred_doctor_cards_by_exact_slot_and_cpts_by_earliest_member() -> None:
    later, earlier = T0 + timedelta(microseconds=900), T0 + timedelta(microseconds=100)
    page = rank_page(
        RankQuery(*PARIS, "city", 5.0, "s", insee="75108", preferred_doctor=DOC),
        [
            Candidate("doc-later", idnps=DOC, first_slot=later),
            Candidate("doc-earlier", idnps=DOC, first_slot=earlier),
            Candidate("m1", lat=PARIS[0], lon=PARIS[1], first_slot=later, cpts_finess="F"),
            Candidate("m2", lat=PARIS[0], lon=PARIS[1], first_slot=earlier, cpts_finess="F"),
        ],
    )
    assert [(c.id, c.first_slot) for c in page.cards] == [
        ("doc-earlier", earlier),
        ("doc-later", later),
        ("F", earlier),
    ]
    assert [c.distance_km for c in page.cards] == [None, None, None]


@pytest.mark.parametrize("center_lon", [-179.95, 179.95])
def test_a_circle_across_the_antimeridian_is_found_whole(center_lon: float) -> None:
    other_side = -center_lon  # 0.1° of longitude away: ~10.8 km at this latitude
    page = rank_page(
        RankQuery(FUTUNA[0], center_lon, "address", 20.0, "s"),
        [Candidate("across", lat=FUTUNA[0], lon=other_side)],
    )
    assert [c.id for c in page.cards] == ["across"]
    assert page.cards[0].distance_km == pytest.approx(10.77, abs=0.01)


def test_a_search_card_id_hashes_as_the_search_index_does() -> None:
    assert card_identity("829000000001-3") == 829_000_000_001 * 256 + 3
    assert card_identity("c1") != card_identity("c2")
    assert card_identity("829000000001-300") != 829_000_000_001 * 256 + 300 % 256
    # The oracle's plain-Python mixing agrees with the engine's numpy one.
    for card in ("829000000001-3", "x", ""):
        for seed in ("", "abc", "é"):
            engine = mix(mix(np.array([card_identity(card)], dtype=np.uint64)) ^ seed_hash(seed))
            assert seeded_key(card, seed) == int(engine[0]) >> 3


def test_no_production_route_imports_the_oracle() -> None:
    code = (
        "import sys, gateway.app, gateway.cli\n"
        "assert 'gateway.search.engine' in sys.modules\n"
        "assert 'gateway.search.ranking' not in sys.modules, 'oracle imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
