"""The search component: SAS ranking over the practice-location index, INT_L01 resolve and
the launch-link builder."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Self

from gateway.component import Component, Parts, Registry
from gateway.directory.component import DirectoryComponent
from gateway.geo.component import GeoComponent
from gateway.mappings.component import MappingsComponent
from gateway.search.contextual import ContextualSearch
from gateway.search.index_cards import IndexCards
from gateway.search.links import LinkBuilder
from gateway.search.locations import load_locations
from gateway.search.service import SearchService
from gateway.terminology.component import TerminologyComponent

log = logging.getLogger("gateway")


class SearchComponent(Component):
    name = "search"

    def __init__(
        self, search: SearchService, contextual: ContextualSearch, links: LinkBuilder
    ) -> None:
        self.search = search
        self.contextual = contextual
        self.links = links

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        settings = parts.settings
        terminology = registry.require(TerminologyComponent).service
        practitioners = registry.require(DirectoryComponent).practitioners
        aliases = registry.require(TerminologyComponent).store.aliases
        geo = registry.require(GeoComponent).service
        mappings = registry.require(MappingsComponent).active
        contextual = ContextualSearch(terminology, practitioners, geo, mappings)
        started = time.perf_counter()
        locations, _ = load_locations(
            settings.snapshot.directory, practitioners.snapshot, geo.communes, aliases
        )
        log.info(
            "practice locations loaded",
            extra={
                "locations": len(locations),
                "megabytes": round(locations.nbytes / 2**20, 1),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        search = SearchService(locations, terminology, geo.communes, mappings, settings.search)
        # Every practitioner search can return gets a card, even one the directory lacks.
        practitioners.attach(IndexCards(locations, search.labels, geo.communes))
        return cls(search, contextual, LinkBuilder(contextual, settings.search.sas_search_url))

    def provides(self) -> Mapping[str, object]:
        return {"search": self.search, "contextual": self.contextual, "links": self.links}
