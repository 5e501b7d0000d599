"""Every bench still runs: each one, with ``--smoke``, goes through all its steps in seconds.

Benches are programs nobody runs until someone measures; a change that breaks one (a crash
in the summary, an option gone) should fail CI instead. A smoke run passes with exit status
0, or 1 (a target missed: expected from a one-second run), and fails with 2 (the bench could
not run), a traceback, or a summary without its table. Parts that need a Debian package
that is not installed (``wrk``, PostGIS) are skipped with the reason: the benches would
install them with apt-get, which a test must not do.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import _postgis

pytestmark = pytest.mark.bench

REPO = Path(__file__).resolve().parents[2]
#: A hung bench must not hang CI. It is asked to stop first (SIGTERM), so that it stops
#: the gateway it started.
TIMEOUT_S = 180
NO_WRK = "wrk is not installed (Debian package wrk; the bench would apt-get install it)"


def _postgis_missing() -> str | None:
    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed (pip install -e '.[bench]')"
    if not _postgis.installed():
        return f"the Debian package {_postgis.PACKAGE} is not installed"
    return None


def run_bench(module: str, *options: str) -> str:
    """``python -m <module> --smoke <options>``: its output, once it exited 0 or 1."""
    # The benches start `gateway serve`: make it import this checkout's code.
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    command = [sys.executable, "-m", module, "--smoke", *options]
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
            pytest.fail(f"{' '.join(command)} still running after {TIMEOUT_S} s:\n{out[-4000:]}")
    assert proc.returncode in (0, 1), (
        f"{' '.join(command)} exited {proc.returncode}:\n{out[-4000:]}"
    )
    assert "Traceback" not in out, out[-4000:]
    return out


def _table(out: str, head: str) -> list[str]:
    """The lines of the table whose header line starts with ``head``, up to a blank line."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(head)]
    assert starts, f"no table headed {head!r} in the output:\n{out[-4000:]}"
    rows = []
    for line in lines[starts[-1] + 2 :]:  # after the header and its ---- rule
        if not line.strip():
            break
        rows.append(line)
    return rows


def test_terminology_bench() -> None:
    if shutil.which("wrk") is None:
        pytest.skip(NO_WRK)
    results = REPO / "bench" / "results"
    before = set(results.iterdir()) if results.is_dir() else set()
    out = run_bench("bench.terminology")
    rows = _table(out, "endpoint ")
    names = ("baseline /health/live", "cached $lookup", "$expand+filter TRE_R38")
    names += ("search JDV_J239", "resolve SM54")
    assert [row[: len(name)] for row, name in zip(rows, names, strict=False)] == list(names)
    assert "no HTTP/socket errors under load" in out  # the targets' PASS/FAIL lines
    assert "smoke run: no results file written" in out
    assert (set(results.iterdir()) if results.is_dir() else set()) == before


@pytest.fixture(scope="module")
def geosearch() -> tuple[str, str | None, str | None]:
    """One smoke run for the tests below: (output, why no HTTP part, why no PostGIS part)."""
    no_http = None if shutil.which("wrk") else NO_WRK
    no_postgis = _postgis_missing()
    options = ["--skip-http"] * bool(no_http) + ["--skip-postgis"] * bool(no_postgis)
    return run_bench("bench.geosearch", *options), no_http, no_postgis


def test_geosearch_bench_in_process(geosearch: tuple[str, str | None, str | None]) -> None:
    out = geosearch[0]
    methods = [row.split("  ")[0] for row in _table(out, "method ")]
    assert methods[:4] == [
        "gateway engine, first page",
        "gateway engine, last page (all ranked)",
        "gateway SearchService, first page",
        "(a) numpy haversine brute force",
    ]
    assert "target p95 < 10 ms in-process" in out


def test_geosearch_bench_through_http(geosearch: tuple[str, str | None, str | None]) -> None:
    out, no_http, _ = geosearch
    if no_http:
        pytest.skip(no_http)
    assert any(row.startswith("gateway HTTP wrk -t1 -c1") for row in _table(out, "method "))
    assert "gateway serve: start-up to /health/ready" in out


def test_geosearch_bench_against_postgis(geosearch: tuple[str, str | None, str | None]) -> None:
    out, _, no_postgis = geosearch
    if no_postgis:
        pytest.skip(no_postgis)
    assert "PostGIS comparison failed" not in out
    methods = [row.split("  ")[0] for row in _table(out, "method ")]
    assert {_postgis.FIRST_20, _postgis.ALL_HITS, _postgis.KNN_20} <= set(methods)


@pytest.mark.parametrize("upstreams", ["stub", "offline"])
def test_soak_bench(upstreams: str) -> None:
    out = run_bench("bench.soak", "--upstreams", upstreams)
    kinds = [row.split("  ")[0] for row in _table(out, "endpoint ") if not row.startswith(" ")]
    assert kinds[0] == "contextual resolve"
    assert kinds[-1] == "TOTAL"
    assert "zero errors: " in out  # its PASS/FAIL line
    assert "server log: " in out
    if upstreams == "stub":  # the summary that crashed on caches with different columns
        caches = out.split("/admin/cache/stats at the end:\n", 1)[1].splitlines()
        names = {line.split()[0] for line in caches[1:] if line.startswith("  ")}
        assert {"terminology", "directory", "geocode"} <= names
        assert "cache bounds: peak entries" in out


def test_cold_oid_bench() -> None:
    out = run_bench("bench.cold_oid")
    (row,) = [line for line in out.splitlines() if line.startswith("#1 ")]
    burst, during, after, later = (row.split()[i] for i in (1, 2, 6, 7))
    assert (burst, during, after, later) == ("20", "1", "20", "0")
    assert "PASS  one SMT search per burst of 20 cold requests" in out


def test_availability_bench() -> None:
    out = run_bench("bench.availability")
    rows = [row for row in _table(out, "refresh  source") if row.startswith("#")]
    assert [row.split()[1] for row in rows] == ["agenda-a", "agenda-b", "agenda-c", "wall"]
    windows = [row.split("  ")[0] for row in _table(out, "window ") if not row.startswith("app")]
    assert windows == [
        "idle",
        "refresh #1: whole call",
        "refresh #1: applied",
        "refresh #1: after the answer",
    ]
    assert "refresh #1: every slot read: 3,000 of 3,000" in out  # the stubs were read
    assert "while refreshes are applied" in out  # the targets' PASS/FAIL lines
    assert "RSS after refresh #1" in out
    assert "smoke run: no results file written" in out


def test_locations_bench() -> None:
    """Three syncs against the stub directory, then the swap (wrk or Python threads)."""
    results = REPO / "bench" / "results"
    before = set(results.iterdir()) if results.is_dir() else set()
    out = run_bench("bench.locations")
    runs = [row.split("  ")[0] for row in _table(out, "run ")[:3]]  # then its legend
    assert runs == ["full sync", "unchanged re-sync", "incremental, 34 moved"]
    assert "(unchanged)" in _table(out, "run ")[1]
    windows = [row.split("  ")[0] for row in _table(out, "/v1/search ")[:3]]
    assert windows == ["before swap", "during swap", "after swap"]
    assert "an unchanged re-sync geocodes nothing" in out  # the targets' PASS/FAIL lines
    assert "/v1/search p95 during the swap" in out
    assert "smoke run: no results file written" in out
    assert (set(results.iterdir()) if results.is_dir() else set()) == before
