"""From the working store to ``practice-locations.npz``: geocode what is new, then export.

Only the professions the SAS searches are exported: the TRE_G15 codes of JDV_J239, and
physicians (TRE_G15 ``10``) whose main specialty is one of its TRE_R38 codes. Each location
is placed by the address cache (the geocoder's decision), else at its commune's point
(``precision: city``); a location whose commune is unknown is left out and counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    store: LocationsStore,
    geocoder: BatchGeocoder,
    on_batch: Callable[[int], None] | None = None,
    figures: GeocodeFigures | None = None,
    asked: Collection[str] = (),
) -> GeocodeFigures:
    """Places every address not in the cache, batch by batch, committing each batch. A
    failing geocoder stops this step (the rest keep their commune point for this run).
    ``figures``: those of the geocoding done while paging (``locations_geocoding``), added
    to; when a batch failed there, nothing more is asked. ``asked``: addresses this run
    already sent that came back unplaced (no commune point either): not asked again."""
    figures = GeocodeFigures() if figures is None else figures
    if not geocoder.enabled or figures.error is not None:
        return figures
    pending = store.addresses_to_geocode()
    if asked:
        pending = [row for row in pending if row[0] not in asked]
    figures.addresses += len(pending)
    for start in range(0, len(pending), geocoder.batch_size):
        batch = [AddressQuery(*row) for row in pending[start : start + geocoder.batch_size]]
        if await place_batch(store, geocoder, batch, figures) is None:
            return figures
        if on_batch is not None:
            on_batch(len(batch))
    return figures


async def place_batch(
    store: LocationsStore,
    geocoder: BatchGeocoder,
    batch: list[AddressQuery],
    figures: GeocodeFigures,
) -> set[str] | None:
    """One batch geocoded and committed into the cache: the keys placed (an address whose
    commune is unknown is not), or None (and ``figures.error``) when the geocoder failed."""
    try:
        found = await geocoder.place(batch)
    except UpstreamError as exc:
        figures.failed_batches += 1
        figures.error = exc.message
        log.warning("geocoding stopped", extra={"error": exc.message})
        return None
    store.remember_places((key, Place(p.lat, p.lon, p.precision)) for key, p in found.items())
    store.commit()
    figures.geocoded += len(found)
    return set(found)


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
    """The store's locations as columns, filled in place chunk by chunk (bounded memory:
    the columns, and one chunk of rows as tuples; no object per row, which made a national
    export take ~20 s of the run), then cut to the rows kept without a copy."""
    total = store.counts()["role"]
    columns: Columns = {name: np.zeros(total, dtype=dtype) for name, dtype in SCHEMA.items()}
    columns["first_slot"].fill(NO_SLOT)
    figures = ExportFigures()
    row = 0
    previous, ordinal = "", 0
    for chunk in store.location_rows():
        kept: list[tuple[Any, ...]] = []
        for (_, _, idnps, family, given, profession, specialty, _, _, name, line, insee,
             postcode, _, lat, lon, precision) in chunk:  # fmt: skip  # LOCATION_COLUMNS
            if not scope.keeps(profession, specialty):
                figures.out_of_scope += 1
                continue
            if lat is None:
                place = commune_point(insee)
                if place is not None:
                    lat, lon, precision = place.lat, place.lon, place.precision
            if lat is None or not idnps.isdigit():
                figures.unplaced += 1
                continue
            ordinal = ordinal + 1 if idnps == previous else 0
            if idnps != previous:
                figures.practitioners += 1
            previous = idnps
            kept.append((int(idnps), min(ordinal, 255), lat, lon, insee, profession, specialty,
                         family, given, name, line, postcode, precision))  # fmt: skip
        if kept:
            _fill(columns, row, kept)
            row += len(kept)
    figures.locations = row
    for array in columns.values():
        array.resize(row, refcheck=False)  # shrinks in place: no second copy of the columns
    return Exported(validate(columns, "export"), figures)


#: The columns :func:`export_columns` fills, in the order of its rows' values.
_FILLED = (
    "idnps", "ordinal", "lat", "lon", "insee", "profession", "specialty", "family", "given",
    "organization", "address", "postcode", "precision",
)  # fmt: skip


def _fill(columns: Columns, start: int, rows: list[tuple[Any, ...]]) -> None:
    end = start + len(rows)
    for name, values in zip(_FILLED, zip(*rows, strict=True), strict=True):
        dtype = SCHEMA[name]
        if name in _TEXT:
            width = int(dtype[1:])
            encoded = [v.encode() for v in values]
            if any(len(b) > width for b in encoded):  # rare: cut at a character boundary
                encoded = [fit(v, width) for v in values]
            columns[name][start:end] = np.array(encoded, dtype=dtype)
        else:
            columns[name][start:end] = np.array(values, dtype=dtype)


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
