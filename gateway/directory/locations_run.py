"""One run of ``gateway sync locations``: page while geocoding, export (no terminal, no HTTP
framework: the command line and the tests drive it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.directory.locations_export import (
    ExportFigures,
    GeocodeFigures,
    SasScope,
    export_columns,
    geocode_new,
    write_locations,
)
from gateway.directory.locations_file import Manifest
from gateway.directory.locations_geocoding import GeocodingPipeline
from gateway.directory.locations_store import STORE_FILE, LocationsStore, Place
from gateway.directory.locations_sync import DirectoryPaging, PagingOutcome, Progress
from gateway.geo.batch import BatchGeocoder
from gateway.terminology.canonical import CanonicalIndex
from gateway.upstream import UpstreamClient


class RunProgress(Progress, Protocol):
    def geocoded(self, addresses: int) -> None: ...


@dataclass(frozen=True, slots=True)
class LocationsRun:
    paging: PagingOutcome
    geocoding: GeocodeFigures
    export: ExportFigures
    manifest: Manifest
    changed: bool


async def sync_locations(
    out_dir: Path,
    *,
    annuaire: UpstreamClient,
    geocoder: BatchGeocoder,
    scope: SasScope,
    progress: RunProgress,
    full: bool = False,
    aliases: CanonicalIndex | None = None,
    page_size: int = 200,
) -> LocationsRun:
    """Raises ``UpstreamError`` when the directory fails after its retries: what was read
    stays in the store, and the next call resumes from the failed page."""
    started = time.monotonic()
    store = LocationsStore(out_dir / STORE_FILE)
    try:
        async with GeocodingPipeline(store, geocoder, progress.geocoded) as pipeline:
            paging = DirectoryPaging(
                annuaire,
                store,
                progress,
                aliases=aliases,
                page_size=page_size,
                on_addresses=pipeline.offer,
            )
            outcome = await paging.run(full)
            store.put("last.pages", str(outcome.pages))
            store.commit()
        geocoding = await geocode_new(
            store, geocoder, progress.geocoded, pipeline.figures, pipeline.unplaced
        )
        exported = export_columns(store, scope, _commune_point(geocoder))
    finally:
        store.close()
    manifest, changed = write_locations(
        out_dir,
        exported,
        source=str(annuaire.base_url),
        mode=outcome.mode,
        started=started,
        geocoded=geocoding.geocoded,
    )
    return LocationsRun(outcome, geocoding, exported.figures, manifest, changed)


def expected_pages(out_dir: Path) -> int | None:
    """The page count of the last complete run (for a progress bar's ETA)."""
    path = out_dir / STORE_FILE
    if not path.exists():
        return None
    store = LocationsStore(path)
    try:
        found = store.get("last.pages")
    finally:
        store.close()
    return int(found) if found else None


def _commune_point(geocoder: BatchGeocoder) -> Callable[[str], Place | None]:
    def point(insee: str) -> Place | None:
        found = geocoder.commune_point(insee)
        return Place(found.lat, found.lon, found.precision) if found else None

    return point
