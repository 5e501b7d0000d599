"""What a source's state remembers between refreshes: SOS sites seen, and for how long."""

from __future__ import annotations

from gateway.availability.sites import SosSite
from gateway.availability.state import FORGET_SITE_S, known_sites

RENNES, LORIENT = "334173748400020", "392080466300010"
DAY = 86_400.0


def site(key: str, association: str = RENNES, seen_at: float = 0.0) -> SosSite:
    return SosSite(key, association, None, f"Site {key}", None, None, seen_at=seen_at)


def test_sites_seen_now_are_stamped_and_earlier_ones_kept_for_a_while() -> None:
    now = 100 * DAY
    earlier = (site("closed-lately", seen_at=now - DAY), site("gone", seen_at=now - 8 * DAY))
    seen = {(RENNES, "open"): site("open")}
    kept = {s.key: s for s in known_sites(earlier, seen, [RENNES], now)}
    assert set(kept) == {"open", "closed-lately"}  # "gone" was last seen over a week ago
    assert kept["open"].seen_at == now
    assert kept["closed-lately"].seen_at == now - DAY
    assert FORGET_SITE_S == 7 * DAY


def test_the_sites_of_an_association_no_longer_read_are_dropped() -> None:
    earlier = (site("a", seen_at=10.0), site("b", association=LORIENT, seen_at=10.0))
    assert [s.key for s in known_sites(earlier, {}, [RENNES], 20.0)] == ["a"]
