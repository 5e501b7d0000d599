"""Soak test: N concurrent clients for M minutes over a realistic mix, RSS tracked throughout.

    .venv/bin/python -m bench.soak [--clients 16] [--minutes 10] [--upstreams stub|offline]

``gateway serve`` on the demo snapshot, pointed at stub upstreams in threads of this process
(``bench._stubs``) or offline; targets: zero errors, RSS growth < 10 % after the warm-up, caches
within bounds. Exit status 0 targets met, 1 missed, 2 no bench. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from functools import partial
from itertools import product
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from bench._common import REPO, BenchError, add_smoke_option, apply_smoke, log
from bench._sampling import CpuSample, cpu_between, format_rss, rss_report
from bench._server import Server, free_port, run_bench, serving
from bench._soak_report import Histogram, Samples, print_report
from bench._stubs import INSEES, POOL, STREETS, Stubs

DEMO_SNAPSHOT = REPO / "gateway" / "demo" / "snapshot"
OFFLINE_ENV = {f"GATEWAY_{u}_URL": "" for u in ("SMT", "GEOCODER", "ANNUAIRE", "ROR")}
ERROR_MARKS = ('"level": "error"', '"level": "critical"', "Traceback", "[ERROR]")
ORIGIN, TRE_R38, PP = "TEST-SAMU000", "urn:oid:1.2.250.1.213.2.28", "urn:oid:1.2.250.1.71.4.2.1"
#: INSEE -> (lat, lon): Paris 8e, 17e, Gennevilliers, Mende, Lyon 1er, Marseille, Bordeaux.
CITIES = {"75108": (48.8727, 2.3125), "75117": (48.8874, 2.3067), "92036": (48.9255, 2.2941)}
CITIES |= {"48095": (44.5178, 3.5012), "69381": (45.767, 4.8345), "13055": (43.2965, 5.3698)}
CITIES["33063"] = (44.8378, -0.5792)
SPECIALTIES = ["cardiologue", f"{TRE_R38}|SM04", f"{TRE_R38}|SM54", "pédiatre", "ophtalmo", "SM40"]
CODES, QUERIES = ["SM54", "SM04", "SM40"], ["cardio", "pédia", "gyn", "chir"]
SMT_ONLY = ["SM02", "SM30"]  # absent from the demo TRE_R38 (a fragment): $lookup on the SMT
KNOWN, NAMES = ["819990000002", "819990000028"], ["DEMO-DURAND", "DEMO-MARTIN", "durand paul"]
EXTRAS: list[dict[str, str]] = [{}, {}, {"postcode": "75017"}, {"specialite": "SM04"}]
WEIGHTS = {"contextual resolve": 22, "search": 22, "terminology resolve": 5}
WEIGHTS |= {"terminology search": 5, "fhir $expand": 5, "fhir $lookup": 5}
WEIGHTS |= {"practitioner card": 8, "practitioner name": 5, "geocode": 15, "links (POST)": 8}
Req = tuple[str, str, dict[str, Any] | None]  # method, path with query, JSON body
Extra = Callable[[float], Awaitable[str]]  # another sample line, from the interval's seconds


def _get(path: str, **params: Any) -> Req:
    query = urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote)
    return "GET", f"{path}?{query}", None


def _launch(r: random.Random, stub: bool) -> dict[str, str]:  # INT_L01 parameters
    params = {"origin": ORIGIN, "inseecode": r.choice(INSEES)}
    doctors = [f"{PP}|{KNOWN[1]}", f"{PP}|{KNOWN[0]}", KNOWN[1], f"{PP}|8{r.randrange(10**11):011}"]
    doctors += [f"{PP}|{r.choice(POOL)}", r.choice(POOL)] if stub else []
    if r.random() < 0.85:
        params["practitioner"] = r.choice([*doctors, "DEMO-MARTIN Claire", "DEMO-DURAND Paul"])
    if r.random() < 0.8:
        params["specialty"] = r.choice(SPECIALTIES)
    if r.random() < 0.5:
        params |= {"streetnumber": str(r.randint(1, 300)), "streetname": r.choice(STREETS)}
    return params


def make_request(kind: str, r: random.Random, stub: bool) -> Req:
    """One random request of ``kind`` (a key of :data:`WEIGHTS`); ``stub``: upstreams stubbed."""
    match kind:
        case "contextual resolve":
            return _get("/v1/contextual-search/resolve", **_launch(r, stub))
        case "search":
            insee = r.choice(list(CITIES))
            lat_lon = (round(x + r.uniform(-0.05, 0.05), 5) for x in CITIES[insee])
            params: dict[str, Any] = dict(zip(("lat", "lon"), lat_lon, strict=True))
            params["radius_km"] = r.choice([None, 5, 10, 20, 30])
            params |= {"location_type": r.choice(["address", "city"]), "page": r.randint(1, 3)}
            params |= {"seed": r.randrange(10**6), "insee": insee if r.random() < 0.5 else None}
            params["preferred_doctor"] = KNOWN[0] if r.random() < 0.3 else None
            return _get("/v1/search", **params)
        case "terminology resolve":
            return _get("/v1/terminology/resolve", coding=f"{TRE_R38}|{r.choice(CODES)}")
        case "terminology search":
            return _get("/v1/terminology/search", q=r.choice(QUERIES), valueset="JDV_J239")
        case "fhir $expand":
            return _get("/fhir/ValueSet/$expand", url="JDV_J239", filter=r.choice(QUERIES))
        case "fhir $lookup":
            codes = CODES + SMT_ONLY * stub  # the stub SMT knows more codes
            return _get("/fhir/CodeSystem/$lookup", system=TRE_R38, code=r.choice(codes))
        case "practitioner card":
            idnps = r.choice(POOL if stub and r.random() < 0.9 else KNOWN)
            return "GET", f"/v1/practitioners/{idnps}", None
        case "practitioner name":
            return _get("/v1/practitioners", name=r.choice(NAMES))
        case "geocode":
            street = {"streetname": r.choice(STREETS), "streetnumber": str(r.randint(1, 300))}
            return _get("/v1/geocode", inseecode=r.choice(INSEES), **street)
        case "links (POST)":
            body = {"parameters": _launch(r, stub) | r.choice(EXTRAS)}
            return "POST", "/v1/contextual-search/links", body
    raise ValueError(kind)


@dataclass(slots=True)
class Run:  # what the clients record into; replaced by a fresh one when the warm-up ends
    hists: dict[str, Histogram] = field(default_factory=lambda: {k: Histogram() for k in WEIGHTS})
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, error): count
    started: float = field(default_factory=time.monotonic)


async def send(client: httpx.AsyncClient, req: Req) -> tuple[str | None, httpx.Response | None]:
    """``(error or None, response)`` of one request; only 200 counts as a success."""
    try:
        response = await client.request(req[0], req[1], json=req[2])
    except httpx.TransportError as exc:
        return type(exc).__name__, None
    return (None if response.status_code == 200 else f"HTTP {response.status_code}"), response


async def precheck(client: httpx.AsyncClient, seed: int, stub: bool) -> None:
    """Five random variants of every kind must answer 200, else :class:`BenchError`."""
    rng = random.Random(f"{seed}-precheck")
    for kind, _ in product(WEIGHTS, range(5)):
        error, response = await send(client, req := make_request(kind, rng, stub))
        if error:
            body = response.text[:500] if response is not None else ""
            raise BenchError(f"{kind}: {req[0]} {req[1]} -> {error}, expected 200\n{body}")


async def client_loop(
    c: httpx.AsyncClient, runs: list[Run], seed: str, end: float, stub: bool
) -> None:
    kinds, weights, r = list(WEIGHTS), list(WEIGHTS.values()), random.Random(seed)
    while time.monotonic() < end:
        kind = r.choices(kinds, weights)[0]
        started = time.perf_counter()
        error, _ = await send(c, make_request(kind, r, stub))
        run = runs[-1]  # read after the await: the warm-up may have ended meanwhile
        run.hists[kind].add((time.perf_counter() - started) * 1000)
        if error:
            run.errors[kind, error] += 1


async def sampler(pid: int, run: Run, every: float, samples: Samples, extra: Extra | None) -> None:
    """Every ``every`` s: RSS per process, the interval's req/s and errors, CPU."""
    last_cpu, last = CpuSample.take(pid), (0, 0)
    while True:
        await asyncio.sleep(every)
        rss = await asyncio.to_thread(rss_report, pid)
        cpu, now = CpuSample.take(pid), (sum(h.n for h in run.hists.values()), run.errors.total())
        share, t = cpu_between(last_cpu, cpu), time.monotonic() - run.started
        samples.append((t, rss))
        kib = [f"{p['role']} {(p['vmrss_kib'] or 0) / 1024:.1f}" for p in rss["processes"]]
        rate = (now[0] - last[0]) / (cpu.wall - last_cpu.wall)
        own = (cpu.self_s - last_cpu.self_s) / (cpu.wall - last_cpu.wall)
        cores = (
            f"server {share.server_cores:.2f}, loadgen {own:.2f}; other {share.foreign_load:.0%}"
        )
        line = f"t={t:4.0f}s RSS {rss['total_vmrss_kib'] / 1024:6.1f} MiB ({', '.join(kib)})"
        log(f"{line} {rate:4.0f} req/s, errors {now[1] - last[1]}; cores: {cores}")
        if extra is not None:
            log(await extra(cpu.wall - last_cpu.wall))
        last_cpu, last = cpu, now


