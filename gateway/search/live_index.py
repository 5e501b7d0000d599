"""The practice-location index in service, and its replacement without a restart.

``LocationIndex`` is one loaded index (locations, engine, version). ``IndexLoader`` builds
one from the snapshot (at start-up in-process; when running, in a child process whose
arrays it maps, see ``gateway.search.index_builder``) and swaps it into a ``Live`` holder at
once: a search takes the index in force when it starts and finishes on it, whatever happens
meanwhile. Swaps happen when the manifest (``practice-locations.json``) names another
version (checked every ``GATEWAY_LOCATIONS_POLL`` s), on ``POST /admin/locations/reload``,
and when another replica announces one (``Replicated`` topic ``locations``). An invalid
file is refused (``LocationsRejected``, 422) and the index in force stays.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.component import Live
from gateway.directory.index import DirectoryIndex
from gateway.directory.locations_file import (
    LOCATIONS_FILE,
    LocationsError,
    content_version,
    read_manifest,
)
from gateway.errors import LocationsRejected
from gateway.geo.communes import CommuneIndex
from gateway.search.engine import SearchEngine
from gateway.search.heap import drop_later
from gateway.search.index_builder import BuilderFailed, build_aside
from gateway.search.locations import PracticeLocations, from_directory, load_locations
from gateway.terminology.canonical import CanonicalIndex

log = logging.getLogger("gateway")
TOPIC = "locations"
#: How long a replaced index is kept before it is dropped off the event loop (searches
#: that started on it take milliseconds).
RETIRE_AFTER_S = 2.0


@dataclass(frozen=True, slots=True)
class LocationIndex:
    locations: PracticeLocations
    engine: SearchEngine
    version: str
    loaded_at: float
    practitioners: int

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "locations": len(self.locations),
            "practitioners": self.practitioners,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
        }


class IndexLoader:
    """Loads the snapshot's index; one reload at a time."""

    def __init__(
        self,
        snapshot: Path,
        directory: DirectoryIndex,
        communes: CommuneIndex,
        aliases: CanonicalIndex | None,
    ) -> None:
        self.snapshot = snapshot
        self.directory = directory
        self.communes = communes
        self.aliases = aliases
        self._lock = asyncio.Lock()
        self._diverged: tuple[str, str | None] | None = None

    def load(self) -> LocationIndex:
        """Built in this process: start-up (nothing is served yet), and the fallback of
        :meth:`load_aside`. Synchronous. Raises ``LocationsRejected``."""
        started = time.perf_counter()
        try:
            locations, meta = load_locations(
                self.snapshot, self.directory, self.communes, self.aliases
            )
        except LocationsError as exc:
            raise LocationsRejected(str(exc)) from None
        return self._index(locations, meta, locations.practitioners(), None, started)

    def load_aside(self) -> LocationIndex:
        """Built by a child process and mapped here (see ``gateway.search.index_builder``):
        what a running gateway does, so that its searches keep their pace. Synchronous
        (worker threads). Raises ``LocationsRejected``."""
        started = time.perf_counter()
        directory = self.snapshot / "directory"
        fhir = from_directory(self.directory, self.communes, self.aliases)
        try:
            built = build_aside(directory / LOCATIONS_FILE, fhir, directory)
        except LocationsError as exc:
            raise LocationsRejected(str(exc)) from None
        except BuilderFailed as exc:
            # Slower searches during the reload beat no reload at all.
            log.warning("index builder process failed, loading here", extra={"error": str(exc)})
            return self.load()
        return self._index(
            built.locations, built.meta, built.practitioners, built.content_version, started
        )

    def _index(
        self,
        locations: PracticeLocations,
        meta: dict[str, Any],
        practitioners: int,
        hashed: str | None,
        started: float,
    ) -> LocationIndex:
        manifest = read_manifest(self.snapshot / "directory")
        version = (
            manifest.version
            if manifest is not None
            else str(meta.get("version") or hashed or content_version(locations.columns))
        )
        index = LocationIndex(
            locations, SearchEngine(locations), version, time.time(), practitioners
        )
        log.info(
            "practice locations loaded",
            extra={
                "version": version,
                "locations": len(locations),
                "megabytes": round(locations.nbytes / 2**20, 1),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return index

    def files_version(self) -> str | None:
        manifest = read_manifest(self.snapshot / "directory")
        return manifest.version if manifest else None

    async def reload(self, live: Live[LocationIndex]) -> tuple[LocationIndex, LocationIndex]:
        """(previous, new); the new one is in force when this returns."""
        async with self._lock:
            loaded = await asyncio.to_thread(self.load_aside)
            previous = live.swap(loaded)
        drop_later(previous, RETIRE_AFTER_S)
        return previous, loaded

    async def watch(
        self,
        live: Live[LocationIndex],
        every_s: float,
        announce: Callable[[str], Any] | None = None,
    ) -> None:
        """Background: reload when the manifest names another version."""
        while True:
            await asyncio.sleep(every_s)
            found = await asyncio.to_thread(self.files_version)
            if found is None or found == live.current.version:
                continue
            try:
                _, loaded = await self.reload(live)
            except LocationsRejected as exc:
                log.warning("new practice locations refused", extra={"error": exc.message})
                continue
            if announce is not None:
                await announce(loaded.version)

    async def catch_up(self, live: Live[LocationIndex], version: str) -> None:
        """Another replica serves ``version``: reload, unless this replica's files still
        hold what it serves (not yet copied here: said once, tried again later)."""
        files = await asyncio.to_thread(self.files_version)
        if files == live.current.version:
            if self._diverged != (version, files):
                self._diverged = (version, files)
                log.warning(
                    "another replica serves other practice locations than this replica's files",
                    extra={"theirs": version, "files": files},
                )
            return
        self._diverged = None
        try:
            await self.reload(live)
        except LocationsRejected as exc:
            log.warning(
                "practice locations reload asked by another replica was refused here",
                extra={"error": exc.message},
            )
