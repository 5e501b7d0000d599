"""Builds and holds the long-lived objects (stores, caches, clients, services).

Framework-free so the CLI and the tests build the same graph as ``gateway serve``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace

import httpx

from gateway.cache import BoundedStore, CachedLoader, CacheStats, Freshness
from gateway.cache.shared import SharedCache
from gateway.directory.annuaire import AnnuaireClient
from gateway.directory.cards import Locate, Place
from gateway.directory.cpts import CptsIndex, CptsSnapshot
from gateway.directory.cpts_source import communes_of
from gateway.directory.index import DirectoryIndex
from gateway.directory.practitioners import PractitionerService
from gateway.directory.ror import RorClient
from gateway.errors import GatewayError, MappingsRejected
from gateway.geo.communes import CommuneIndex
from gateway.geo.service import GeoService, build_geo_service
from gateway.mappings.codes import CodeChecker
from gateway.mappings.csvfile import MappingError
from gateway.mappings.tables import ActiveMappings, Mappings, load_mappings
from gateway.search.contextual import ContextualSearch
from gateway.search.links import LinkBuilder
from gateway.search.locations import load_locations
from gateway.search.service import SearchService
from gateway.settings import Settings
from gateway.snapshot import SnapshotReport, read_snapshot
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.service import TerminologyService
from gateway.terminology.smt import SmtClient
from gateway.terminology.store import TerminologyStore
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
    snapshot_report: SnapshotReport
    practitioners: PractitionerService
    directory_loader: CachedLoader
    annuaire_upstream: UpstreamClient
    geo: GeoService
    #: The index at start (from the snapshot); the app state holds the current one.
    cpts: CptsIndex
    mappings: ActiveMappings
    contextual: ContextualSearch
    links: LinkBuilder
    search: SearchService
    ror: RorClient | None = None
    shared: SharedCache | None = None
    ready: bool = False
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def upstreams(self) -> list[UpstreamClient]:
        ror = [self.ror.upstream] if self.ror is not None else []
        return [self.smt_upstream, self.annuaire_upstream, self.geo.upstream, *ror]

    def cache_figures(self) -> dict[str, tuple[CacheStats, int, int]]:
        return {
            name: (loader.stats, len(loader.store), loader.store.bytes)
            for name, loader in (("terminology", self.loader), ("directory", self.directory_loader))
        }

    async def reload_mappings(self, *, broadcast: bool = True) -> tuple[Mappings, Mappings]:
        """Re-read and validate every table, then swap them in at once: (previous, new).

        Raises ``MappingsRejected`` (the tables in force stay) when any file is invalid."""
        async with self._reload_lock:
            try:
                loaded = await asyncio.to_thread(
                    steward_tables, self.settings, self.geo.communes, self.store
                )
            except MappingError as exc:
                problems = str(exc).splitlines()
                raise MappingsRejected(
                    f"{len(problems)} problem(s) in the mappings; the version in force "
                    f"({self.mappings.current.version}) stays active",
                    details={"problems": problems},
                ) from None
            previous = self.mappings.swap(loaded)
        if broadcast and self.shared is not None:
            await self.shared.publish("mappings")
        return previous, loaded

    async def purge_caches(self, *, broadcast: bool = True) -> int:
        """Drop every in-process cache entry (the snapshot stays loaded); with a shared
        tier, delete its entries and tell the other replicas to purge theirs."""
        purged = self.loader.store.clear() + self.directory_loader.store.clear()
        self.terminology.seed_cache()
        if broadcast and self.shared is not None:
            purged += await self.shared.purge()
            await self.shared.publish("purge")
        return purged

    async def on_shared_event(self, event: str) -> None:
        """Another replica reloaded its mappings or purged the caches: do the same here."""
        if event == "purge":
            await self.purge_caches(broadcast=False)
        elif event == "mappings":
            try:
                await self.reload_mappings(broadcast=False)
            except MappingsRejected as exc:
                log.warning(
                    "mappings reload asked by another replica was rejected here",
                    extra={"problems": len(exc.details.get("problems", []))},
                )

    async def aclose(self) -> None:
        await self.loader.drain()
        await self.directory_loader.drain()
        await self.geo.aclose()
        if self.ror is not None:
            await self.ror.aclose()
        for client in (self.smt_upstream, self.annuaire_upstream):
            await client.aclose()
        if self.shared is not None:
            await self.shared.aclose()


def build_services(settings: Settings, transports: Transports | None = None) -> Services:
    transports = transports or Transports()
    store, directory, cpts_snapshot = TerminologyStore(), DirectoryIndex(), CptsSnapshot()
    started = time.perf_counter()
    report = read_snapshot(settings.snapshot.directory, store, directory, cpts_snapshot)
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
    cache = settings.cache
    loader = CachedLoader(BoundedStore(cache.max_entries, cache.max_bytes, CacheStats()))
    freshness = Freshness(
        cache.terminology_soft_ttl_s,
        cache.terminology_hard_ttl_s,
        cache.negative_ttl_s,
        cache.stale_if_error_s,
    )
    shared = shared_cache(settings)
    smt_upstream = UpstreamClient(settings.smt, transport=transports.smt, shared=shared)
    resolver = ResourceResolver(
        store, smt=SmtClient(smt_upstream), loader=loader, freshness=freshness
    )
    terminology = TerminologyService(resolver)
    terminology.seed_cache()
    geo = build_geo_service(settings, transports.geocoder)
    practitioners, directory_loader, annuaire_upstream = _build_practitioners(
        settings, transports, terminology, practice_locator(geo), shared, directory
    )
    mappings = ActiveMappings(steward_tables(settings, geo.communes, store))
    contextual = ContextualSearch(terminology, practitioners, geo, mappings)
    started = time.perf_counter()
    locations, _ = load_locations(
        settings.snapshot.directory, directory, geo.communes, store.aliases
    )
    log.info(
        "practice locations loaded",
        extra={
            "locations": len(locations),
            "megabytes": round(locations.nbytes / 2**20, 1),
            "seconds": round(time.perf_counter() - started, 3),
        },
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
        geo=geo,
        cpts=cpts_snapshot.index(communes_of(geo.communes), report),
        mappings=mappings,
        contextual=contextual,
        links=LinkBuilder(contextual, settings.search.sas_search_url),
        search=SearchService(locations, terminology, geo.communes, mappings, settings.search),
        ror=ror_client(settings, transports),
        shared=shared,
        ready=report.count(*TerminologyStore.RESOURCE_TYPES) > 0,
    )


def steward_tables(settings: Settings, communes: CommuneIndex, store: TerminologyStore) -> Mappings:
    """The tables of ``GATEWAY_MAPPINGS_DIR``, checked against the communes and the NOS."""
    return load_mappings(
        settings.mappings.directory, communes.departement_codes, CodeChecker(store)
    )


def shared_cache(settings: Settings) -> SharedCache | None:
    config = settings.shared_cache
    if not config.redis_url:
        return None
    log.info("shared cache tier enabled", extra={"prefix": config.prefix})
    return SharedCache(config.redis_url, prefix=config.prefix, ttl_s=config.ttl_s)


def ror_client(settings: Settings, transports: Transports) -> RorClient | None:
    ror = settings.ror
    if not (ror.upstream.enabled and ror.client_id):
        return None  # the ROR needs OAuth2 credentials: CPTS come from the snapshot only
    return RorClient(ror, transport=transports.ror)


def practice_locator(geo: GeoService) -> Locate:
    """Places practice addresses (public directory data) with the geocoder, else the commune."""

    async def locate(
        street: str | None, insee: str | None, postcode: str | None, city: str | None
    ) -> Place | None:
        try:
            found = await geo.geocode(inseecode=insee, streetname=street, city=city)
        except GatewayError:
            return None
        return Place(found.lat, found.lon, found.type)

    return locate


def _build_practitioners(
    settings: Settings,
    transports: Transports,
    terminology: TerminologyService,
    locate: Locate,
    shared: SharedCache | None,
    snapshot: DirectoryIndex,
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
        shared=shared,
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
        snapshot,
        terminology,
        locate,
        client=AnnuaireClient(upstream, page_size=annuaire.page_size),
        loader=loader,
        freshness=freshness,
    )
    return service, loader, upstream
