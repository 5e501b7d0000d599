"""The practice-locations file: ``<snapshot>/directory/practice-locations.npz``, its columns
and its manifest.

Written by ``gateway sync locations`` (from the Annuaire Santé) or ``gateway demo
generate``; read by the search index (``gateway.search.locations``). One row per practice
location; columns are numpy arrays (fixed-width UTF-8 bytes for text, cut at a character
boundary). Columns added after the first files (organization, address, postcode,
precision) are optional on read: a file without them gets empty values.

The manifest (``practice-locations.json``) says what the file holds: version id (a hash of
the columns, so an unchanged re-sync keeps its version), creation time, source, counts by
profession, precision mix, duration. A running gateway watches it to swap indexes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from gateway.files import atomic_writer, write_atomically

LOCATIONS_FILE = "practice-locations.npz"
NO_SLOT = -1
#: Column → numpy dtype. ``first_slot``: epoch seconds, ``NO_SLOT`` when none.
SCHEMA: dict[str, str] = {
    "idnps": "int64",
    "ordinal": "uint8",
    "lat": "float64",
    "lon": "float64",
    "insee": "S5",
    "profession": "S4",
    "specialty": "S8",
    "participant": "bool",
    "first_slot": "int64",
    "cpts": "S14",
    "family": "S40",
    "given": "S40",
    "organization": "S60",
    "address": "S80",
    "postcode": "S5",
    "precision": "S12",
}
#: Columns a file may lack (written before they existed): read as empty.
OPTIONAL = frozenset({"organization", "address", "postcode", "precision"})
MANIFEST_FILE = "practice-locations.json"
Columns = dict[str, npt.NDArray[Any]]


class LocationsError(ValueError):
    """The practice-locations file is unusable; the message says why."""


def empty_columns() -> Columns:
    return {name: np.empty(0, dtype=dtype) for name, dtype in SCHEMA.items()}


def validate(columns: Mapping[str, npt.NDArray[Any]], source: str) -> Columns:
    missing = sorted(set(SCHEMA) - set(columns) - OPTIONAL)
    if missing:
        raise LocationsError(f"{source}: missing columns {', '.join(missing)}")
    lengths = {int(columns[name].shape[0]) for name in SCHEMA if name in columns}
    if len(lengths) != 1:
        raise LocationsError(f"{source}: columns have different lengths {sorted(lengths)}")
    out: Columns = {}
    rows = lengths.pop() if lengths else 0
    for name, dtype in SCHEMA.items():
        if name not in columns:
            out[name] = np.zeros(rows, dtype=dtype)
            continue
        try:
            out[name] = np.asarray(columns[name]).astype(dtype, copy=False)
        except (TypeError, ValueError) as exc:
            raise LocationsError(f"{source}: column {name} is not {dtype} ({exc})") from None
    lat, lon = out["lat"], out["lon"]
    if lat.size and not (
        np.isfinite(lat).all()
        and np.isfinite(lon).all()
        and (np.abs(lat) <= 90).all()
        and (np.abs(lon) <= 180).all()
    ):
        raise LocationsError(f"{source}: latitudes/longitudes out of range")
    return out


#: Rows copied at a time by :func:`concat`.
COPY_ROWS = 65_536


def concat(*parts: Columns) -> Columns:
    """The parts one after the other, copied :data:`COPY_ROWS` rows at a time: numpy holds
    the GIL while it copies, and a running gateway concatenates a new index (a million rows,
    ~300 MB) in a worker thread while its event loop serves; one ``np.concatenate`` per
    column stalled every request for up to ~0.5 s."""
    out: Columns = {}
    for name in SCHEMA:
        arrays = [p[name] for p in parts]
        column = np.empty(sum(a.shape[0] for a in arrays), dtype=SCHEMA[name])
        at = 0
        for array in arrays:
            for start in range(0, array.shape[0], COPY_ROWS):
                chunk = array[start : start + COPY_ROWS]
                column[at : at + chunk.shape[0]] = chunk
                at += chunk.shape[0]
        out[name] = column
    return out


def save_columns(path: Path, columns: Columns, meta: Mapping[str, Any]) -> None:
    """Replaces ``path`` atomically: running replicas read it at start-up."""
    with atomic_writer(path) as handle:
        arrays = {"meta": np.array(json.dumps(meta, sort_keys=True)), **columns}
        np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub


def load_columns(path: Path) -> tuple[Columns, dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            columns = {name: data[name] for name in data.files if name != "meta"}
            meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
    except (OSError, ValueError, KeyError) as exc:
        raise LocationsError(f"{path}: cannot read ({exc})") from None
    return validate(columns, str(path)), meta


def text_column(values: list[str], dtype: str) -> npt.NDArray[Any]:
    """UTF-8 bytes of ``values``, each cut to the column's width at a character boundary
    (numpy would cut inside a character)."""
    width = int(dtype[1:])
    return np.array([fit(v, width) for v in values], dtype=dtype)


def fit(value: str, width: int) -> bytes:
    encoded = value.encode("utf-8")
    if len(encoded) <= width:
        return encoded
    return encoded[:width].decode("utf-8", "ignore").encode("utf-8")


def content_version(columns: Columns) -> str:
    """A hash of the columns: equal data, equal version (the npz bytes carry timestamps)."""
    digest = hashlib.blake2b(digest_size=8)
    for name in SCHEMA:
        array = np.ascontiguousarray(columns[name])
        digest.update(name.encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class Manifest(msgspec.Struct, kw_only=True):
    version: str
    created: str
    source: str
    locations: int
    practitioners: int
    by_profession: dict[str, int] = {}
    precision: dict[str, int] = {}
    duration_s: float | None = None
    geocoded: int = 0
    mode: str = ""


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Written after the npz: a watcher seeing the new manifest finds the new file."""
    write_atomically(
        directory / MANIFEST_FILE, msgspec.json.format(msgspec.json.encode(manifest)) + b"\n"
    )


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest, or None when absent or unreadable (a file being replaced is atomic)."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=Manifest)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def counts(values: npt.NDArray[Any]) -> dict[str, int]:
    found, number = np.unique(values, return_counts=True)
    return {
        bytes(v).decode("utf-8", "replace") or "-": int(n)
        for v, n in zip(found, number, strict=True)
    }
