"""A throwaway PostgreSQL 15 + PostGIS 3 cluster for the ``bench.geosearch`` comparison.

:func:`ensure_postgis` installs ``postgresql-15-postgis-3`` (Debian, as root) when it is
missing. :func:`cluster` runs ``initdb`` and ``pg_ctl`` as the ``postgres`` user in a
temporary directory (Unix socket only, no TCP), yields a psycopg connection and always
stops the cluster and deletes the directory. :func:`load_locations` copies the practice
locations into a table with a GiST index on ``geography(Point, 4326)``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench._common import BenchError, log

PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
PACKAGE = "postgresql-15-postgis-3"
#: Server settings: durability off (a throwaway cluster), the table and index in memory,
#: and no JIT (it adds tens of ms to short queries, which is not what anyone runs in OLTP).
SERVER_OPTIONS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c shared_buffers=512MB -c work_mem=64MB -c maintenance_work_mem=512MB -c jit=off"
)
INITDB = ("--auth=trust", "--no-sync", "--encoding=UTF8")
TABLE = "practice_locations"
#: EWKB of a little-endian 2-D point with an SRID (flag 0x20000000), SRID 4326.
_EWKB = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])


def installed() -> bool:
    """Whether PostgreSQL 15 and PostGIS 3 are installed (nothing is installed here)."""
    return POSTGIS_CONTROL.exists() and (PG_BIN / "initdb").exists()


def ensure_postgis() -> str | None:
    """None when PostGIS 3 for PostgreSQL 15 is usable (installed now if needed), else why not."""
    if importlib.util.find_spec("psycopg") is None:  # no point installing PostGIS then
        return "psycopg is not installed (the bench extra: pip install -e '.[bench]')"
    if installed():
        return None
    if os.geteuid() != 0:
        return f"{PACKAGE} is not installed and installing it needs root"
    log(f"{PACKAGE} not installed: installing it with apt-get")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE],
    ):
        log("$ " + " ".join(command))
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        if done.returncode != 0:
            return f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}"
    if not POSTGIS_CONTROL.exists():
        return f"{POSTGIS_CONTROL} still missing after installing {PACKAGE}"
    return None


def _as_postgres(*command: str) -> list[str]:
    """``command`` run as the ``postgres`` user (initdb and pg_ctl refuse to run as root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def _pg_ctl(data: Path, *args: str) -> list[str]:
    return _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), *args)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")


@contextlib.contextmanager
def cluster(port: int = 55432) -> Iterator[Any]:
    """A started throwaway cluster and an autocommit psycopg connection to it."""
    import psycopg  # the ``bench`` extra

    tmp = Path(tempfile.mkdtemp(prefix="geobench-pg-"))
    data = tmp / "data"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres", "postgres")
        _run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", *INITDB))
        options = f"-p {port} -k {tmp} {SERVER_OPTIONS}"
        _run(_pg_ctl(data, "-l", str(tmp / "server.log"), "-o", options, "-w", "start"))
        started = True
        log(f"PostgreSQL 15 started in {tmp} (socket only, port {port}); options: {SERVER_OPTIONS}")
        with psycopg.connect(host=str(tmp), port=port, user="postgres", autocommit=True) as conn:
            yield conn
    finally:
        if started:
            with contextlib.suppress(BenchError):
                _run(_pg_ctl(data, "-m", "fast", "-w", "stop"))
            log("PostgreSQL stopped")
        shutil.rmtree(tmp, ignore_errors=True)


