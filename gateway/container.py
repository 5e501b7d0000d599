"""Builds and holds the long-lived objects (stores, caches, clients, services).

Framework-free so the CLI and the tests build the same graph as ``gateway serve``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import httpx

from gateway.cache import BoundedStore, CachedLoader, CacheStats, Freshness
from gateway.settings import Settings
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.service import TerminologyService
from gateway.terminology.smt import SmtClient
from gateway.terminology.store import LoadReport, TerminologyStore
from gateway.upstream import UpstreamClient

log = logging.getLogger("gateway")


@dataclass(slots=True)
class Transports:
    """Injectable httpx transports per upstream (tests pass respx / MockTransport)."""

    smt: httpx.AsyncBaseTransport | None = None


@dataclass(slots=True)
class Services:
    settings: Settings
    store: TerminologyStore
    terminology: TerminologyService
    loader: CachedLoader
    smt_upstream: UpstreamClient
    snapshot_report: LoadReport
    started_at: float = field(default_factory=time.time)
    ready: bool = False

    @property
    def upstreams(self) -> list[UpstreamClient]:
        return [self.smt_upstream]

    def cache_figures(self) -> dict[str, tuple[CacheStats, int, int]]:
        store = self.loader.store
        return {"terminology": (self.loader.stats, len(store), store.bytes)}

    async def aclose(self) -> None:
        await self.loader.drain()
        for client in self.upstreams:
            await client.aclose()


def build_services(settings: Settings, transports: Transports | None = None) -> Services:
    transports = transports or Transports()
    store = TerminologyStore()
    started = time.perf_counter()
    report = store.load_directory(settings.snapshot.directory)
    log.info(
        "snapshot loaded",
        extra={
            "directory": str(settings.snapshot.directory),
            "files": report.files,
            "resources": report.resources,
            "errors": len(report.errors),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    cache = settings.cache
    loader = CachedLoader(BoundedStore(cache.max_entries, cache.max_bytes, CacheStats()))
    freshness = Freshness(
        cache.terminology_soft_ttl_s,
        cache.terminology_hard_ttl_s,
        cache.negative_ttl_s,
        cache.stale_if_error_s,
    )
    smt_upstream = UpstreamClient(settings.smt, transport=transports.smt)
    resolver = ResourceResolver(
        store, smt=SmtClient(smt_upstream), loader=loader, freshness=freshness
    )
    terminology = TerminologyService(resolver)
    terminology.seed_cache()
    return Services(
        settings=settings,
        store=store,
        terminology=terminology,
        loader=loader,
        smt_upstream=smt_upstream,
        snapshot_report=report,
        ready=report.resources > 0,
    )
