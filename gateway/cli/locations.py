"""``gateway sync locations [--out DIR] [--full]``: the practice-location index from the
national directory (DESIGN.md §9.1).

Pages the Annuaire Santé into the working store (resumable, incremental after the first
complete run), geocodes new practice addresses in batches (none when nothing changed;
offline, commune points), then writes ``practice-locations.npz`` and its manifest. The
running gateway swaps the new index in by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli.progress import SyncProgress
from gateway.cli.sync import quiet_retries, target
from gateway.settings import MAX_ANNUAIRE_PAGE_SIZE, Settings, UpstreamSettings

if TYPE_CHECKING:
    from gateway.directory.locations_run import LocationsRun

J239 = "https://mos.esante.gouv.fr/NOS/JDV_J239-SpecialitesSNP-SAS/FHIR/JDV-J239-SpecialitesSNP-SAS"


def locations(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.directory.locations_export import SasScope
    from gateway.directory.locations_run import expected_pages, sync_locations
    from gateway.errors import UpstreamError
    from gateway.geo.batch import BatchGeocoder
    from gateway.geo.communes import load_communes
    from gateway.observability.logging import configure_logging
    from gateway.terminology.store import TerminologyStore
    from gateway.upstream import UpstreamClient

    # Without a terminal the progress is JSON log lines on stderr (stdout: the summary).
    configure_logging(settings.server.log_level, sys.stderr)
    annuaire = settings.annuaire
    if not (annuaire.upstream.enabled and annuaire.api_key):
        print(
            "nothing to sync from: set GATEWAY_ANNUAIRE_URL and GATEWAY_ANNUAIRE_API_KEY "
            "(the API Annuaire Santé refuses anonymous calls)",
            file=sys.stderr,
        )
        return 2
    out_dir = target(args, settings, "directory")
    if out_dir is None:
        return 2
    terminology = TerminologyStore()
    terminology.load_directory(settings.snapshot.directory / "terminology")
    valueset = terminology.valueset(J239)
    scope = SasScope.of(valueset.resource if valueset else None)
    if not scope.professions and not scope.specialties:
        print(f"error: JDV_J239 is not in the snapshot's terminology ({J239})", file=sys.stderr)
        return 2

    async def run() -> int:
        # A page of 200 roles with their includes, a CSV of 5,000 addresses: slow answers.
        upstream = UpstreamClient(
            _patient(annuaire.upstream, 30.0, 120.0), headers={"ESANTE-API-KEY": annuaire.api_key}
        )
        geocoder = BatchGeocoder(
            UpstreamClient(_patient(settings.geocoder, 120.0, 300.0)),
            load_communes(),
            batch_size=settings.locations.geocode_batch,
            min_score=settings.locations.geocode_min_score,
        )
        try:
            with SyncProgress(expected_pages(out_dir)) as progress:
                done = await sync_locations(
                    out_dir,
                    annuaire=upstream,
                    geocoder=geocoder,
                    scope=scope,
                    progress=progress,
                    full=args.full,
                    aliases=terminology.aliases,
                    page_size=MAX_ANNUAIRE_PAGE_SIZE,
                )
        except UpstreamError as exc:
            print(
                f"stopped: {exc.message}\nThe last good files are kept; run the same command "
                f"again to resume from the page that failed.",
                file=sys.stderr,
            )
            return 1
        finally:
            await upstream.aclose()
            await geocoder.upstream.aclose()
        print(summary(done, out_dir))
        return 0

    with quiet_retries():
        return asyncio.run(run())


def summary(done: LocationsRun, out_dir: Path) -> str:
    paging, geocoding, export, manifest = done.paging, done.geocoding, done.export, done.manifest
    stopped = f" (geocoder stopped: {geocoding.error})" if geocoding.error else ""
    return (
        f"sync locations ({paging.mode}{', resumed' if paging.resumed else ''}): "
        f"{paging.pages} pages, {paging.roles} roles read, {paging.removed} removed, "
        f"{paging.fetched_by_id} fetched by id; {geocoding.geocoded} of "
        f"{geocoding.addresses} new addresses geocoded{stopped}; {export.locations} "
        f"locations of {export.practitioners} practitioners ({export.out_of_scope} out of "
        f"the SAS scope, {export.unplaced} unplaced); version {manifest.version}"
        f"{'' if done.changed else ' (unchanged)'} -> {out_dir} in {manifest.duration_s} s"
    )


def _patient(upstream: UpstreamSettings, read_s: float, budget_s: float) -> UpstreamSettings:
    return replace(
        upstream,
        read_timeout_s=max(upstream.read_timeout_s, read_s),
        budget_s=max(upstream.budget_s, budget_s),
    )