def _ewkb_hex(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> list[str]:
    """Hex EWKB of each point (exact coordinates, the fastest text form for the server)."""
    points = np.zeros(lat.size, dtype=_EWKB)
    points["order"], points["type"], points["srid"] = 1, 0x20000001, 4326
    points["x"], points["y"] = lon, lat
    text = points.tobytes().hex()
    width = 2 * _EWKB.itemsize
    return [text[i : i + width] for i in range(0, len(text), width)]


def load_locations(conn: Any, columns: dict[str, npt.NDArray[Any]]) -> dict[str, float]:
    """Create the table, COPY the rows (id = row number), build the GiST index, analyse.

    Returns (keys ``pg_*``) the seconds each step took and the table and index sizes in MiB.
    """
    figures: dict[str, float] = {}
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute(
        f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, idnps bigint, participant bool, "
        "first_slot bigint, geog geography(Point, 4326))"
    )
    geoms = _ewkb_hex(columns["lat"], columns["lon"])
    idnps, slots = columns["idnps"].tolist(), columns["first_slot"].tolist()
    flags = ["t" if p else "f" for p in columns["participant"].tolist()]
    started = time.perf_counter()
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {TABLE} (id, idnps, participant, first_slot, geog) FROM STDIN") as copy,
    ):
        for lo in range(0, len(geoms), 100_000):
            rows = range(lo, min(lo + 100_000, len(geoms)))
            copy.write(
                "".join(f"{i}\t{idnps[i]}\t{flags[i]}\t{slots[i]}\t{geoms[i]}\n" for i in rows)
            )
    figures["pg_copy_s"] = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute(f"CREATE INDEX {TABLE}_geog ON {TABLE} USING GIST (geog)")
    figures["pg_index_s"] = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute(f"VACUUM (ANALYZE) {TABLE}")
    figures["pg_analyze_s"] = time.perf_counter() - started
    row = conn.execute(
        f"SELECT pg_relation_size('{TABLE}'), pg_relation_size('{TABLE}_geog')"
    ).fetchone()
    figures["pg_table_mib"], figures["pg_index_mib"] = row[0] / 2**20, row[1] / 2**20
    return figures


_CENTRE = "ST_MakePoint(%(lon)s, %(lat)s)::geography"
_HITS = f"FROM {TABLE} WHERE ST_DWithin(geog, {_CENTRE}, %(metres)s)"
FIRST_20 = "PostGIS ST_DWithin ORDER BY d LIMIT 20"
ALL_HITS = "PostGIS ST_DWithin ORDER BY d (all hits)"
KNN_20 = "PostGIS ST_DWithin ORDER BY <-> LIMIT 20 (KNN)"
_SELECT = f"SELECT id, ST_Distance(geog, {_CENTRE}) AS d {_HITS}"
#: The queries compared, by label; parameters ``lat``, ``lon``, ``metres``.
QUERIES = {
    FIRST_20: f"{_SELECT} ORDER BY d LIMIT 20",
    ALL_HITS: f"{_SELECT} ORDER BY d",
    KNN_20: f"{_SELECT} ORDER BY geog <-> {_CENTRE} LIMIT 20",
}
NOTES = {KNN_20: "index-ordered nearest 20 only: no hit count, no SAS groups"}
#: Hits on the sphere (``use_spheroid => false``), as the gateway counts them.
SPHERE_COUNT = f"SELECT count(*) FROM {TABLE} WHERE ST_DWithin(geog, {_CENTRE}, %(metres)s, false)"


def plan_shape(conn: Any, query: str, params: dict[str, float]) -> str:
    """The plan's node names, outermost first (to show that the GiST index is used)."""
    lines = [r[0] for r in conn.execute("EXPLAIN " + query, params).fetchall()]
    nodes = [line.strip(" ->").split("  (")[0] for line in lines if "(cost=" in line]
    return " > ".join(nodes)


#: (label, p50 ms, p95 ms, ids of the first answer in order, rows returned)
Timing = tuple[str, float, float, list[int], int]


def _fetch(conn: Any, sql: str, params: dict[str, float]) -> list[Any]:
    """Run ``sql`` and fetch every row (client-side, as an application would)."""
    rows: list[Any] = conn.execute(sql, params).fetchall()
    return rows


def compare(
    columns: dict[str, npt.NDArray[Any]],
    params: dict[str, float],
    timer: Callable[[Callable[[], object]], tuple[float, float]],
) -> tuple[list[Timing], dict[str, float]]:
    """In a throwaway cluster: load the rows, then time each of :data:`QUERIES` with ``timer``.

    Returns the timings and the load figures plus ``pg_sphere_hits`` (hits on the sphere).
    """
    timings: list[Timing] = []
    with cluster() as conn:
        figures = load_locations(conn, columns)
        for label, sql in QUERIES.items():
            log(f"{label}: plan {plan_shape(conn, sql, params)}")
            found = _fetch(conn, sql, params)
            p50, p95 = timer(functools.partial(_fetch, conn, sql, params))
            timings.append((label, p50, p95, [r[0] for r in found], len(found)))
        figures["pg_sphere_hits"] = conn.execute(SPHERE_COUNT, params).fetchone()[0]
    return timings, figures
