"""A new practice-location index, built in a child process for a running gateway.

Building the index of a national file (~1M rows, ~300 MB of columns) in a worker thread
of the server stalled its searches: every numpy operation over the whole table (inflating
the npz, the grid sort, the reorder of each column, hashes) holds the GIL for tens of
milliseconds, and the event loop waits behind each of them; glibc's allocator churning
through ~600 MB slowed every request's own allocations too. p95 of ``/v1/search`` went
from ~10 ms to 60-400 ms during a swap. So a reload runs ``python -m
gateway.search.index_builder``, at a lower CPU priority, which reads and validates the file,
merges the snapshot's FHIR rows (computed by the server, which holds the snapshot), builds
the index and writes its final arrays uncompressed (``gateway.search.index_files``); the
server maps them. Start-up still builds in-process (nothing is served yet).

The child answers one JSON line on stdout: ``{"rejected": message}`` (exit status 3) for
an unusable file, else the grid's scalars, the file's meta, the practitioner count and,
when the meta has no version, the content version.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import gateway
from gateway.directory.locations_file import Columns, LocationsError, content_version
from gateway.search.index_files import map_index, save_index
from gateway.search.locations import PracticeLocations, merge_locations

#: Exit status of a builder that refused the file (``LocationsError``).
REJECTED = 3
#: The builder's niceness: the server's requests go first on a busy machine; a reload only
#: takes longer (it is sized in seconds, searches in milliseconds).
NICENESS = 10
_FHIR = "fhir.npz"


class BuilderFailed(RuntimeError):
    """The builder process could not run or died (not a verdict on the file)."""


@dataclass(frozen=True, slots=True)
class Built:
    locations: PracticeLocations
    meta: dict[str, Any]
    practitioners: int
    #: The columns' hash, when the file's meta carries no version (else None).
    content_version: str | None


def build_aside(path: Path, fhir: Columns, scratch: Path) -> Built:
    """The index of the locations file ``path`` plus the ``fhir`` rows, built by a child
    process in a temporary directory under ``scratch`` (else the system's) and mapped.

    Raises ``LocationsError`` (the file is unusable) or ``BuilderFailed``."""
    try:
        work = Path(tempfile.mkdtemp(prefix=".locations-build-", dir=scratch))
    except OSError:  # a read-only snapshot
        work = Path(tempfile.mkdtemp(prefix="locations-build-"))
    try:
        np.savez(work / _FHIR, **fhir)  # type: ignore[arg-type]  # numpy's stub
        answer = _run(path, work)
        if "rejected" in answer:
            raise LocationsError(str(answer["rejected"]))
        locations = map_index(work, answer["grid"])
        return Built(
            locations, answer["meta"], int(answer["practitioners"]), answer["content_version"]
        )
    finally:
        # Mapped files stay readable once unlinked (POSIX): nothing is left behind, and the
        # space returns when the index is dropped.
        shutil.rmtree(work, ignore_errors=True)


def _run(path: Path, work: Path) -> dict[str, Any]:
    # This very checkout's code in the child, whatever its working directory.
    root = str(Path(gateway.__file__).resolve().parents[1])
    paths = [root, os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    command = [sys.executable, "-m", __name__, str(path), str(work / _FHIR), str(work)]
    try:
        done = subprocess.run(command, capture_output=True, env=env, check=False)
    except OSError as exc:
        raise BuilderFailed(f"cannot start {command[0]}: {exc}") from None
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        answer: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise BuilderFailed(f"exit status {done.returncode}: {' | '.join(tail)}") from None
    if done.returncode not in (0, REJECTED):
        raise BuilderFailed(f"exit status {done.returncode}")
    return answer


def build(path: Path, fhir_path: Path, out: Path) -> dict[str, Any]:
    """The child's work (see the module's docstring)."""
    with np.load(fhir_path, allow_pickle=False) as data:
        fhir = {name: data[name] for name in data.files}
    try:
        locations, meta = merge_locations(path, fhir)
    except LocationsError as exc:
        return {"rejected": str(exc)}
    grid = save_index(locations, out)
    version = None if meta.get("version") else content_version(locations.columns)
    return {
        "grid": grid,
        "meta": meta,
        "practitioners": locations.practitioners(),
        "content_version": version,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("locations", type=Path, help="practice-locations.npz (may be absent)")
    parser.add_argument("fhir", type=Path, help="the snapshot's FHIR rows (npz)")
    parser.add_argument("out", type=Path, help="directory for the built arrays")
    args = parser.parse_args(argv)
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice here
        os.nice(NICENESS)
    answer = build(args.locations, args.fhir, args.out)
    print(json.dumps(answer))
    return REJECTED if "rejected" in answer else 0


if __name__ == "__main__":
    sys.exit(main())
