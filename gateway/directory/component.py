"""The directory component: practitioner cards (Annuaire Santé) and CPTS zones (ROR).

The CPTS index has one holder (``Live[CptsIndex]``): built from the snapshot at start,
replaced by the ROR refresher when ROR credentials are configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Self

from gateway.cache import CachedLoader, Freshness
from gateway.component import CacheFigures, Component, Live, Parts, Registry
from gateway.directory.annuaire import AnnuaireClient
from gateway.directory.cards import Locate, Place
from gateway.directory.cpts import CptsIndex, CptsSnapshot
from gateway.directory.cpts_source import communes_of, keep_refreshed
from gateway.directory.index import DirectoryIndex
from gateway.directory.practitioners import PractitionerService
from gateway.directory.ror import RorClient
from gateway.errors import GatewayError
from gateway.geo.component import GeoComponent
from gateway.geo.service import GeoService
from gateway.snapshot import SnapshotLoader
from gateway.terminology.component import TerminologyComponent
from gateway.upstream import UpstreamClient


class DirectoryComponent(Component):
    name = "directory"

    def __init__(
        self,
        practitioners: PractitionerService,
        loader: CachedLoader,
        annuaire: UpstreamClient,
        cpts: Live[CptsIndex],
        ror: RorClient | None,
        geo: GeoService,
    ) -> None:
        self.practitioners = practitioners
        self.loader = loader
        self.annuaire = annuaire
        self.cpts = cpts
        self.ror = ror
        self.geo = geo

    @classmethod
    def snapshot_loaders(cls) -> Mapping[str, SnapshotLoader]:
        return {"directory": DirectoryIndex(), "cpts": CptsSnapshot()}

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        settings = parts.settings
        geo = registry.require(GeoComponent).service
        terminology = registry.require(TerminologyComponent).service
        annuaire = settings.annuaire
        # The API refuses anonymous calls: without a key the directory is served offline.
        upstream = UpstreamClient(
            annuaire.upstream if annuaire.api_key else replace(annuaire.upstream, url=""),
            transport=parts.transport("annuaire"),
            headers={"ESANTE-API-KEY": annuaire.api_key},
            shared=parts.shared,
        )
        loader = parts.cache_loader()
        practitioners = PractitionerService(
            parts.snapshot.loader("directory", DirectoryIndex),
            terminology,
            practice_locator(geo),
            client=AnnuaireClient(upstream, page_size=annuaire.page_size),
            loader=loader,
            freshness=Freshness.cards(settings.cache, settings.directory_cache),
        )
        cpts_snapshot = parts.snapshot.loader("cpts", CptsSnapshot)
        cpts = Live(cpts_snapshot.index(communes_of(geo.communes), parts.snapshot.read))
        return cls(practitioners, loader, upstream, cpts, ror_client(parts), geo)

    def provides(self) -> Mapping[str, object]:
        return {"practitioners": self.practitioners, "cpts": self.cpts}

    def background(self) -> Sequence[Callable[[], Awaitable[None]]]:
        ror = self.ror
        if ror is None:
            return ()
        expand = communes_of(self.geo.communes)
        return (lambda: keep_refreshed(ror, expand, self.cpts.swap),)

    def upstreams(self) -> Sequence[UpstreamClient]:
        return (self.annuaire,) if self.ror is None else (self.annuaire, self.ror.upstream)

    def caches(self) -> Mapping[str, CacheFigures]:
        return {"directory": CacheFigures.of(self.loader)}

    async def purge(self) -> int:
        return self.loader.store.clear()

    async def aclose(self) -> None:
        await self.loader.drain()
        if self.ror is not None:
            await self.ror.aclose()
        await self.annuaire.aclose()


def ror_client(parts: Parts) -> RorClient | None:
    ror = parts.settings.ror
    if not (ror.upstream.enabled and ror.client_id):
        return None  # the ROR needs OAuth2 credentials: CPTS come from the snapshot only
    return RorClient(ror, transport=parts.transport("ror"))


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
