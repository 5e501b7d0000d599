"""From the working store to ``practice-locations.npz``: geocode what is new, then export.

Only the professions the SAS searches are exported: the TRE_G15 codes of JDV_J239, and
physicians (TRE_G15 ``10``) whose main specialty is one of its TRE_R38 codes. Each location
is placed by the address cache (the geocoder's decision), else at its commune's point
(``precision: city``); a location whose commune is unknown is left out and counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gateway.directory.locations_file import (
    LOCATIONS_FILE,
    NO_SLOT,
    SCHEMA,
    Columns,
    Manifest,
    content_version,
    counts,
    fit,
    read_manifest,
    save_columns,
    validate,
    write_manifest,
)
from gateway.directory.locations_store import LocationsStore, Place
from gateway.errors import UpstreamError
from gateway.geo.batch import AddressQuery, BatchGeocoder
from gateway.terminology.canonical import nos_id
from gateway.terminology.model import ValueSet

log = logging.getLogger("gateway")
PHYSICIAN = "10"
_TEXT = {name for name, dtype in SCHEMA.items() if dtype.startswith("S")}


@dataclass(frozen=True, slots=True)
class SasScope:
    professions: frozenset[str]
    specialties: frozenset[str]

    @classmethod
    def of(cls, valueset: ValueSet | None) -> SasScope:
        """Read from JDV_J239's compose (its TRE_G15 and TRE_R38 concepts)."""
        codes: dict[str | None, set[str]] = {}
        for include in valueset.compose.include if valueset and valueset.compose else []:
            system = nos_id(include.system or "")
            codes.setdefault(system, set()).update(c.code for c in include.concept)
        return cls(frozenset(codes.get("TRE_G15", ())), frozenset(codes.get("TRE_R38", ())))

    def keeps(self, profession: str, specialty: str) -> bool:
        if profession == PHYSICIAN:
            return specialty in self.specialties
        return profession in self.professions


@dataclass(slots=True)
class GeocodeFigures:
    addresses: int = 0
    geocoded: int = 0
    failed_batches: int = 0
    error: str | None = None


async def geocode_new(
    store: LocationsStore, geocoder: BatchGeocoder, on_batch: Callable[[int], None] | None = None
) -> GeocodeFigures:
    """Places every address not in the cache, batch by batch, committing each batch. A
    failing geocoder stops this step (the rest keep their commune point for this run)."""
    figures = GeocodeFigures()
    if not geocoder.enabled:
        return figures
    pending = store.addresses_to_geocode()
    figures.addresses = len(pending)
    for start in range(0, len(pending), geocoder.batch_size):
        batch = [AddressQuery(*row) for row in pending[start : start + geocoder.batch_size]]
        if not await _placed(store, geocoder, batch, figures):
            return figures
        if on_batch is not None:
            on_batch(len(batch))
    return figures


async def _placed(
    store: LocationsStore,
    geocoder: BatchGeocoder,
    batch: list[AddressQuery],
    figures: GeocodeFigures,
) -> bool:
    try:
        found = await geocoder.place(batch)
    except UpstreamError as exc:
        figures.failed_batches += 1
        figures.error = exc.message
        log.warning("geocoding stopped", extra={"error": exc.message})
        return False
    store.remember_places((key, Place(p.lat, p.lon, p.precision)) for key, p in found.items())
    store.commit()
    figures.geocoded += len(found)
    return True


@dataclass(slots=True)
class ExportFigures:
    locations: int = 0
    out_of_scope: int = 0
    unplaced: int = 0
    practitioners: int = 0


@dataclass(slots=True)
class Exported:
    columns: Columns
    figures: ExportFigures = field(default_factory=ExportFigures)


def export_columns(
    store: LocationsStore, scope: SasScope, commune_point: Callable[[str], Place | None]
) -> Exported:
    """The store's locations as columns, filled in place (bounded memory: one row of Python
    objects at a time, not one list per column)."""
    total = store.counts()["role"]
    columns: Columns = {name: np.zeros(total, dtype=dtype) for name, dtype in SCHEMA.items()}
    widths = {name: int(SCHEMA[name][1:]) for name in _TEXT}
    figures = ExportFigures()
    row = 0
    previous, ordinal = "", 0
    for location in store.locations():
        practitioner, organization = location.practitioner, location.organization
        if not scope.keeps(practitioner.profession, practitioner.specialty):
            figures.out_of_scope += 1
            continue
        place = location.place or commune_point(organization.insee)
        if place is None or not practitioner.idnps.isdigit():
            figures.unplaced += 1
            continue
        ordinal = ordinal + 1 if practitioner.idnps == previous else 0
        if practitioner.idnps != previous:
            figures.practitioners += 1
        previous = practitioner.idnps
        values = {
            "idnps": int(practitioner.idnps), "ordinal": min(ordinal, 255),
            "lat": place.lat, "lon": place.lon, "insee": organization.insee,
            "profession": practitioner.profession, "specialty": practitioner.specialty,
            "participant": False, "first_slot": NO_SLOT, "cpts": "",
            "family": practitioner.family, "given": practitioner.given,
            "organization": organization.name, "address": organization.line,
            "postcode": organization.postcode, "precision": place.precision,
        }  # fmt: skip
        for name, value in values.items():
            columns[name][row] = fit(str(value), widths[name]) if name in _TEXT else value
        row += 1
    figures.locations = row
    trimmed = {name: array[:row].copy() for name, array in columns.items()}
    return Exported(validate(trimmed, "export"), figures)


def write_locations(
    out_dir: Path, exported: Exported, *, source: str, mode: str, started: float, geocoded: int
) -> tuple[Manifest, bool]:
    """The npz (unless its content is unchanged) then the manifest. Answers the manifest
    and whether the data changed."""
    columns = exported.columns
    version = content_version(columns)
    before = read_manifest(out_dir)
    changed = before is None or before.version != version or not (out_dir / LOCATIONS_FILE).exists()
    if changed:
        save_columns(out_dir / LOCATIONS_FILE, columns, {"source": source, "version": version})
    manifest = Manifest(
        version=version,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        source=source,
        locations=exported.figures.locations,
        practitioners=exported.figures.practitioners,
        by_profession=counts(columns["profession"]),
        precision=counts(columns["precision"]),
        duration_s=round(time.monotonic() - started, 1),
        geocoded=geocoded,
        mode=mode,
    )
    write_manifest(out_dir, manifest)
    return manifest, changed
