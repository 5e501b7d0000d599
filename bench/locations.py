"""``gateway sync locations`` at national size, then ``/v1/search`` during a hot swap.

Starts a stub Annuaire Santé and geocoder CSV endpoint in their own process
(``bench._directory_stub``: ~1.1M PractitionerRoles of ~733k practitioners at ~600k
organizations over real communes, generated page by page), then runs, as subprocesses with
the client quota on (``GATEWAY_ANNUAIRE_RATE``, 17 calls/s):

1. a full ``gateway sync locations --out DIR``: Annuaire calls, wall time against the
   quota-bound minimum (calls / rate, or the stub geocoder's own time when
   ``--geocoder-rows-per-s`` makes it longer: it runs while pages are read), peak RSS
   (``ru_maxrss``), addresses geocoded;
2. the same command again with nothing changed: its time and the rows geocoded (target 0);
3. after the stub moved one organization in 50, an incremental run (a new file to swap in);

then serves the first file with ``gateway serve`` (a snapshot with the demo terminology,
``GATEWAY_LOCATIONS_POLL=0``) and measures ``/v1/search`` (10 km around central Paris)
before, during and after ``POST /admin/locations/reload`` swaps the third file in.

Targets (DESIGN.md §8): sync within 1.2x of the quota bound, RSS < 1.5 GiB, an unchanged
re-sync geocodes nothing, p95 during the swap < 2x before. Exit status 0 met, 1 missed, 2
could not run. See bench/README.md.

    .venv/bin/python -m bench.locations [--roles 1100000] [--organizations 600000]
        [--rate 17] [--duration 10] [--connections 4] [--latency-ms 0]
        [--geocoder-rows-per-s 0] [--smoke]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import REPO, BenchError, add_smoke_option, apply_smoke, log
from bench._locations_sync import StubProcess, SyncFigures, child_env, run_sync
from bench._report import RESULTS_DIR, Check, git_state, machine_info
from bench._sampling import CpuSample, cpu_between, format_rss, rss_report, wait_until_quiet
from bench._server import Server, free_port, http_get, run_bench, serving
from bench._wrk import Wrk, WrkResult, parse_wrk, write_script, wrk_version
from gateway.directory.locations_file import LOCATIONS_FILE, MANIFEST_FILE

DEMO_SNAPSHOT = REPO / "gateway" / "demo" / "snapshot"
SEARCH_PATH = "/v1/search?lat=48.8566&lon=2.3522&radius_km=10&location_type=address"
MAX_RATIO, MAX_RSS_GIB, MAX_SWAP_P95 = 1.2, 1.5, 2.0
OFFLINE_ENV = {f"GATEWAY_{u}_URL": "" for u in ("SMT", "GEOCODER", "ANNUAIRE", "ROR")}
Args = argparse.Namespace


@dataclass(slots=True)
class Window:
    """``/v1/search`` under load during one window (before, during or after the swap)."""

    name: str
    load: WrkResult
    version: str
    note: str = ""


def snapshot_with_terminology(out: Path) -> Path:
    """The demo snapshot's terminology and directory files, without its locations file."""
    for sub in ("terminology", "directory"):
        shutil.copytree(DEMO_SNAPSHOT / sub, out / sub, ignore=shutil.ignore_patterns("*.npz"))
    return out


