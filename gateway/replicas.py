"""Replicas that cannot stay divergent: announced versions, retried, and reconciled.

Something a replica changes for everyone (the steward tables' version, a cache purge, and
later the locations index or the availability) is a *topic* with a version. Announcing
it writes the version under ``<prefix>:state:<topic>`` in Valkey and publishes it, so the
others apply it at once. Pub/sub alone is fire-and-forget: a message sent while Valkey is
down, or while a replica is disconnected, is lost. So:

* an announcement that fails stays pending and is retried every ``interval_s`` until it
  is written (logged as a warning, counted, and ``/health/ready`` says ``degraded``);
* every replica also reads each topic's version every ``interval_s`` and catches up when
  its own differs, whether or not it heard the message;
* the tier's real state (``on`` / ``degraded``) comes from the last operations, not from
  whether a URL is configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.cache.shared import SharedCache

log = logging.getLogger("gateway.replicas")


class Replicated(Protocol):
    """A topic whose version every replica must converge to."""

    @property
    def topic(self) -> str: ...

    def local_version(self) -> str | None:
        """What this replica has applied (None: nothing yet, adopt the shared one)."""
        ...

    async def catch_up(self, version: str) -> None:
        """Apply ``version`` here (reload, purge…), without announcing it again."""
        ...


@dataclass(slots=True)
class ReplicaStats:
    announced: int = 0
    announce_failures: int = 0
    caught_up: int = 0
    catch_up_failures: int = 0


class ReplicaSync:
    def __init__(self, shared: SharedCache, *, interval_s: float = 5.0) -> None:
        self.shared = shared
        self.interval_s = interval_s
        self.stats = ReplicaStats()
        self._topics: dict[str, Replicated] = {}
        self._pending: dict[str, str] = {}
        self._lock = asyncio.Lock()

    def register(self, topics: Sequence[Replicated]) -> None:
        for topic in topics:
            self._topics[topic.topic] = topic

    @property
    def pending(self) -> dict[str, str]:
        return dict(self._pending)

    @property
    def state(self) -> str:
        return "on" if self.shared.healthy and not self._pending else "degraded"

    async def announce(self, topic: str, version: str) -> bool:
        """Tell every replica that ``topic`` is now at ``version``; False: kept pending and
        retried until Valkey takes it."""
        self._pending[topic] = version
        return await self._flush(topic)

    async def _flush(self, topic: str) -> bool:
        version = self._pending.get(topic)
        if version is None:
            return True
        if await self.shared.announce(topic, version):
            # A newer announcement may have replaced it while this one was being written.
            if self._pending.get(topic) == version:
                del self._pending[topic]
            self.stats.announced += 1
            return True
        self.stats.announce_failures += 1
        log.warning(
            "could not tell the other replicas; retrying",
            extra={"topic": topic, "version": version, "retry_s": self.interval_s},
        )
        return False

    async def reconcile(self, topic: str | None = None) -> None:
        """Retry pending announcements, then catch up with every topic (or one)."""
        async with self._lock:
            for name in list(self._pending):
                await self._flush(name)
            for name, replicated in self._topics.items():
                if topic is not None and name != topic:
                    continue
                if name in self._pending:
                    continue  # ours is newer than what Valkey holds
                remote = await self.shared.read_state(name)
                if remote is None or remote == replicated.local_version():
                    continue
                try:
                    await replicated.catch_up(remote)
                    self.stats.caught_up += 1
                except Exception:  # one topic failing must not stop the others
                    self.stats.catch_up_failures += 1
                    log.exception(
                        "catching up with the other replicas failed", extra={"topic": name}
                    )

    async def run(self) -> None:
        """Reconcile every ``interval_s``, forever; cancel the task to stop."""
        while True:
            await self.reconcile()
            await asyncio.sleep(self.interval_s)

    async def on_event(self, topic: str) -> None:
        """Pub/sub fast path: another replica announced ``topic``."""
        await self.reconcile(topic)

    def background(self) -> list[Callable[[], Awaitable[None]]]:
        return [self.run, lambda: self.shared.listen(self.on_event)]
