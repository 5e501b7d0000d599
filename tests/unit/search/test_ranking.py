"""SAS ranking rules: one example per rule, then properties over random inputs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.geo.earth import haversine_km
from gateway.search.ranking import Candidate, RankedCard, RankQuery, rank

PARIS = (48.8566, 2.3522)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DOC = "810001234567"


def query(**overrides: object) -> RankQuery:
    base: dict[str, object] = {
        "center_lat": PARIS[0],
        "center_lon": PARIS[1],
        "location_type": "address",
        "radius_km": 10.0,
        "seed": "s",
    }
    base.update(overrides)
    return RankQuery(**base)  # type: ignore[arg-type]


def at(km_north: float, **fields: object) -> dict[str, object]:
    """Coordinates ``km_north`` kilometres north of the centre (1° lat ≈ 111.2 km)."""
    return {"lat": PARIS[0] + km_north / 111.195, "lon": PARIS[1], **fields}


def cand(cid: str, **fields: object) -> Candidate:
    return Candidate(id=cid, **fields)  # type: ignore[arg-type]


def ids(cards: list[RankedCard]) -> list[str]:
    return [c.id for c in cards]


# --- geo -------------------------------------------------------------------------------


def test_haversine_known_distance() -> None:
    # Paris (Notre-Dame) → Lyon (Bellecour) ≈ 392 km.
    assert haversine_km(48.8530, 2.3499, 45.7578, 4.8320) == pytest.approx(392, abs=2)
    assert haversine_km(*PARIS, *PARIS) == 0.0


# --- examples, one per rule ------------------------------------------------------------


def test_strict_circle_and_missing_coordinates() -> None:
    cards = rank(
        query(radius_km=5.0),
        [cand("in", **at(4.9)), cand("out", **at(5.1)), cand("nowhere")],
    )
    assert ids(cards) == ["in"]
    assert cards[0].distance_km == pytest.approx(4.9, abs=0.01)


def test_preferred_doctor_first_by_earliest_slot_and_ignores_radius() -> None:
    cards = rank(
        query(preferred_doctor=DOC, radius_km=1.0),
        [
            cand("near", **at(0.1, sas_participant=True, first_slot=T0)),
            cand("doc-noslot", idnps=DOC),  # no coordinates: kept anyway
            cand("doc-far-late", idnps=DOC, **at(300, first_slot=T0 + timedelta(days=2))),
            cand("doc-early", idnps=DOC, **at(50, first_slot=T0)),
        ],
    )
    assert ids(cards) == ["doc-early", "doc-far-late", "doc-noslot", "near"]
    assert [c.preferred_doctor for c in cards] == [True, True, True, False]
    assert cards[2].distance_km is None


def test_participants_first_then_distance_for_an_address() -> None:
    cards = rank(
        query(),
        [
            cand("np-near", **at(1)),
            cand("p-far", **at(8, sas_participant=True)),
            cand("p-near", **at(2, sas_participant=True)),
            cand("np-mid", **at(3)),
        ],
    )
    assert ids(cards) == ["p-near", "p-far", "np-near", "np-mid"]


def test_availability_partition_wins_over_participation() -> None:
    cards = rank(
        query(),
        [
            cand("rest", **at(1)),
            cand("noslot-p", **at(2, sas_participant=True)),
            cand("slot", **at(3, first_slot=T0)),
            cand("slot-p", **at(4, sas_participant=True, first_slot=T0)),
        ],
    )
    assert ids(cards) == ["slot-p", "slot", "noslot-p", "rest"]


def test_city_order_is_seeded_not_by_distance() -> None:
    candidates = [cand(f"c{i}", **at(i * 0.5)) for i in range(12)]
    first = ids(rank(query(location_type="city", seed="abc"), candidates))
    assert first == ids(rank(query(location_type="city", seed="abc"), candidates))
    orders = {tuple(ids(rank(query(location_type="city", seed=s), candidates))) for s in "xyz"}
    assert len(orders) > 1
    assert first != [c.id for c in candidates]  # 1 chance in 12! of a false failure


def test_cpts_replaces_first_member_and_drops_the_others() -> None:
    candidates = [
        cand("a", **at(1, cpts_finess="920000001", first_slot=T0 + timedelta(hours=3))),
        cand("b", **at(2)),
        cand("c", **at(3, cpts_finess="920000001", sas_participant=True, first_slot=T0)),
        cand("d", idnps=DOC, **at(4, cpts_finess="920000001")),
    ]
    cards = rank(query(insee="92036", preferred_doctor=DOC), candidates)
    assert ids(cards) == ["d", "920000001", "b"]
    cpts = cards[1]
    assert cpts.kind == "cpts"
    assert cpts.members == ("c", "a")
    assert cpts.sas_participant is True
    assert cpts.first_slot == T0
    assert cpts.distance_km is None


def test_no_cpts_grouping_without_insee() -> None:
    candidates = [cand("a", **at(1, cpts_finess="F")), cand("b", **at(2, cpts_finess="F"))]
    assert ids(rank(query(), candidates)) == ["a", "b"]


# --- properties ------------------------------------------------------------------------

slots = st.one_of(st.none(), st.integers(0, 14 * 24).map(lambda h: T0 + timedelta(hours=h)))
offsets = st.floats(-0.3, 0.3, allow_nan=False)  # degrees: up to ~33 km from the centre


@st.composite
def candidate_lists(draw: st.DrawFn, *, cpts: bool = False) -> list[Candidate]:
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        located = draw(st.booleans()) or draw(st.booleans())
        out.append(
            Candidate(
                id=f"c{i}",
                idnps=draw(st.sampled_from([DOC, "800000000001", None])),
                lat=PARIS[0] + draw(offsets) if located else None,
                lon=PARIS[1] + draw(offsets) if located else None,
                sas_participant=draw(st.booleans()),
                first_slot=draw(slots),
                cpts_finess=draw(st.sampled_from([None, "F1", "F2"])) if cpts else None,
            )
        )
    return out


queries = st.builds(
    query,
    location_type=st.sampled_from(["address", "city", "county", "postcode"]),
    radius_km=st.floats(0.5, 40.0),
    seed=st.text(max_size=8),
    preferred_doctor=st.sampled_from([DOC, None]),
)


def eligible_ids(q: RankQuery, candidates: list[Candidate]) -> set[str]:
    def keep(c: Candidate) -> bool:
        if q.preferred_doctor is not None and c.idnps == q.preferred_doctor:
            return True
        if c.lat is None or c.lon is None:
            return False
        return haversine_km(q.center_lat, q.center_lon, c.lat, c.lon) <= q.radius_km

    return {c.id for c in candidates if keep(c)}


def group(card: RankedCard) -> int:
    has_slot = card.first_slot is not None
    return [[3, 2], [1, 0]][has_slot][card.sas_participant]


@settings(max_examples=100, deadline=None)
@given(q=queries, candidates=candidate_lists())
def test_preferred_first_radius_and_partition_hold(
    q: RankQuery, candidates: list[Candidate]
) -> None:
    cards = rank(q, candidates)
    flags = [c.preferred_doctor for c in cards]
    assert flags == sorted(flags, reverse=True)  # every preferred card before the others
    preferred = [c for c in cards if c.preferred_doctor]
    rest = [c for c in cards if not c.preferred_doctor]
    by_id = {c.id: c for c in candidates}
    assert all(by_id[c.id].idnps == q.preferred_doctor for c in preferred)
    for card in rest:
        assert card.distance_km is not None
        assert card.distance_km <= q.radius_km
    assert [group(c) for c in rest] == sorted(group(c) for c in rest)
    preferred_slots = [(c.first_slot is None, c.first_slot or T0) for c in preferred]
    assert preferred_slots == sorted(preferred_slots)


@settings(max_examples=100, deadline=None)
@given(q=queries, candidates=candidate_lists(cpts=True), insee=st.sampled_from([None, "75108"]))
def test_ranking_is_a_permutation_of_the_eligible_input(
    q: RankQuery, candidates: list[Candidate], insee: str | None
) -> None:
    q = replace(q, insee=insee)
    cards = rank(q, candidates)
    members = [m for c in cards for m in c.members]
    assert len(members) == len(set(members))
    assert set(members) == eligible_ids(q, candidates)
    if insee is None:
        assert all(c.kind == "practitioner" for c in cards)
    cpts_ids = [c.id for c in cards if c.kind == "cpts"]
    assert len(cpts_ids) == len(set(cpts_ids))


@settings(max_examples=50, deadline=None)
@given(
    seed=st.text(max_size=12),
    n=st.integers(8, 20),
    location_type=st.sampled_from(["city", "county", "postcode"]),
)
def test_same_seed_same_order_and_seeds_differ(seed: str, n: int, location_type: str) -> None:
    # Same participation and availability everywhere, so only the seed decides the order.
    candidates = [cand(f"c{i}", **at(i * 0.1, sas_participant=True)) for i in range(n)]
    q = query(location_type=location_type, seed=seed)
    first = ids(rank(q, candidates))
    assert first == ids(rank(q, candidates))
    assert sorted(first) == sorted(c.id for c in candidates)
    others = {
        tuple(ids(rank(query(location_type=location_type, seed=f"{seed}#{k}"), candidates)))
        for k in range(4)
    }
    others.add(tuple(first))
    assert len(others) > 1  # all five equal: probability < (1/8!)^4