def publish(source: Path, snapshot: Path) -> None:
    """The sync's npz then its manifest into ``snapshot/directory``, each replaced at once."""
    for name in (LOCATIONS_FILE, MANIFEST_FILE):
        target = snapshot / "directory" / name
        shutil.copyfile(source / name, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").replace(target)


def http_post(url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {"error": exc.read()[:500].decode(errors="replace")}


class Load:
    """``GET`` one path for some seconds: ``wrk`` when installed, else Python threads."""

    def __init__(self, server: Server, connections: int, tmp: Path) -> None:
        self.server, self.connections = server, connections
        binary = shutil.which("wrk")
        script = write_script(tmp / "report.lua")
        self.wrk = Wrk(binary, min(2, connections), connections, script) if binary else None
        self.tool = f"wrk -t{min(2, connections)} -c{connections}" if binary else (
            f"Python, {connections} keep-alive connections (wrk is not installed)")  # fmt: skip
        self.version = wrk_version(binary) if binary else "none"

    def measured(self, name: str, seconds: float) -> WrkResult:
        """:meth:`run`, with the server's cores and the other processes' share of the CPUs."""
        before = CpuSample.take(self.server.pid)
        result = self.run(name, seconds)
        share = cpu_between(before, CpuSample.take(self.server.pid))
        result.server_cores, result.foreign_load = share.server_cores, share.foreign_load
        return result

    def run(self, name: str, seconds: float) -> WrkResult:
        if self.wrk is not None:
            output = self.wrk.run(self.server.base + SEARCH_PATH, seconds)
            return parse_wrk(name, SEARCH_PATH, output)
        return self._python(name, seconds)

    def _python(self, name: str, seconds: float) -> WrkResult:
        latencies: list[float] = []
        errors = [0]
        stop = time.monotonic() + seconds

        def client() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            mine = []
            while time.monotonic() < stop:
                started = time.perf_counter()
                connection.request("GET", SEARCH_PATH)
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                errors[0] += response.status != 200
            latencies.extend(mine)
            connection.close()

        threads = [threading.Thread(target=client) for _ in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ms = sorted(x * 1000 for x in latencies) or [0.0]

        def pick(q: float) -> float:
            return ms[min(len(ms) - 1, math.ceil(q * len(ms)) - 1)]

        return WrkResult(name, SEARCH_PATH, len(latencies), seconds, len(latencies) / seconds,
                         pick(0.5), pick(0.9), pick(0.95), pick(0.99), ms[-1],
                         statistics.fmean(ms), {}, errors[0], errors[0])  # fmt: skip


def served_version(server: Server) -> str:
    """``X-Locations-Version`` of a search (``BenchError`` unless it answers 200)."""
    request = urllib.request.Request(server.base + SEARCH_PATH)
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200:
            raise BenchError(f"GET {SEARCH_PATH} answered {response.status}")
        response.read()
        return str(response.headers.get("X-Locations-Version", ""))


def bench_swap(snapshot: Path, new: Path, new_version: str, args: Args, tmp: Path) -> Any:
    """``gateway serve`` on ``snapshot``; /v1/search before, during, after the reload."""
    server = Server(snapshot=snapshot, port=free_port(), access_log=False, log_level="INFO",
                    workers=None, log_file=tmp / "gateway.log")  # fmt: skip
    server.env = child_env(OFFLINE_ENV | {"GATEWAY_LOCATIONS_POLL": "0"}) | {
        "GATEWAY_SNAPSHOT_DIR": str(snapshot), "GATEWAY_ACCESS_LOG": "false"}  # fmt: skip
    figures: dict[str, Any] = {}
    with serving(server):
        started = time.monotonic()
        ready = server.start(timeout_s=300)
        figures["ready_s"] = time.monotonic() - started
        figures["rss_ready"] = rss_report(server.pid)
        log(f"gateway ready in {figures['ready_s']:.1f} s: {ready.get('locations')}; "
            f"{format_rss(figures['rss_ready'])}")  # fmt: skip
        load = Load(server, args.connections, tmp)
        figures["load_tool"], figures["wrk"] = load.tool, load.version
        before_version = served_version(server)
        for _ in range(50):
            http_get(server.base + SEARCH_PATH, timeout=30)
        load.run("warm-up", min(2, args.duration))
        started = time.monotonic()
        status, same = http_post(server.base + "/admin/locations/reload", timeout=300)
        figures["reload_same_s"] = time.monotonic() - started
        if status != 200 or same.get("changed") is not False:
            raise BenchError(f"reload of the same file: HTTP {status} {same}")
        log(f"reload of the same file: {figures['reload_same_s']:.2f} s, changed=false "
            f"({same['locations']:,} locations)")  # fmt: skip
        wait_until_quiet(time.monotonic() + args.wait_quiet, server.pid)
        windows = [
            Window("before swap", load.measured("before swap", args.duration), before_version)
        ]
        publish(new, snapshot)
        # The swap window: 1 s of load, the reload, 1 s more (as long as the reload above).
        seconds = max(3, math.ceil(figures["reload_same_s"]) + 2)
        result: list[WrkResult] = []
        runner = threading.Thread(
            target=lambda: result.append(load.measured("during swap", seconds))
        )
        runner.start()
        time.sleep(1)
        started = time.monotonic()
        status, swapped = http_post(server.base + "/admin/locations/reload", timeout=300)
        figures["reload_s"] = time.monotonic() - started
        runner.join()
        figures["rss_after_swap"] = rss_report(server.pid)
        if status != 200 or not swapped.get("changed") or swapped["version"] != new_version:
            raise BenchError(f"the swap did not happen: HTTP {status} {swapped}")
        note = f"reload {figures['reload_s']:.2f} s of a {seconds} s window"
        if figures["reload_s"] > seconds - 1:
            note += " (the reload outlasted the window)"
        log(f"swap: {before_version} -> {swapped['version']} ({swapped['locations']:,} "
            f"locations), {note}")  # fmt: skip
        windows.append(Window("during swap", result[0], swapped["version"], note))
        after = load.measured("after swap", args.duration)
        windows.append(Window("after swap", after, served_version(server)))
        figures["rss_end"] = rss_report(server.pid)
        figures["rss_reloads"] = more_reloads(server, snapshot, [tmp / "first", new], args.reloads)
    return windows, figures


def more_reloads(server: Server, snapshot: Path, files: list[Path], count: int) -> list[Any]:
    """``count`` more swaps, alternating the first and the last file (a real change each
    time): the worker's RSS after each shows whether replaced indexes are given back."""
    reports = []
    for n in range(count):
        publish(files[n % 2], snapshot)
        status, body = http_post(server.base + "/admin/locations/reload", timeout=300)
        if status != 200 or not body.get("changed"):
            raise BenchError(f"reload {n + 2}: HTTP {status} {body}")
        reports.append(rss_report(server.pid))
        log(f"reload {n + 2} ({body['version']}): {format_rss(reports[-1])}")
    return reports


def print_report(syncs: list[SyncFigures], windows: list[Window], figures: dict[str, Any]) -> None:
    if syncs:
        print_syncs(syncs)
    if windows:
        print_windows(windows, figures)


def print_syncs(syncs: list[SyncFigures]) -> None:
    head = (
        f"{'run':<30} {'wall s':>8} {'calls':>6} {'bound s':>8} {'ratio':>7} "
        f"{'peak RSS':>9} {'addresses':>9} {'geocoded':>9} {'locations':>9} {'other':>6}  version"
    )
    print(f"\n{head}\n{'-' * len(head)}")
    for s in syncs:
        m = s.summary
        version = m["version"] + ("" if m["changed"] else " (unchanged)")
        print(f"{s.label:<30} {s.wall_s:>8.1f} {s.calls:>6} {s.bound_s:>8.1f} {s.ratio:>6.2f}x "
              f"{s.peak_rss_kib / 2**20:>5.2f} GiB {m['addresses']:>9} {s.geocoder_rows:>9} "
              f"{m['locations']:>9} {s.foreign_load:>6.0%}  {version}")  # fmt: skip
    print(
        "calls: Annuaire calls the stub answered; bound: calls / quota (or the stub "
        "geocoder's rows / throughput when longer); addresses: new "
        "addresses the sync found; geocoded: rows the geocoder stub received; other: share of "
        "the machine's CPU used by other processes"
    )
    first = syncs[0]
    print(f"full sync: {first.summary['roles']:,} roles read, {first.summary['practitioners']:,} "
          f"practitioners exported ({first.summary['out_of_scope']:,} locations out of the SAS "
          f"scope, {first.summary['unplaced']} unplaced); precision "
          f"{first.manifest.get('precision')}; stub busy {first.stub_busy_s:.1f} s")  # fmt: skip


def print_windows(windows: list[Window], figures: dict[str, Any]) -> None:
    head = (f"{'/v1/search (10 km, Paris)':<26} {'requests':>9} {'req/s':>7} {'p50 ms':>8} "
            f"{'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7} {'srv cpu':>7} {'other':>6}"
            "  version / note")  # fmt: skip
    print(f"\n{head}\n{'-' * len(head)}")
    for w in windows:
        r = w.load
        print(f"{w.name:<26} {r.requests:>9} {r.requests_per_s:>7.0f} {r.p50_ms:>8.2f} "
              f"{r.p95_ms:>8.2f} {r.p99_ms:>8.2f} {r.max_ms:>8.1f} {r.errors:>7} "
              f"{r.server_cores:>7.2f} {r.foreign_load:>6.0%}  {w.version}"
              f"{'; ' + w.note if w.note else ''}")  # fmt: skip
    print(f"load: {figures['load_tool']}; gateway ready in {figures['ready_s']:.1f} s; reload "
          f"of the same file {figures['reload_same_s']:.2f} s")  # fmt: skip
    print(f"server RSS after the swap: {format_rss(figures['rss_after_swap'])}")
    for n, report in enumerate(figures["rss_reloads"], start=2):
        print(f"server RSS after reload {n}: {format_rss(report)}")


def check(syncs: list[SyncFigures], windows: list[Window]) -> list[Check]:
    checks = sync_checks(*syncs[:2]) if syncs else []
    if windows:
        before, during = windows[0].load.p95_ms, windows[1].load.p95_ms
        ratio = during / before if before else float("inf")
        errors = sum(w.load.errors for w in windows)
        detail = f"{during:.2f} / {before:.2f} ms = {ratio:.2f}x, {errors} errors"
        name = f"/v1/search p95 during the swap < {MAX_SWAP_P95:g}x before"
        checks.append(Check(name, ratio < MAX_SWAP_P95 and errors == 0, detail))
    return checks


def sync_checks(full: SyncFigures, again: SyncFigures) -> list[Check]:
    return [
        Check(f"full sync within {MAX_RATIO}x of the quota bound", full.ratio <= MAX_RATIO,
              f"{full.wall_s:.1f} s for {full.calls} calls at {full.rate:g}/s "
              f"(bound {full.bound_s:.1f} s) = {full.ratio:.2f}x"),
        Check(f"sync peak RSS < {MAX_RSS_GIB} GiB", full.peak_rss_kib < MAX_RSS_GIB * 2**20,
              f"{full.peak_rss_kib / 2**20:.2f} GiB"),
        Check("an unchanged re-sync geocodes nothing",
              again.geocoder_rows == 0 and again.summary["geocoded"] == 0,
              f"{again.geocoder_rows} rows to the geocoder, {again.summary['geocoded']} "
              f"addresses geocoded, in {again.wall_s:.1f} s"),
    ]  # fmt: skip


def write_results(args: Args, syncs: list[SyncFigures], windows: list[Window],
                  figures: dict[str, Any], checks: list[Check]) -> Path:  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"locations-{stamp}.json"
    document = {
        "timestamp": stamp, "config": {k: str(v) for k, v in vars(args).items()},
        "machine": machine_info(figures.get("wrk", "none")), "code": git_state(),
        "syncs": [asdict(s) | {"bound_s": s.bound_s, "ratio": s.ratio} for s in syncs],
        "search": [asdict(w) for w in windows], "server": figures,
        "targets": [asdict(c) for c in checks],
    }  # fmt: skip
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def run_syncs(args: Args, work: Path, snapshot: Path) -> list[SyncFigures]:
    """The three syncs; ``work/first`` keeps the first file (served before the swap) and
    ``work/sync`` ends with the third (swapped in)."""
    log(f"stub directory: {args.roles:,} roles at {args.organizations:,} organizations")
    with StubProcess(
        args.roles, args.organizations, args.latency_ms, work / "stub.log",
        args.geocoder_rows_per_s,
    ) as stub:  # fmt: skip
        wait_until_quiet(time.monotonic() + args.wait_quiet, stub.pid)
        log(f"stub at {stub.base}: {stub.practitioners:,} practitioners; Annuaire quota "
            f"{args.rate:g} calls/s")  # fmt: skip
        env = stub.env(args.rate) | {"GATEWAY_SNAPSHOT_DIR": str(snapshot)}
        env |= {"GATEWAY_SMT_URL": "", "GATEWAY_ROR_URL": ""}
        out, syncs = work / "sync", []
        options = {"rate": args.rate, "every_s": args.progress_s, "log_file": work / "sync.log"}
        for label in ("full sync", "unchanged re-sync"):
            syncs.append(run_sync(label, out, env, stub, **options))
        (work / "first").mkdir(exist_ok=True)
        for name in (LOCATIONS_FILE, MANIFEST_FILE):
            shutil.copyfile(out / name, work / "first" / name)
        moved = stub.move_organizations()
        syncs.append(run_sync(f"incremental, {moved:,} moved", out, env, stub, **options))
    return syncs


def bench(args: Args) -> int:
    work = args.keep or Path(tempfile.mkdtemp(prefix="locbench-"))
    try:
        snapshot = work / "snapshot"
        if args.swap_only:
            if not (work / "first" / MANIFEST_FILE).exists():
                raise BenchError(f"--swap-only: no earlier run kept in {work} (--keep DIR)")
            syncs: list[SyncFigures] = []
        else:
            if args.keep and args.keep.exists() and any(args.keep.iterdir()):
                raise BenchError(f"--keep {args.keep}: not empty (--swap-only reuses it)")
            work.mkdir(parents=True, exist_ok=True)
            snapshot_with_terminology(snapshot)
            syncs = run_syncs(args, work, snapshot)
        windows: list[Window] = []
        figures: dict[str, Any] = {}
        if not args.skip_swap:
            publish(work / "first", snapshot)
            version = json.loads((work / "sync" / MANIFEST_FILE).read_text())["version"]
            windows, figures = bench_swap(snapshot, work / "sync", version, args, work)
        print_report(syncs, windows, figures)
        checks = check(syncs, windows)
        print()
        for c in checks:
            print(f"{'PASS' if c.passed else 'FAIL'}  {c.name}: {c.detail}")
        if args.smoke:
            print("smoke run: no results file written")
        else:
            written = write_results(args, syncs, windows, figures, checks)
            print(f"results written to {written.relative_to(REPO)}")
        if args.keep:
            print(f"files kept in {work} (--swap-only --keep {work} measures the swap again)")
        return 0 if all(c.passed for c in checks) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.locations", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--roles", type=int, default=1_100_000, help="PractitionerRoles")
    parser.add_argument("--organizations", type=int, default=600_000)
    parser.add_argument("--rate", type=float, default=17.0,
                        help="GATEWAY_ANNUAIRE_RATE for the sync (the quota, calls/s)")  # fmt: skip
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="added to every Annuaire answer of the stub")  # fmt: skip
    parser.add_argument("--geocoder-rows-per-s", type=float, default=0.0,
                        help="the stub geocoder's throughput (0: instant)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of load before and after the swap")  # fmt: skip
    parser.add_argument("--connections", type=int, default=4, help="concurrent searches")
    quiet = "max s to wait for an idle machine before the syncs and before the swap"
    parser.add_argument("--wait-quiet", type=float, default=30.0, help=quiet)
    parser.add_argument("--progress-s", type=float, default=15.0, help="progress line period")
    parser.add_argument("--skip-swap", action="store_true", help="syncs only, no gateway")
    parser.add_argument("--reloads", type=int, default=3,
                        help="more swaps after the measured one, for the server's RSS")  # fmt: skip
    keep = "work in DIR (empty or new) and keep its files and logs"
    parser.add_argument("--keep", type=Path, metavar="DIR", help=keep)
    again = "only the swap, on the files an earlier --keep DIR run left"
    parser.add_argument("--swap-only", action="store_true", help=again)
    add_smoke_option(parser, "3,000 roles, quota 1,000/s, 1 s of load per window")
    args = parser.parse_args(argv)
    apply_smoke(args, roles=3000, organizations=1700, rate=1000.0, duration=1.0,
                connections=2, progress_s=2.0, wait_quiet=0.0, reloads=1)  # fmt: skip
    if args.swap_only and (args.keep is None or args.skip_swap):
        parser.error("--swap-only needs --keep DIR (and no --skip-swap)")
    if args.roles < 1 or args.organizations < 1 or args.organizations > args.roles:
        parser.error("--roles and --organizations must be >= 1, organizations <= roles")
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main())
