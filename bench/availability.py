"""Availability refresh: 50,000 subscriptions over 3 rate-limited agenda sources.

    .venv/bin/python -m bench.availability [--subscriptions 50000] [--sources 3] [--rate 20]
        [--page-size 200] [--refreshes 2] [--rps 40] [--snapshot DIR] [--smoke]

Generates a snapshot (``gateway demo generate``, 60,000 practitioners) or reuses
``--snapshot``, subscribes ``--subscriptions`` of its practitioners to ``--sources`` stub
psindiv agenda sources (``bench._agenda_stub``, in their own process; ``--slots`` free
slots per practitioner, pages of ``--page-size`` slots chained by ``next`` links), starts
``gateway serve`` over it with those sources in a copy of ``mappings/`` (rate limit
``--rate`` calls/s each; ``GATEWAY_AVAILABILITY_INTERVAL`` one day, so that only the
bench's ``POST /admin/availability/refresh`` reads them once the start-up refresh, answered
with empty Bundles, is over), then measures:

* each refresh's wall time (the POST, from the call to the answer: reading, swapping and
  rebuilding the search table) against the rate-limit bound, the calls each source must
  answer (batches of 25 IDNPS x pages per batch) over its rate, sources in parallel;
* the slots held and the gateway's RSS before the first refresh and after each;
* ``GET /v1/search`` around Paris (10 km, address ranking) sent at a steady ``--rps``
  (open loop): p50/p95/p99 idle, during each whole refresh call, and while it is applied
  (from the first source's last page to the answer: swaps and table rebuilds; and
  ``AFTER_S`` after the answer, while the replaced slots are freed).

Targets (DESIGN.md §8): wall time <= 1.3x the bound; p99 while applied < 2x idle. Also
checked: every slot read, no error. Exit status 0 targets met, 1 missed, 2 no bench.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np

from bench._common import REPO, BenchError, add_smoke_option, apply_smoke, log
from bench._report import FOREIGN_LOAD_WARN, RESULTS_DIR, Check, git_state, machine_info
from bench._sampling import (
    format_rss,
    machine_jiffies,
    rss_report,
    tree_cpu_s,
    wait_until_quiet,
)
from bench._server import Server, free_port, run_bench, serving
from bench.geosearch import generate
from gateway.availability.reader import BATCH
from gateway.availability.subscriptions import (
    SUBSCRIPTIONS_FILE,
    Subscription,
    format_subscriptions,
)
from gateway.directory.locations_file import LOCATIONS_FILE, load_columns
from gateway.settings import DEFAULT_MAPPINGS_DIR

#: Targets (DESIGN.md §8).
MAX_BOUND_RATIO, MAX_P99_RATIO = 1.3, 2.0
#: Upstreams off (snapshot only): the agenda stubs are the only network the gateway sees.
OFFLINE_ENV = {f"GATEWAY_{u}_URL": "" for u in ("SMT", "GEOCODER", "ANNUAIRE", "ROR")}
WINDOW_HOURS, INTERVAL_S = 72, 86_400
#: Searches measured after each refresh's answer: the replaced slots are freed then (the
#: gateway's reaper looks every second for the last table using them to be gone).
AFTER_S = 2.5
DEMO_SNAPSHOT = REPO / "gateway" / "demo" / "snapshot"  # 5,000 practitioners: --smoke
#: Central Paris and four points 2-4 km around it: 10 km searches over the densest area.
PARIS = [
    (48.8566, 2.3522),
    (48.8738, 2.2950),
    (48.8420, 2.3210),
    (48.8867, 2.3431),
    (48.8462, 2.3964),
]
SEARCHES = [
    f"/v1/search?lat={lat}&lon={lon}&radius_km=10&location_type=address&seed=bench{i}" + extra
    for i, (lat, lon) in enumerate(PARIS)
    for extra in ("", "&consultation=AMB", "&page=2")
]
Figures = dict[str, Any]


# -- setup -----------------------------------------------------------------------------------
def prepare(args: argparse.Namespace, tmp: Path) -> tuple[Path, dict[str, int]]:
    """The snapshot to serve (generated, or ``--snapshot``'s files copied) with the bench's
    subscriptions; subscriptions per source."""
    snapshot = tmp / "snapshot"
    if args.snapshot is None:
        generate(snapshot, args.practitioners)
    else:  # copied: the snapshot loader does not follow a linked directory
        for name in ("terminology", "directory"):
            shutil.copytree(args.snapshot / name, snapshot / name)
    columns, _ = load_columns(snapshot / "directory" / LOCATIONS_FILE)
    practitioners = np.unique(columns["idnps"])
    if practitioners.size < args.subscriptions:
        raise BenchError(
            f"the snapshot has {practitioners.size:,} practitioners, fewer than the "
            f"{args.subscriptions:,} subscriptions asked (--practitioners, --snapshot)"
        )
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(practitioners, size=args.subscriptions, replace=False))
    beyond = rng.random(chosen.size) < 0.10
    names = source_names(args.sources)
    items = [
        Subscription(str(idnps), names[i % len(names)], True, beyond_slots=bool(extra))
        for i, (idnps, extra) in enumerate(zip(chosen, beyond, strict=True))
    ]
    path = snapshot / SUBSCRIPTIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_subscriptions(items, ["bench.availability"]), encoding="utf-8")
    per_source = {n: sum(1 for s in items if s.source == n) for n in names}
    log(f"{len(items):,} subscriptions of {practitioners.size:,} practitioners: {per_source}")
    return snapshot, per_source


def source_names(count: int) -> list[str]:
    """agenda-a, agenda-b… (``bench._agenda_stub`` names its servers the same way)."""
    return [f"agenda-{chr(ord('a') + i)}" for i in range(count)]


def write_mappings(out: Path, urls: dict[str, str], rate: float) -> Path:
    """A copy of the committed ``mappings/`` whose only agenda sources are the stubs."""
    shutil.copytree(DEFAULT_MAPPINGS_DIR, out)
    rows = [f"{name},psindiv,{url},{rate:g},{WINDOW_HOURS}" for name, url in urls.items()]
    text = "\n".join(["# bench.availability", "name,kind,base_url,rate_per_s,window_hours", *rows])
    (out / "agenda_sources.csv").write_text(text + "\n", encoding="utf-8")
    return out


@dataclass(slots=True)
class Stubs:
    """The stub agenda process (ours: stopped by closing its stdin, else killed by pid)."""

    proc: subprocess.Popen[str]
    urls: dict[str, str]

    def control(self, name: str, path: str) -> dict[str, Any]:
        url = self.urls[name].removesuffix("/fhir") + path
        response = httpx.request("POST" if "offer" in path else "GET", url, timeout=5.0)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: self.control(name, "/_bench/stats") for name in self.urls}


@contextlib.contextmanager
def agenda_stubs(args: argparse.Namespace, snapshot: Path, log_file: Path) -> Iterator[Stubs]:
    command = [sys.executable, "-m", "bench._agenda_stub", "--snapshot", str(snapshot)]
    command += [f"--sources={args.sources}", f"--slots={args.slots}"]
    command += [f"--page-size={args.page_size}"]
    with log_file.open("w") as errors:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            try:
                urls = json.loads(_first_line(proc.stdout, 60.0))["urls"]
            except (ValueError, KeyError) as exc:
                raise BenchError(f"agenda stubs not started ({exc}): {_tail(log_file)}") from None
            log(f"agenda stubs (pid {proc.pid}): {urls}")
            yield Stubs(proc, urls)
        finally:
            if proc.stdin is not None:
                proc.stdin.close()  # the stub's signal to stop
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _first_line(stream: IO[str] | None, timeout_s: float) -> str:
    """The first line of ``stream``, or "" after ``timeout_s`` (read in a thread)."""
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline() if stream else ""))
    reader.daemon = True
    reader.start()
    reader.join(timeout_s)
    return found[0] if found else ""


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


# -- load ------------------------------------------------------------------------------------
@dataclass(slots=True)
class Sample:
    at: float  # wall clock when sent (the stubs report wall-clock instants too)
    ms: float
    error: str | None


async def steady_load(base: str, rps: float, stop: asyncio.Event, out: list[Sample]) -> None:
    """``GET`` :data:`SEARCHES` in turn at ``rps`` requests per second (open loop: a slow
    answer does not delay the next request) until ``stop`` is set."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)

    async def one(client: httpx.AsyncClient, path: str) -> None:
        at, started = time.time(), time.perf_counter()
        try:
            response = await client.get(path)
            error = None if response.status_code == 200 else f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            error = type(exc).__name__
        out.append(Sample(at, (time.perf_counter() - started) * 1000, error))

    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits) as client:
        tasks: set[asyncio.Task[None]] = set()
        due, sent = time.monotonic(), 0
        while not stop.is_set():
            task = asyncio.create_task(one(client, SEARCHES[sent % len(SEARCHES)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent, due = sent + 1, due + 1 / rps
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, due - time.monotonic()))
        await asyncio.gather(*tasks)


def latency(samples: list[Sample], lo: float, hi: float) -> Figures:
    """Requests sent in ``[lo, hi]`` (wall clock): count, errors, percentiles (ms)."""
    kept = [s for s in samples if lo <= s.at <= hi]
    ok = [s.ms for s in kept if s.error is None]
    return percentiles(ok, len(kept) - len(ok), hi - lo)


def percentiles(ms: list[float], errors: int, seconds: float) -> Figures:
    """p50/p95/p99/max of the answered requests' ``ms``, with the counts."""
    figures: Figures = {"requests": len(ms) + errors, "errors": errors, "seconds": seconds}
    for name, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99), ("max_ms", 100)):
        figures[name] = float(np.percentile(ms, q)) if ms else math.nan
    return figures


