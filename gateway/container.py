"""Builds and holds the long-lived objects (stores, caches, clients, services).

Framework-free so the CLI and the tests build the same graph as ``gateway serve``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import httpx

from gateway.cache import BoundedStore, CachedLoader, CacheStats, Freshness
from gateway.directory.annuaire import AnnuaireClient
from gateway.directory.cards import Locate, Place
from gateway.directory.index import DirectoryIndex
from gateway.directory.practitioners import PractitionerService
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
    annuaire: httpx.AsyncBaseTransport | None = None
    ror: httpx.AsyncBaseTransport | None = None
    geocoder: httpx.AsyncBaseTransport | None = None


@dataclass(slots=True)
class Services:
    settings: Settings
    store: TerminologyStore
    terminology: TerminologyService
    loader: CachedLoader
    smt_upstream: UpstreamClient
    snapshot_report: LoadReport
    practitioners: PractitionerService
    directory_loader: CachedLoader
    annuaire_upstream: UpstreamClient
    started_at: float = field(default_factory=time.time)
    ready: bool = False

    @property
    def upstreams(self) -> list[UpstreamClient]:
        return [self.smt_upstream, self.annuaire_upstream]

    def cache_figures(self) -> dict[str, tuple[CacheStats, int, int]]:
        return {
            name: (loader.stats, len(loader.store), loader.store.bytes)
            for name, loader in (("terminology", self.loader), ("directory", self.directory_loader))
        }

    async def aclose(self) -> None:
        await self.loader.drain()
        await self.directory_loader.drain()
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
    practitioners, directory_loader, annuaire_upstream = _build_practitioners(
        settings, transports, terminology, unplaced
    )
    return Services(
        settings=settings,
        store=store,
        terminology=terminology,
        loader=loader,
        smt_upstream=smt_upstream,
        snapshot_report=report,
        practitioners=practitioners,
        directory_loader=directory_loader,
        annuaire_upstream=annuaire_upstream,
        ready=report.resources > 0,
    )


async def unplaced(
    street: str | None, insee: str | None, postcode: str | None, city: str | None
) -> Place | None:
    """A ``Locate`` that places nothing (no geography configured)."""
    return None


def _build_practitioners(
    settings: Settings, transports: Transports, terminology: TerminologyService, locate: Locate
) -> tuple[PractitionerService, CachedLoader, UpstreamClient]:
    annuaire = settings.annuaire
    # The API refuses anonymous calls: without a key the directory is served offline.
    upstream_settings = (
        annuaire.upstream if annuaire.api_key else replace(annuaire.upstream, url="")
    )
    upstream = UpstreamClient(
        upstream_settings,
        transport=transports.annuaire,
        headers={"ESANTE-API-KEY": annuaire.api_key},
    )
    cache = settings.cache
    loader = CachedLoader(BoundedStore(cache.max_entries, cache.max_bytes, CacheStats()))
    freshness = Freshness(
        settings.directory_cache.card_soft_ttl_s,
        settings.directory_cache.card_hard_ttl_s,
        cache.negative_ttl_s,
        cache.stale_if_error_s,
    )
    service = PractitionerService(
        DirectoryIndex.load(settings.snapshot.directory),
        terminology,
        locate,
        client=AnnuaireClient(upstream, page_size=annuaire.page_size),
        loader=loader,
        freshness=freshness,
    )
    return service, loader, upstream
