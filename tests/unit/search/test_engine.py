"""The vectorised engine ranks exactly as the reference rules in ``ranking.rank`` do, for
address searches (distance order) and commune/département/postcode searches (seeded
order) alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.directory.locations_file import NO_SLOT, validate
from gateway.search.engine import LocationType, SearchEngine, SearchQuery
from gateway.search.locations import PracticeLocations
from gateway.search.ranking import Candidate, RankQuery, rank
from tests.unit.search import CPTS, PARIS, card_id, make_locations


def candidates(loc: PracticeLocations) -> list[Candidate]:
    """Every location as a candidate card, in grid order (so input order = position)."""
    c = loc.columns
    out = []
    for p in range(len(loc)):
        slot = int(c["first_slot"][p])
        out.append(
            Candidate(
                id=card_id(loc, p),
                idnps=str(int(c["idnps"][p])),
                lat=float(c["lat"][p]),
                lon=float(c["lon"][p]),
                sas_participant=bool(c["participant"][p]),
                first_slot=None if slot == NO_SLOT else datetime.fromtimestamp(slot, UTC),
                cpts_finess=(c["cpts"][p].decode() or None),
            )
        )
    return out


def engine_cards(
    loc: PracticeLocations, query: SearchQuery
) -> list[tuple[str, bool, datetime | None]]:
    """(id, participant, first slot) per card, as the API shows them."""
    out = []
    for row in SearchEngine(loc).search(query).rows:
        if row.cpts is not None:
            participant, slot = row.cpts.participant, row.cpts.first_slot
        else:
            participant = bool(loc.columns["participant"][row.position])
            slot = int(loc.columns["first_slot"][row.position])
        when = None if slot == NO_SLOT else datetime.fromtimestamp(slot, UTC)
        out.append((row.cpts.finess if row.cpts else card_id(loc, row.position), participant, when))
    return out


def engine_ids(loc: PracticeLocations, query: SearchQuery) -> list[str]:
    page = SearchEngine(loc).search(query)
    return [row.cpts.finess if row.cpts else str(row.position) for row in page.rows]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    radius=st.floats(1.0, 30.0),
    with_cpts=st.booleans(),
    with_doctor=st.booleans(),
    location_type=st.sampled_from(["address", "city", "county", "postcode"]),
    words=st.text(max_size=12),
)
def test_order_matches_the_reference_rules(
    seed: int,
    radius: float,
    with_cpts: bool,
    with_doctor: bool,
    location_type: LocationType,
    words: str,
) -> None:
    loc = make_locations(300, seed)
    doctor = int(loc.columns["idnps"][seed % len(loc)]) if with_doctor else None
    cands = candidates(loc)
    if not with_cpts:
        cands = [replace(c, cpts_finess=None) for c in cands]
    expected = rank(
        RankQuery(
            PARIS[0],
            PARIS[1],
            location_type,
            radius,
            words,
            insee="75101" if with_cpts else None,
            preferred_doctor=str(doctor) if doctor else None,
        ),
        cands,
    )
    got = engine_cards(
        loc,
        SearchQuery(
            PARIS[0],
            PARIS[1],
            location_type,
            radius,
            seed=words,
            cpts=CPTS if with_cpts else (),
            preferred_doctor=doctor,
            page_size=10_000,
        ),
    )
    assert got == [(card.id, card.sas_participant, card.first_slot) for card in expected]
    if location_type != "address" and len(got) > 30:  # the seed, not the distance, decides
        by_distance = rank(RankQuery(PARIS[0], PARIS[1], "address", radius, words), cands)
        assert [card.id for card in expected] != [card.id for card in by_distance]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), words=st.tuples(st.text(max_size=8), st.text(max_size=8)))
def test_seeded_order_is_deterministic_partitioned_and_a_permutation(
    seed: int, words: tuple[str, str]
) -> None:
    loc = make_locations(200, seed)
    base = SearchQuery(PARIS[0], PARIS[1], "city", 15.0, seed=words[0], page_size=10_000)
    first = engine_ids(loc, base)
    assert first == engine_ids(loc, base)
    expected = rank(RankQuery(PARIS[0], PARIS[1], "city", 15.0, "x"), candidates(loc))
    assert sorted(card_id(loc, int(p)) for p in first) == sorted(card.id for card in expected)
    c = loc.columns
    groups = [
        (0 if c["first_slot"][int(i)] != NO_SLOT else 2) + (0 if c["participant"][int(i)] else 1)
        for i in first
    ]
    assert groups == sorted(groups)
    if words[0] != words[1] and len(first) > 8:
        other = SearchQuery(PARIS[0], PARIS[1], "city", 15.0, seed=words[1], page_size=10_000)
        assert engine_ids(loc, other) != first


def test_pages_concatenate_to_the_full_ranking() -> None:
    loc = make_locations(500, 3)
    full = engine_ids(loc, SearchQuery(*PARIS, "address", 20.0, cpts=CPTS, page_size=10_000))
    pages: list[str] = []
    for page in range(1, 100):
        chunk = engine_ids(
            loc, SearchQuery(*PARIS, "address", 20.0, cpts=CPTS, page=page, page_size=7)
        )
        if not chunk:
            break
        pages.extend(chunk)
    assert pages == full
    page = SearchEngine(loc).search(SearchQuery(*PARIS, "address", 20.0, cpts=CPTS))
    assert page.total == len(full)


def test_too_few_results_enlarge_the_radius_once() -> None:
    loc = make_locations(400, 5, spread_deg=0.5)
    engine = SearchEngine(loc)
    small = engine.search(SearchQuery(*PARIS, "address", 0.5, enlargement_km=10.0, min_results=5))
    assert small.enlarged is True
    assert small.radius_km == pytest.approx(10.5)
    assert small.total >= 5
    plain = engine.search(SearchQuery(*PARIS, "address", 0.5, min_results=0))
    assert (plain.enlarged, plain.radius_km) == (False, 0.5)
    enough = engine.search(SearchQuery(*PARIS, "address", 20.0, enlargement_km=10, min_results=5))
    assert enough.enlarged is False


def test_specialty_filter_keeps_only_matching_locations() -> None:
    loc = make_locations(400, 8)
    page = SearchEngine(loc).search(
        SearchQuery(*PARIS, "address", 30.0, specialty=("profession", "40"), page_size=100)
    )
    assert page.rows
    assert all(loc.columns["profession"][r.position] == b"40" for r in page.rows)


def test_preferred_doctor_is_found_outside_the_circle() -> None:
    loc = make_locations(400, 9, spread_deg=1.0)
    far = int(np.argmax(np.abs(loc.columns["lat"] - PARIS[0])))
    doctor = int(loc.columns["idnps"][far])
    page = SearchEngine(loc).search(
        SearchQuery(*PARIS, "address", 1.0, preferred_doctor=doctor, page_size=100)
    )
    head = [r for r in page.rows if r.preferred_doctor]
    assert far in {r.position for r in head}
    assert page.rows[: len(head)] == head
    assert all(loc.columns["idnps"][r.position] != doctor for r in page.rows[len(head) :])


def test_pages_never_repeat_or_skip_cards_tied_on_distance() -> None:
    loc = make_locations(500, 4)
    columns = {k: v.copy() for k, v in loc.columns.items()}
    points = np.arange(500) % 5  # five shared addresses
    columns["lat"] = PARIS[0] + points * 0.001
    columns["lon"] = np.full(500, PARIS[1])
    columns["participant"][:] = False
    columns["first_slot"][:] = NO_SLOT
    tied = PracticeLocations(validate(columns, "test"))
    seen: list[str] = []
    for page in range(1, 30):
        seen += engine_ids(tied, SearchQuery(*PARIS, "address", 5.0, page=page, page_size=20))
    assert len(seen) == 500
    assert len(set(seen)) == 500
    assert seen == engine_ids(tied, SearchQuery(*PARIS, "address", 5.0, page_size=10_000))


def test_a_location_at_the_exact_search_point_ranks_first_in_its_group() -> None:
    loc = make_locations(300, 12)
    for p in range(0, 300, 7):
        lat, lon = float(loc.columns["lat"][p]), float(loc.columns["lon"][p])
        page = SearchEngine(loc).search(SearchQuery(lat, lon, "address", 5.0, page_size=1000))
        group = [r.position for r in page.rows if _group(loc, r.position) == _group(loc, p)]
        assert group[0] == p or loc.columns["lat"][group[0]] == lat


def _group(loc: PracticeLocations, p: int) -> int:
    slot = loc.columns["first_slot"][p] != NO_SLOT
    return (0 if slot else 2) + (0 if loc.columns["participant"][p] else 1)


def test_a_search_outside_the_points_extent_finds_nothing() -> None:
    loc = make_locations(50, 2)
    for lat, lon in ((51.0, 179.0), (-50.0, -179.0), (48.85, 40.0), (89.0, 2.35)):
        page = SearchEngine(loc).search(SearchQuery(lat, lon, "address", 10.0))
        assert (page.total, page.rows) == (0, [])