@dataclass(slots=True)
class CpuMeter:
    """Cores used by the gateway, the agenda stubs and this process, and the share of the
    machine used by the other processes, between the last two ``take()``."""

    server: int
    stubs: int
    marks: list[tuple[float, float, float, float, int, int]] = field(default_factory=list)

    def take(self) -> None:
        busy, total = machine_jiffies()
        own = os.times()
        self.marks.append(
            (
                time.monotonic(),
                tree_cpu_s(self.server),
                tree_cpu_s(self.stubs),
                own.user + own.system,
                busy,
                total,
            )
        )

    def figures(self) -> Figures:
        (w0, s0, a0, b0, busy0, total0), (w1, s1, a1, b1, busy1, total1) = self.marks[-2:]
        wall, ticks = max(w1 - w0, 1e-6), os.sysconf("SC_CLK_TCK")
        ours = (s1 - s0) + (a1 - a0) + (b1 - b0)
        other = max(0.0, (busy1 - busy0) / ticks - ours) / max((total1 - total0) / ticks, 1e-6)
        return {
            "server_cores": (s1 - s0) / wall,
            "stub_cores": (a1 - a0) / wall,
            "bench_cores": (b1 - b0) / wall,
            "other_load": min(1.0, other),
        }


# -- the run ---------------------------------------------------------------------------------
def bounds(per_source: dict[str, int], args: argparse.Namespace) -> dict[str, Figures]:
    """Per source: the calls it must answer (batches of 25, each paged by the stub) and the
    rate-limit bound (those calls over its rate)."""
    out = {}
    for name, subscribed in per_source.items():
        sizes = [min(BATCH, subscribed - i) for i in range(0, subscribed, BATCH)]
        calls = sum(max(1, math.ceil(n * args.slots / args.page_size)) for n in sizes)
        out[name] = {"batches": len(sizes), "calls": calls, "bound_s": calls / args.rate}
    return out


