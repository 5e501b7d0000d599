"""The component machinery: build order, dependency names, replica reconciliation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

import pytest

from gateway.assembly import Assembly
from gateway.component import Component, Live, Parts, Registry
from gateway.replicas import ReplicaSync
from gateway.settings import Settings


class Clock(Component):
    name = "clock"

    def __init__(self) -> None:
        self.closed = False

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        return cls()

    def provides(self) -> Mapping[str, object]:
        return {"clock": self}

    async def aclose(self) -> None:
        self.closed = True


class Alarm(Component):
    name = "alarm"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        return cls(registry.require(Clock))

    def provides(self) -> Mapping[str, object]:
        return {"alarm": self}

    async def purge(self) -> int:
        return 3


class Copycat(Alarm):
    name = "copycat"


def test_components_are_built_in_order_and_find_the_ones_above() -> None:
    assembly = Assembly.build([Clock, Alarm], Settings())
    assert assembly.get(Alarm).clock is assembly.get(Clock)
    assert set(assembly.provides()) == {"clock", "alarm"}


def test_a_component_registered_before_what_it_needs_is_refused() -> None:
    with pytest.raises(LookupError, match="Clock must be registered before"):
        Assembly.build([Alarm, Clock], Settings())


def test_two_components_providing_one_name_are_refused() -> None:
    assembly = Assembly.build([Clock, Alarm, Copycat], Settings())
    with pytest.raises(LookupError, match="two components provide 'alarm'"):
        assembly.provides()


async def test_purge_and_close_reach_every_component() -> None:
    assembly = Assembly.build([Clock, Alarm], Settings())
    assert await assembly.purge() == 3
    await assembly.aclose()
    assert assembly.get(Clock).closed


def test_a_live_holder_swaps_in_one_assignment() -> None:
    holder = Live("v1")
    assert holder.swap("v2") == "v1"
    assert holder.current == "v2"


class FakeShared:
    """What ReplicaSync needs of the shared tier, with an outage switch."""

    def __init__(self) -> None:
        self.up = True
        self.healthy = True
        self.state: dict[str, str] = {}

    async def announce(self, topic: str, version: str) -> bool:
        self.healthy = self.up
        if self.up:
            self.state[topic] = version
        return self.up

    async def read_state(self, topic: str) -> str | None:
        self.healthy = self.up
        return self.state.get(topic) if self.up else None


class Tables:
    topic = "mappings"

    def __init__(self, version: str) -> None:
        self.version = version
        self.applied: list[str] = []

    def local_version(self) -> str:
        return self.version

    async def catch_up(self, version: str) -> None:
        self.applied.append(version)
        self.version = version


def sync(shared: FakeShared) -> ReplicaSync:
    return ReplicaSync(shared, interval_s=0.01)  # type: ignore[arg-type]


async def test_an_announcement_that_fails_stays_pending_until_valkey_takes_it() -> None:
    shared = FakeShared()
    a, b = sync(shared), sync(shared)
    theirs = Tables("v1")
    b.register([theirs])
    shared.up = False
    assert not await a.announce("mappings", "v2")
    assert (a.pending, a.state, a.stats.announce_failures) == ({"mappings": "v2"}, "degraded", 1)
    await b.reconcile()
    assert theirs.applied == []  # nothing to learn while Valkey is down
    shared.up = True
    await a.reconcile()
    assert (a.pending, a.state) == ({}, "on")
    await b.reconcile()
    await b.reconcile()  # converged: a second round changes nothing
    assert theirs.applied == ["v2"]


async def test_a_replica_with_a_pending_announcement_does_not_go_back() -> None:
    shared = FakeShared()
    shared.state["mappings"] = "v1"
    mine = Tables("v2")
    replica = sync(shared)
    replica.register([mine])
    shared.up = False
    await replica.announce("mappings", "v2")
    shared.up = True
    shared.state["mappings"] = "v1"  # what Valkey held before
    await replica.reconcile()
    assert mine.applied == []
    assert shared.state["mappings"] == "v2"


async def test_a_failing_catch_up_is_counted_and_the_other_topics_still_run() -> None:
    class Broken(Tables):
        topic = "broken"

        async def catch_up(self, version: str) -> None:
            raise RuntimeError("boom")

    shared = FakeShared()
    shared.state |= {"broken": "x", "mappings": "v2"}
    tables = Tables("v1")
    replica = sync(shared)
    replica.register([Broken("w"), tables])
    await replica.reconcile()
    assert tables.applied == ["v2"]
    assert replica.stats.catch_up_failures == 1
