"""The terminology component: the NOS snapshot, the SMT client, the cache and the service."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Self

from gateway.cache import CachedLoader, Freshness
from gateway.component import CacheFigures, Component, Parts, Registry
from gateway.snapshot import SnapshotLoader, SnapshotReport
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.service import TerminologyService
from gateway.terminology.smt import SmtClient
from gateway.terminology.store import TerminologyStore
from gateway.upstream import UpstreamClient

log = logging.getLogger("gateway")


class TerminologyComponent(Component):
    name = "terminology"

    def __init__(
        self,
        store: TerminologyStore,
        report: SnapshotReport,
        loader: CachedLoader,
        upstream: UpstreamClient,
        service: TerminologyService,
    ) -> None:
        self.store = store
        self.report = report
        self.loader = loader
        self.upstream = upstream
        self.service = service

    @classmethod
    def snapshot_loaders(cls) -> Mapping[str, SnapshotLoader]:
        return {"terminology": TerminologyStore()}

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        settings = parts.settings
        store = parts.snapshot.loader("terminology", TerminologyStore)
        report = parts.snapshot.read
        loader = parts.cache_loader()
        upstream = UpstreamClient(
            settings.smt, transport=parts.transport("smt"), shared=parts.shared
        )
        resolver = ResourceResolver(
            store,
            smt=SmtClient(upstream),
            loader=loader,
            freshness=Freshness.terminology(settings.cache),
        )
        service = TerminologyService(resolver, max_expansion=settings.terminology.max_expansion)
        service.seed_cache()
        return cls(store, report, loader, upstream, service)

    def provides(self) -> Mapping[str, object]:
        return {"terminology": self.service}

    @property
    def ready(self) -> bool:
        """Serving needs NOS resources from the snapshot (the offline fallback)."""
        return self.report.count(*TerminologyStore.RESOURCE_TYPES) > 0

    def health(self) -> Mapping[str, Any]:
        return {
            "snapshot": {
                "files": self.report.files,
                "resources": self.store.summary(),
                "errors": self.report.errors,
            }
        }

    def upstreams(self) -> Sequence[UpstreamClient]:
        return (self.upstream,)

    def caches(self) -> Mapping[str, CacheFigures]:
        return {"terminology": CacheFigures.of(self.loader)}

    async def purge(self) -> int:
        purged = self.loader.store.clear()
        self.service.seed_cache()
        return purged

    async def aclose(self) -> None:
        await self.loader.drain()
        await self.upstream.aclose()