async def drive(server: Server, args: argparse.Namespace, stubs: Stubs | None) -> int:
    """Pre-check, warm up, measure; print the report; the exit status."""
    async with AsyncExitStack() as stack:  # a client per worker: one shared pool costs 2x CPU
        new = partial(httpx.AsyncClient, base_url=server.base, timeout=30.0)
        clients = [await stack.enter_async_context(new()) for _ in range(args.clients)]
        admin, stub = await stack.enter_async_context(new()), stubs is not None
        await precheck(clients[0], args.seed, stub)
        if stubs is not None and not all(c.total() for c in stubs.calls("sample").values()):
            raise BenchError(f"a stub upstream was never called: {stubs.calls('start')}")
        log(f"every kind answers 200; RSS at ready: {format_rss(rss_report(server.pid))}")
        runs, end = [Run()], time.monotonic() + args.warmup_s + args.minutes * 60
        loops = [client_loop(c, runs, f"{args.seed}-{i}", end, stub) for i, c in enumerate(clients)]
        tasks = [asyncio.create_task(loop) for loop in loops]
        log(f"{args.clients} clients: warm-up {args.warmup_s:g} s, then {args.minutes:g} min")
        await asyncio.sleep(args.warmup_s)
        runs.append(run := Run())
        samples, cpu0 = [(0.0, rss_report(server.pid))], CpuSample.take(server.pid)
        extra = None if stubs is None else partial(stubs.sample, admin)
        if stubs is not None:
            stubs.calls("run"), stubs.calls("sample")  # count from here
        log("RSS before (end of warm-up): " + format_rss(samples[0][1]))
        sampling = asyncio.create_task(sampler(server.pid, run, args.sample_s, samples, extra))
        await asyncio.gather(*tasks)
        cpu1, after = CpuSample.take(server.pid), rss_report(server.pid)
        sampling.cancel()
        samples.append((cpu1.wall - run.started, after))
        more = ([], []) if stubs is None else await stubs.summary(admin, samples[-1][0])
        await precheck(clients[0], args.seed + 1, stub)  # still healthy after the load
    own = (cpu1.self_s - cpu0.self_s) / samples[-1][0]
    return print_report(run.hists, run.errors, samples, (cpu_between(cpu0, cpu1), own), more)


