"""What the gateway knows of availability at one moment: per source, the slots of its last
good refresh; per practitioner, the subscription and the slots. Immutable: a refresh builds
a new ``Availability`` aside and swaps it in at once (searches never see half a refresh).

Status of a subscribed practitioner, for a regulator:

* ``live``: the source answered at its last refresh;
* ``stale``: the last refresh failed, the slots shown are those of the last good one (at
  most ``GATEWAY_AVAILABILITY_STALE`` seconds old);
* ``unknown``: no good refresh for longer than that (or ever): no slot is shown, which
  does not mean "no slot";
* ``none``: not subscribed (nobody reads this practitioner's agenda).

The same holds for an SOS Médecins association (a source of kind sos): its slots are held
under its identifier ("3" + SIRET), and the consultation sites seen are remembered, so
that a site whose slots are all taken is still shown (with no slot).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import msgspec

from gateway.availability.sites import SosSite
from gateway.availability.slots import ReadSlot
from gateway.availability.subscriptions import Subscription, Subscriptions

#: A site no refresh has seen for this long (a week) is forgotten: closed or renamed.
FORGET_SITE_S = 7 * 86_400.0

Status = Literal["live", "stale", "unknown", "none"]


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    kind: str
    #: Slots of the last good refresh, by practitioner IDNPS, by start.
    slots: dict[str, tuple[ReadSlot, ...]] = field(default_factory=dict)
    last_success: float | None = None
    last_attempt: float | None = None
    error: str | None = None
    calls: int = 0
    duration_s: float = 0.0
    problems: int = 0
    #: sos: every consultation site seen at a good refresh, of the associations still read.
    sites: tuple[SosSite, ...] = ()

    def status(self, now: float, stale_s: float) -> Status:
        if self.last_success is None or now - self.last_success > stale_s:
            return "unknown"
        return "stale" if self.error is not None else "live"

    @property
    def slot_count(self) -> int:
        return sum(len(s) for s in self.slots.values())

    def failed(self, error: str, at: float, calls: int, duration_s: float) -> SourceState:
        """The last good slots are kept; only the error and the attempt change."""
        return replace(self, error=error, last_attempt=at, calls=calls, duration_s=duration_s)


@dataclass(frozen=True, slots=True)
class Availability:
    subscriptions: Subscriptions
    sources: dict[str, SourceState]
    stale_s: float
    #: Bumped at every swap (tables built from it are cached under it).
    version: int = 0

    def subscription(self, idnps: str) -> Subscription | None:
        return self.subscriptions.items.get(idnps)

    def status(self, idnps: str, now: float) -> Status:
        sub = self.subscriptions.items.get(idnps)
        if sub is None:
            return "none"
        source = self.sources.get(sub.source)
        return source.status(now, self.stale_s) if source else "unknown"

    def slots(self, idnps: str, now: float) -> tuple[ReadSlot, ...]:
        """Slots to show (none when ``unknown``), not yet started."""
        sub = self.subscriptions.items.get(idnps)
        source = self.sources.get(sub.source) if sub else None
        if source is None or source.status(now, self.stale_s) == "unknown":
            return ()
        return tuple(s for s in source.slots.get(idnps, ()) if s.slot.start > now)

    def association_status(self, identifier: str, now: float) -> Status:
        """As ``status``, for an SOS Médecins association ("3" + SIRET)."""
        found = self.subscriptions.associations.get(identifier)
        if found is None:
            return "none"
        source = self.sources.get(found.source)
        return source.status(now, self.stale_s) if source else "unknown"

    def with_source(self, state: SourceState) -> Availability:
        return replace(self, sources={**self.sources, state.name: state}, version=self.version + 1)

    def with_subscriptions(self, subscriptions: Subscriptions) -> Availability:
        return replace(self, subscriptions=subscriptions, version=self.version + 1)


def known_sites(
    previous: tuple[SosSite, ...],
    seen: Mapping[tuple[str, str], SosSite],
    owners: Collection[str],
    now: float,
) -> tuple[SosSite, ...]:
    """The sites seen now, and those seen before of associations still read (as last seen)
    for ``FORGET_SITE_S``: a site the editor closed or renamed is not listed for ever."""
    asked = set(owners)
    merged = {
        (s.association, s.key): s
        for s in previous
        if s.association in asked and now - s.seen_at <= FORGET_SITE_S
    }
    merged.update({key: msgspec.structs.replace(s, seen_at=now) for key, s in seen.items()})
    return tuple(merged.values())