async def wait_for_sources(admin: httpx.AsyncClient, names: list[str], timeout_s: float) -> None:
    """Until every source has had a good refresh (the one the gateway runs at start-up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sources = (await admin.get("/health/ready")).json()["availability"]["sources"]
        errors = {n: s["error"] for n, s in sources.items() if s.get("error")}
        if errors:
            raise BenchError(f"agenda sources failed at start-up: {errors}")
        if all((sources.get(n) or {}).get("last_success") for n in names):
            return
        await asyncio.sleep(0.5)
    raise BenchError(f"the start-up refresh did not end within {timeout_s:.0f} s")


async def one_refresh(
    server: Server, stubs: Stubs, args: argparse.Namespace, number: int
) -> Figures:
    """One ``POST /admin/availability/refresh`` under the steady search load."""
    samples: list[Sample] = []
    stop, meter = asyncio.Event(), CpuMeter(server.pid, stubs.proc.pid)
    await asyncio.to_thread(wait_until_quiet, time.monotonic() + args.wait_quiet, server.pid)
    before = await asyncio.to_thread(stubs.stats)
    load = asyncio.create_task(steady_load(server.base, args.rps, stop, samples))
    await asyncio.sleep(1.0)  # the load runs before the refresh starts
    meter.take()
    async with httpx.AsyncClient(base_url=server.base, timeout=3600.0) as admin:
        started = time.time()
        response = await admin.post("/admin/availability/refresh")
        answered = time.time()
    await asyncio.sleep(AFTER_S)
    meter.take()
    stop.set()
    await load
    if response.status_code != 200:
        raise BenchError(f"refresh #{number}: HTTP {response.status_code} {response.text[:500]}")
    after = await asyncio.to_thread(stubs.stats)
    read_until = {n: s["last_call"] for n, s in after.items()}
    if any(s["calls"] == before[n]["calls"] for n, s in after.items()):
        raise BenchError(f"refresh #{number}: a stub was not called ({after})")
    apply_from = min(read_until.values())
    sources = response.json()["sources"]
    for name, figures in sources.items():
        stub, was = after[name], before[name]
        figures["stub_calls"] = stub["calls"] - was["calls"]
        figures["stub_bad_queries"] = stub["bad"] - was["bad"]
        figures["read_s"] = stub["last_call"] - started
    return {
        "number": number,
        "wall_s": answered - started,
        "apply_s": answered - apply_from,
        "sources": sources,
        "during": latency(samples, started, answered),
        "applied": latency(samples, apply_from, answered + AFTER_S),
        "applied_ms": [
            s.ms for s in samples if apply_from <= s.at <= answered + AFTER_S and not s.error
        ],
        "after": latency(samples, answered, answered + AFTER_S),
        "cpu": meter.figures(),
        "rss_after": rss_report(server.pid),
    }


async def drive(server: Server, stubs: Stubs, args: argparse.Namespace, run: Figures) -> None:
    names = list(stubs.urls)
    async with httpx.AsyncClient(base_url=server.base, timeout=30.0) as admin:
        started = time.monotonic()
        await wait_for_sources(
            admin, names, 60.0 + 5 * max(b["bound_s"] for b in run["bounds"].values())
        )
        log(f"start-up refresh (empty Bundles) over after {time.monotonic() - started:.1f} s")
        for path in SEARCHES:
            response = await admin.get(path)
            if response.status_code != 200:
                raise BenchError(f"GET {path}: HTTP {response.status_code} {response.text[:300]}")
            run.setdefault("hits", response.json()["total"])
    run["rss_before"] = rss_report(server.pid)
    log("RSS before the first refresh: " + format_rss(run["rss_before"]))
    samples: list[Sample] = []
    stop, meter = asyncio.Event(), CpuMeter(server.pid, stubs.proc.pid)
    await asyncio.to_thread(wait_until_quiet, time.monotonic() + args.wait_quiet, server.pid)
    asyncio.get_running_loop().call_later(args.idle_s, stop.set)
    started_at = time.time()
    meter.take()
    await steady_load(server.base, args.rps, stop, samples)
    meter.take()
    run["idle"] = latency(samples, started_at, time.time())
    run["idle_cpu"] = meter.figures()
    log(f"idle: {_line(run['idle'])}")
    for name in names:
        await asyncio.to_thread(stubs.control, name, "/_bench/offer?mode=full")
    run["refreshes"] = []
    for number in range(1, args.refreshes + 1):
        log(f"refresh #{number}: POST /admin/availability/refresh under {args.rps:g} searches/s")
        done = await one_refresh(server, stubs, args, number)
        run["refreshes"].append(done)
        log(f"refresh #{number}: {done['wall_s']:.1f} s; during: {_line(done['during'])}")
        log(
            f"refresh #{number}: applied in the last {done['apply_s']:.2f} s: "
            f"{_line(done['applied'])}"
        )
    done_all = run["refreshes"]
    run["applied"] = percentiles(
        [ms for r in done_all for ms in r["applied_ms"]],
        sum(r["applied"]["errors"] for r in done_all),
        sum(r["applied"]["seconds"] for r in done_all),
    )
    async with httpx.AsyncClient(base_url=server.base, timeout=30.0) as admin:
        cards = (await admin.get(SEARCHES[0])).json()["results"]
    run["cards_with_slots"] = sum(1 for c in cards if c.get("slots"))
    if not run["cards_with_slots"]:
        raise BenchError(f"no card of {SEARCHES[0]} carries slots after the refreshes")


def _line(f: Figures) -> str:
    return (
        f"{f['requests']} requests, p50 {f['p50_ms']:.2f} ms, p95 {f['p95_ms']:.2f} ms, "
        f"p99 {f['p99_ms']:.2f} ms, max {f['max_ms']:.1f} ms, {f['errors']} errors"
    )


# -- report ----------------------------------------------------------------------------------
def report(run: Figures, args: argparse.Namespace) -> list[Check]:
    """Print the tables and the targets; the checks."""
    bound = max(b["bound_s"] for b in run["bounds"].values())
    subscribed = sum(run["per_source"].values())
    expected_slots = subscribed * args.slots
    print(
        f"\n{subscribed:,} subscriptions over {len(run['per_source'])} psindiv sources at "
        f"{args.rate:g} calls/s each, {args.slots} slots per practitioner, pages of "
        f"{args.page_size} slots; batches of {BATCH}, GATEWAY_AVAILABILITY_CONCURRENCY "
        f"{args.concurrency or 'default'}"
    )
    head = (
        f"{'refresh':<8} {'source':<10} {'subscribed':>10} {'calls':>6} {'bound s':>8} "
        f"{'took s':>7} {'x bound':>8} {'calls/s':>8} {'slots':>9} {'problems':>8}  error"
    )
    print(head)
    print("-" * len(head))
    for r in run["refreshes"]:
        for name, f in r["sources"].items():
            b = run["bounds"][name]
            rate = f["calls"] / f["read_s"] if f["read_s"] > 0 else math.nan
            print(
                f"#{r['number']:<7} {name:<10} {f['subscribed']:>10,} {f['calls']:>6} "
                f"{b['bound_s']:>8.1f} {f['duration_s']:>7.1f} "
                f"{f['duration_s'] / b['bound_s']:>7.2f}x {rate:>8.1f} {f['slots']:>9,} "
                f"{f['problems']:>8}  {f['error'] or ''}"
            )
        slots = sum(f["slots"] for f in r["sources"].values())
        calls = sum(f["calls"] for f in r["sources"].values())
        print(
            f"#{r['number']:<7} {'wall':<10} {subscribed:>10,} {calls:>6} {bound:>8.1f} "
            f"{r['wall_s']:>7.1f} {r['wall_s'] / bound:>7.2f}x {'':>8} {slots:>9,}"
        )
    print(
        "bound: the calls a source must answer (batches of 25 x pages per batch) / its rate, "
        "sources in parallel; took: the source's refresh (read + table rebuild); wall: the "
        "POST, call to answer"
    )
    print(
        "\nGET /v1/search, 10 km around Paris, address ranking, "
        f"{args.rps:g} requests/s (open loop), {run['hits']:,} hits"
    )
    head = (
        f"{'window':<34} {'seconds':>8} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'errors':>6}"
    )
    print(head)
    print("-" * len(head))
    rows = [("idle", run["idle"])]
    for r in run["refreshes"]:
        rows += [
            (f"refresh #{r['number']}: whole call", r["during"]),
            (f"refresh #{r['number']}: applied", r["applied"]),
            (f"refresh #{r['number']}: after the answer", r["after"]),
        ]
    if len(run["refreshes"]) > 1:
        rows.append(("every refresh: applied", run["applied"]))
    for label, f in rows:
        print(
            f"{label:<34} {f['seconds']:>8.1f} {f['requests']:>8} {f['p50_ms']:>8.2f} "
            f"{f['p95_ms']:>8.2f} {f['p99_ms']:>8.2f} {f['max_ms']:>8.1f} {f['errors']:>6}"
        )
    print(
        "applied: from the first source's last page to the answer (swaps, table rebuilds) "
        f"and {AFTER_S:g} s after it (replaced slots freed); after the answer: those "
        f"{AFTER_S:g} s alone; every refresh: the applied windows together"
    )
    print()
    cpu = [("idle", run["idle_cpu"])] + [
        (f"refresh #{r['number']}", r["cpu"]) for r in run["refreshes"]
    ]
    for label, c in cpu:
        print(
            f"{label} cores: gateway {c['server_cores']:.2f}, agenda stubs "
            f"{c['stub_cores']:.2f}, bench (load) {c['bench_cores']:.2f}; other processes "
            f"{c['other_load']:.0%} of the machine"
        )
    busy = [label for label, c in cpu if c["other_load"] > FOREIGN_LOAD_WARN]
    if busy:
        print(
            f"WARNING: other processes used > {FOREIGN_LOAD_WARN:.0%} of the CPUs during: "
            + ", ".join(busy)
            + " -- those figures are pessimistic; re-run on a quiet machine"
        )
    print("RSS before the first refresh: " + format_rss(run["rss_before"]))
    for r in run["refreshes"]:
        print(f"RSS after refresh #{r['number']}:   " + format_rss(r["rss_after"]))
    print(
        f"cards of the first Paris page with slots after the last refresh: "
        f"{run['cards_with_slots']}"
    )
    print()
    checks = []
    idle_p99, applied = run["idle"]["p99_ms"], run["applied"]
    p99 = applied["p99_ms"]
    checks.append(
        Check(
            f"/v1/search p99 while refreshes are applied < {MAX_P99_RATIO:g}x idle",
            p99 < MAX_P99_RATIO * idle_p99,  # NaN (no request) fails
            f"{p99:.2f} ms vs idle {idle_p99:.2f} ms = {p99 / idle_p99:.2f}x "
            f"({applied['requests']} requests in {applied['seconds']:.2f} s over "
            f"{len(run['refreshes'])} refreshes)",
        )
    )
    for r in run["refreshes"]:
        n, ratio = r["number"], r["wall_s"] / bound
        checks.append(
            Check(
                f"refresh #{n} within {MAX_BOUND_RATIO:g}x the rate-limit bound",
                ratio <= MAX_BOUND_RATIO,
                f"{r['wall_s']:.1f} s / {bound:.1f} s = {ratio:.2f}x",
            )
        )
        slots = sum(f["slots"] for f in r["sources"].values())
        checks.append(
            Check(
                f"refresh #{n}: every slot read",
                slots == expected_slots,
                f"{slots:,} of {expected_slots:,}",
            )
        )
        errors = [f"{k}: {f['error']}" for k, f in r["sources"].items() if f["error"]]
        errors += [
            f"{k}: {f['problems']} problems" for k, f in r["sources"].items() if f["problems"]
        ]
        errors += [
            f"{k}: {f['stub_bad_queries']} bad queries"
            for k, f in r["sources"].items()
            if f["stub_bad_queries"]
        ]
        failed = sum(x["errors"] for x in (run["idle"], r["during"], r["after"]))
        errors += [f"{failed} searches failed"] if failed else []
        checks.append(Check(f"refresh #{n}: no error", not errors, "; ".join(errors) or "none"))
    for c in checks:
        print(f"{'PASS' if c.passed else 'FAIL'}  {c.name}: {c.detail}")
    return checks


def write_results(run: Figures, checks: list[Check], args: argparse.Namespace) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"availability-{stamp}.json"
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    document = {
        "timestamp": stamp,
        "config": config,
        "machine": machine_info("not used"),
        "code": git_state(),
        "run": run,
        "targets": [asdict(c) for c in checks],
    }
    out.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return out


def bench(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gateway-avbench-") as tmp_name:
        tmp = Path(tmp_name)
        snapshot, per_source = prepare(args, tmp)
        run: Figures = {"per_source": per_source, "bounds": bounds(per_source, args)}
        with agenda_stubs(args, snapshot, tmp / "stubs.log") as stubs:
            mappings = write_mappings(tmp / "mappings", stubs.urls, args.rate)
            server = Server(
                snapshot=snapshot,
                port=free_port(),
                access_log=False,
                log_level="INFO",
                workers=None,
                log_file=tmp / "gateway.log",
            )
            server.env.update(OFFLINE_ENV)
            server.env |= {
                "GATEWAY_MAPPINGS_DIR": str(mappings),
                "GATEWAY_AVAILABILITY_INTERVAL": str(INTERVAL_S),
            }
            if args.concurrency:
                server.env["GATEWAY_AVAILABILITY_CONCURRENCY"] = str(args.concurrency)
            server.env.pop("GATEWAY_API_KEYS_FILE", None)
            with serving(server):
                server.start(timeout_s=120)
                log(f"gateway ready on {server.base} (pid {server.pid})")
                asyncio.run(drive(server, stubs, args, run))
    checks = report(run, args)
    if args.smoke:  # figures of a few hundred subscriptions would only mislead a comparison
        print("smoke run: no results file written")
    else:
        print(f"results written to {write_results(run, checks, args).relative_to(REPO)}")
    return 0 if all(c.passed for c in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.availability", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--practitioners", type=int, default=60_000, help="generated snapshot")
    parser.add_argument("--snapshot", type=Path, help="reuse a `gateway demo generate` output")
    parser.add_argument("--subscriptions", type=int, default=50_000)
    parser.add_argument("--sources", type=int, default=3, help="stub agenda sources (1-26)")
    parser.add_argument("--rate", type=float, default=20.0, help="each source's calls/s")
    parser.add_argument("--slots", type=int, default=10, help="free slots per practitioner")
    parser.add_argument("--page-size", type=int, default=200, help="slots per stub page")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="GATEWAY_AVAILABILITY_CONCURRENCY (0: the gateway's default)",
    )
    parser.add_argument("--refreshes", type=int, default=2, help="measured refreshes")
    parser.add_argument("--idle-s", type=float, default=20.0, help="idle search measurement")
    parser.add_argument("--rps", type=float, default=40.0, help="searches per second")
    parser.add_argument("--seed", type=int, default=1, help="which practitioners subscribe")
    parser.add_argument(
        "--wait-quiet", type=float, default=60.0, help="max s to wait for idle before each phase"
    )
    add_smoke_option(parser, "the demo snapshot, 300 subscriptions, 1 refresh, 2 s idle")
    args = parser.parse_args(argv)
    apply_smoke(args, snapshot=DEMO_SNAPSHOT, subscriptions=300, refreshes=1, idle_s=2.0)
    apply_smoke(args, wait_quiet=0.0)
    if not 1 <= args.sources <= 26 or min(args.subscriptions, args.rate, args.rps) <= 0:
        parser.error("--sources must be 1-26, --subscriptions, --rate, --rps above 0")
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main())
