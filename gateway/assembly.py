"""Builds the registered components in order and speaks for all of them at once.

Framework-free: the CLI, the benches and the tests build the same graph as
``gateway serve``. ``gateway.app`` adds the HTTP side (controllers, guards, middleware).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from typing import Any, TypeVar

from gateway.cache.shared import SharedCache
from gateway.component import (
    CacheFigures,
    Component,
    Gauge,
    LoadedSnapshot,
    Parts,
    Registry,
    Transports,
)
from gateway.replicas import ReplicaSync
from gateway.settings import Settings
from gateway.snapshot import SnapshotLoader, read_snapshot
from gateway.upstream import UpstreamClient

log = logging.getLogger("gateway")
C = TypeVar("C", bound=Component)


def shared_tier(settings: Settings) -> SharedCache | None:
    config = settings.shared_cache
    if not config.redis_url:
        return None
    log.info("shared cache tier enabled", extra={"prefix": config.prefix})
    return SharedCache(config.redis_url, prefix=config.prefix, ttl_s=config.ttl_s)


def read_once(kinds: Iterable[type[Component]], settings: Settings) -> LoadedSnapshot:
    """Every component's snapshot loaders, filled by one read of ``GATEWAY_SNAPSHOT_DIR``."""
    loaders: dict[str, SnapshotLoader] = {}
    for kind in kinds:
        loaders.update(kind.snapshot_loaders())
    if not loaders:
        return LoadedSnapshot(loaders, None)
    started = time.perf_counter()
    report = read_snapshot(settings.snapshot.served(), *loaders.values())
    log.info(
        "snapshot loaded",
        extra={
            "directory": str(settings.snapshot.directory),
            "files": report.files,
            "resources": report.count(),
            "errors": len(report.errors),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    if report.files == 0:
        log.warning(
            "GATEWAY_SNAPSHOT_DIR is empty: nothing can be served offline",
            extra={"directory": str(settings.snapshot.directory)},
        )
    return LoadedSnapshot(loaders, report)


class Assembly:
    """The running components (build order) and the shared parts they were built from."""

    def __init__(self, parts: Parts, registry: Registry) -> None:
        self.parts = parts
        self.registry = registry
        self.purges = _Purges(self)

    @classmethod
    def build(
        cls,
        kinds: Iterable[type[Component]],
        settings: Settings,
        transports: Transports | None = None,
    ) -> Assembly:
        shared = shared_tier(settings)
        replicas = (
            None
            if shared is None
            else ReplicaSync(shared, interval_s=settings.shared_cache.reconcile_s)
        )
        kinds = list(kinds)
        parts = Parts(settings, transports or {}, shared, replicas, read_once(kinds, settings))
        registry = Registry()
        for kind in kinds:
            registry.add(kind.build(parts, registry))
        assembly = cls(parts, registry)
        if replicas is not None:
            replicas.register([assembly.purges, *(t for c in registry for t in c.replicated())])
        return assembly

    @property
    def shared(self) -> SharedCache | None:
        return self.parts.shared

    def get(self, kind: type[C]) -> C:
        return self.registry.require(kind)

    def __iter__(self) -> Iterator[Component]:
        return iter(self.registry)

    def provides(self) -> dict[str, object]:
        provided: dict[str, object] = {}
        for component in self:
            for name, value in component.provides().items():
                if name in provided:
                    raise LookupError(f"two components provide {name!r}")
                provided[name] = value
        return provided

    def background(self) -> list[Callable[[], Awaitable[None]]]:
        tasks = [task for component in self for task in component.background()]
        if self.parts.replicas is not None:
            tasks.extend(self.parts.replicas.background())
        return tasks

    @property
    def ready(self) -> bool:
        return all(component.ready for component in self)

    def health(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for component in self:
            merged.update(component.health())
        replicas = self.parts.replicas
        merged["shared_cache"] = "off" if replicas is None else replicas.state
        if replicas is not None:
            merged["replication"] = {
                "pending": replicas.pending,
                **asdict(replicas.stats),
                "purges_applied": self.purges.applied,
            }
        return merged

    def upstreams(self) -> list[UpstreamClient]:
        return [client for component in self for client in component.upstreams()]

    def gauges(self) -> list[Gauge]:
        return [gauge for component in self for gauge in component.gauges()]

    def caches(self) -> Mapping[str, CacheFigures]:
        return {name: f for component in self for name, f in component.caches().items()}

    async def purge(self, *, broadcast: bool = True) -> int:
        """Drop every in-process cache entry (loaded snapshots stay); with a shared tier,
        delete its entries and tell the other replicas to purge theirs."""
        purged = 0
        for component in self:
            purged += await component.purge()
        if broadcast and self.shared is not None and self.parts.replicas is not None:
            purged += await self.shared.purge()
            await self.parts.replicas.announce(self.purges.topic, self.purges.renew())
        return purged

    async def start(self) -> list[asyncio.Task[None]]:
        if self.shared is not None and not await self.shared.ping():
            log.warning("the shared cache tier is unreachable; serving without it meanwhile")
        if self.parts.replicas is not None:
            await self.parts.replicas.reconcile()  # adopt the purge generation in force
            self.purges.started()
        loop = asyncio.get_running_loop()
        return [loop.create_task(_run(task)) for task in self.background()]

    async def aclose(self) -> None:
        for component in reversed(list(self)):
            await component.aclose()
        if self.shared is not None:
            await self.shared.aclose()


class _Purges:
    """The purge topic: each purge is a new random generation; a replica that sees another
    generation than its own purges (one that has none yet adopts it: a start is no purge)."""

    topic = "purge"

    def __init__(self, assembly: Assembly) -> None:
        self._assembly = assembly
        self._generation: str | None = None
        #: Purges made here because another replica asked.
        self.applied = 0

    def renew(self) -> str:
        self._generation = secrets.token_hex(8)
        return self._generation

    def started(self) -> None:
        """From now on every new generation is a purge ("": none was announced yet)."""
        if self._generation is None:
            self._generation = ""

    def local_version(self) -> str | None:
        return self._generation

    async def catch_up(self, version: str) -> None:
        if self._generation is not None:
            await self._assembly.purge(broadcast=False)
            self.applied += 1
        self._generation = version


async def _run(task: Callable[[], Awaitable[None]]) -> None:
    await task()
