"""The search component: SAS ranking over the practice-location index (swapped without a
restart, see ``gateway.search.live_index``), INT_L01 resolve and the launch-link builder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Self

from gateway.availability.component import AvailabilityComponent
from gateway.component import Component, Live, Parts, Registry
from gateway.directory.component import DirectoryComponent
from gateway.geo.component import GeoComponent
from gateway.mappings.component import MappingsComponent
from gateway.replicas import Replicated
from gateway.search.contextual import ContextualSearch
from gateway.search.index_cards import IndexCards
from gateway.search.links import LinkBuilder
from gateway.search.live_availability import AvailabilityTables
from gateway.search.live_index import TOPIC, IndexLoader, LocationIndex
from gateway.search.service import SearchService
from gateway.search.sos import SosService
from gateway.terminology.component import TerminologyComponent


class SearchComponent(Component):
    name = "search"

    def __init__(
        self,
        parts: Parts,
        index: Live[LocationIndex],
        loader: IndexLoader,
        search: SearchService,
        contextual: ContextualSearch,
        links: LinkBuilder,
        sos: SosService,
    ) -> None:
        self.parts = parts
        self.index = index
        self.loader = loader
        self.search = search
        self.contextual = contextual
        self.links = links
        self.sos = sos

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        settings = parts.settings
        terminology = registry.require(TerminologyComponent)
        practitioners = registry.require(DirectoryComponent).practitioners
        geo = registry.require(GeoComponent).service
        mappings = registry.require(MappingsComponent).active
        contextual = ContextualSearch(terminology.service, practitioners, geo, mappings)
        loader = IndexLoader(
            settings.snapshot.directory,
            practitioners.snapshot,
            geo.communes,
            terminology.store.aliases,
        )
        index = Live(loader.load())
        availability = registry.require(AvailabilityComponent)
        tables = AvailabilityTables(availability.live, index, geo.communes, availability.now)
        availability.listeners.append(tables.rebuild)
        search = SearchService(
            index, terminology.service, geo.communes, mappings, settings.search, tables,
            availability.now,
        )  # fmt: skip
        # Every practitioner search can return gets a card, even one the directory lacks.
        practitioners.attach(IndexCards(index, search.labels, geo.communes))
        links = LinkBuilder(contextual, settings.search.sas_search_url)
        sos = SosService(
            availability.live, geo.communes, mappings, settings.search, search.departement_near,
            availability.now,
        )  # fmt: skip
        return cls(parts, index, loader, search, contextual, links, sos)

    def provides(self) -> Mapping[str, object]:
        return {
            "search": self.search,
            "contextual": self.contextual,
            "links": self.links,
            "sos": self.sos,
            "practice_locations": self,
        }

    def health(self) -> Mapping[str, Any]:
        return {"locations": self.index.current.describe()}

    def background(self) -> Sequence[Callable[[], Awaitable[None]]]:
        every = self.parts.settings.locations.poll_s
        if every <= 0:
            return ()
        return (lambda: self.loader.watch(self.index, every, self._announce),)

    async def reload(self, *, broadcast: bool = True) -> tuple[LocationIndex, LocationIndex]:
        """Re-read the snapshot's index and swap it in: (previous, new). Raises
        ``LocationsRejected`` (the index in force stays)."""
        previous, loaded = await self.loader.reload(self.index)
        if broadcast:
            await self._announce(loaded.version)
        return previous, loaded

    async def _announce(self, version: str) -> None:
        if self.parts.replicas is not None:
            await self.parts.replicas.announce(TOPIC, version)

    def replicated(self) -> Sequence[Replicated]:
        return (self,)

    @property
    def topic(self) -> str:
        return TOPIC

    def local_version(self) -> str:
        return self.index.current.version

    async def catch_up(self, version: str) -> None:
        await self.loader.catch_up(self.index, version)
