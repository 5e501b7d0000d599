"""The steward tables component: the tables in force, their reload and its propagation.

A reload validates every table first and swaps them all at once (``MappingsRejected``,
with every problem and its file:line, keeps the version in force). With a shared tier the
other replicas are told to reload too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Self

from gateway.component import Component, Parts, Registry
from gateway.errors import MappingsRejected
from gateway.geo.communes import CommuneIndex
from gateway.geo.component import GeoComponent
from gateway.mappings.codes import CodeChecker
from gateway.mappings.csvfile import MappingError
from gateway.mappings.status import MappingsStatus, mappings_status
from gateway.mappings.tables import ActiveMappings, Mappings, content_version, load_mappings
from gateway.replicas import Replicated
from gateway.settings import Settings
from gateway.terminology.component import TerminologyComponent
from gateway.terminology.store import TerminologyStore

log = logging.getLogger("gateway")
TOPIC = "mappings"


def steward_tables(settings: Settings, communes: CommuneIndex, store: TerminologyStore) -> Mappings:
    """The tables of ``GATEWAY_MAPPINGS_DIR``, checked against the communes and the NOS."""
    return load_mappings(
        settings.mappings.directory, communes.departement_codes, CodeChecker(store)
    )


class MappingsComponent(Component):
    name = "mappings"

    def __init__(
        self, parts: Parts, communes: CommuneIndex, store: TerminologyStore, active: ActiveMappings
    ) -> None:
        self.parts = parts
        self.communes = communes
        self.store = store
        self.active = active
        self._lock = asyncio.Lock()
        self._diverged: tuple[str, str] | None = None

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        communes = registry.require(GeoComponent).service.communes
        store = registry.require(TerminologyComponent).store
        active = ActiveMappings(steward_tables(parts.settings, communes, store))
        return cls(parts, communes, store, active)

    def provides(self) -> Mapping[str, object]:
        return {"mappings": self.active, "steward_tables": self}

    def health(self) -> Mapping[str, Any]:
        current = self.active.current
        return {"mappings": {"version": current.version, "warnings": list(current.warnings)}}

    async def reload(self, *, broadcast: bool = True) -> tuple[Mappings, Mappings]:
        """Re-read and validate every table, then swap them in at once: (previous, new)."""
        async with self._lock:
            try:
                loaded = await asyncio.to_thread(
                    steward_tables, self.parts.settings, self.communes, self.store
                )
            except MappingError as exc:
                problems = str(exc).splitlines()
                raise MappingsRejected(
                    f"{len(problems)} problem(s) in the mappings; the version in force "
                    f"({self.active.current.version}) stays active",
                    details={"problems": problems},
                ) from None
            previous = self.active.swap(loaded)
        if broadcast and self.parts.replicas is not None:
            await self.parts.replicas.announce(TOPIC, loaded.version)
        return previous, loaded

    async def status(self) -> MappingsStatus:
        """The tables in force against the files on disk (checked as a reload would)."""
        settings = self.parts.settings
        return await asyncio.to_thread(
            mappings_status,
            self.active.current,
            settings.mappings.directory,
            lambda: steward_tables(settings, self.communes, self.store),
        )

    def replicated(self) -> Sequence[Replicated]:
        return (self,)

    @property
    def topic(self) -> str:
        return TOPIC

    def local_version(self) -> str:
        return self.active.current.version

    async def catch_up(self, version: str) -> None:
        """Another replica runs ``version``: reload from the files, unless they still hold
        what runs here (files not yet copied to this replica: try again later)."""
        files = await asyncio.to_thread(content_version, self.parts.settings.mappings.directory)
        if files == self.local_version():
            if self._diverged != (version, files):  # once per divergence, not every round
                self._diverged = (version, files)
                log.warning(
                    "another replica runs other mappings than this replica's files",
                    extra={"theirs": version, "files": files},
                )
            return
        self._diverged = None
        try:
            await self.reload(broadcast=False)
        except MappingsRejected as exc:
            log.warning(
                "mappings reload asked by another replica was rejected here",
                extra={"problems": len(exc.details.get("problems", []))},
            )