def bench(args: argparse.Namespace) -> int:
    snapshot = (args.snapshot or DEMO_SNAPSHOT).resolve()  # a bad one fails the pre-check
    with tempfile.TemporaryDirectory(prefix="gateway-soak-") as tmp, ExitStack() as stack:
        server = Server(snapshot=snapshot, port=free_port(), access_log=False, log_level="INFO",
                        workers=args.workers, log_file=Path(tmp) / "gateway.log")  # fmt: skip
        stubs = stack.enter_context(Stubs(args.upstream_rate)) if args.upstreams == "stub" else None
        server.env.update(env := OFFLINE_ENV if stubs is None else stubs.env)
        server.env.pop("GATEWAY_API_KEYS_FILE", None)
        with serving(server):
            server.start()
            log(f"gateway ready on {server.base} (pid {server.pid}), snapshot {snapshot}")
            log("upstreams: " + " ".join(f"{k}={v}" for k, v in env.items()))
            code = asyncio.run(drive(server, args, stubs))
            lines = server.log_file.read_text(errors="replace").splitlines()
            bad = [x for x in lines if any(m in x for m in ERROR_MARKS)] + [""]
            print(f"server log: {len(lines)} lines, {len(bad) - 1} error lines {bad[0][:300]}")
        return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split(".")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--minutes", type=float, default=10.0, help="measured minutes")
    parser.add_argument("--snapshot", type=Path, help="snapshot dir (default: the demo snapshot)")
    parser.add_argument("--workers", type=int, default=None, help="gateway serve --workers")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request variants")
    parser.add_argument("--upstreams", choices=["stub", "offline"], default="stub",
                        help="stub upstream servers, or none (upstream URLs empty)")  # fmt: skip
    parser.add_argument("--upstream-rate", type=float, default=1000.0, help="gateway's rate "
                        "limit per upstream, calls/s (0: its production quotas)")  # fmt: skip
    parser.add_argument("--warmup-s", type=float, default=20.0, help="unmeasured warm-up seconds")
    parser.add_argument("--sample-s", type=float, default=30.0, help="RSS sampling period (s)")
    add_smoke_option(parser, "2 clients, 1 s warm-up, 3 s measured, a sample every 1.5 s")
    args = parser.parse_args(argv)
    apply_smoke(args, clients=2, minutes=0.05, warmup_s=1.0, sample_s=1.5)
    if min(args.clients, args.minutes, args.sample_s) <= 0 or args.warmup_s < 0:
        parser.error("--clients, --minutes, --sample-s must be > 0, --warmup-s >= 0")  # exit 2
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main())
