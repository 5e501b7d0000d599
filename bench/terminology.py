"""HTTP load benchmark of the terminology endpoints, driven by ``wrk``.

Starts ``gateway serve`` offline (``GATEWAY_SMT_URL=""``) on a free loopback port over a
temporary snapshot directory (the chosen snapshot's files symlinked, plus a bench ValueSet
that includes all of TRE_R38), warms and verifies each endpoint, runs ``wrk --latency`` on
each, prints a table and PASS/FAIL lines for the targets, and writes the results as JSON
under ``bench/results/``.

    .venv/bin/python -m bench.terminology [--duration 10] [--connections 16] [--threads 2]

Exit status: 0 every target met, 1 a target missed, 2 the bench could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import REPO, BenchError, add_smoke_option, apply_smoke, log
from bench._measure import Endpoint, LoadPlan, run_rounds, verify
from bench._report import (
    check_targets,
    git_state,
    machine_info,
    print_summary,
    print_table,
    set_baseline_ratios,
    write_results,
)
from bench._sampling import format_rss, rss_report, wait_until_quiet
from bench._server import Server, free_port, http_get, run_bench, serving
from bench._wrk import Wrk, WrkResult, ensure_wrk, write_script, wrk_version

REAL_SNAPSHOT = REPO.parent / "shared" / "reference" / "nos"
DEMO_SNAPSHOT = REPO / "gateway" / "demo" / "snapshot"

TRE_R38 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
)
BENCH_VS_URL = "https://bench.local/ValueSet/all-tre-r38"
BENCH_VALUESET: dict[str, Any] = {
    "resourceType": "ValueSet",
    "url": BENCH_VS_URL,
    "version": "1",
    "status": "active",
    "compose": {"include": [{"system": TRE_R38}]},
}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("baseline /health/live", "/health/live"),
    Endpoint(
        "cached $lookup",
        "/fhir/CodeSystem/$lookup?system=urn:oid:1.2.250.1.213.2.28&code=SM54",
    ),
    Endpoint(
        "$expand+filter TRE_R38",
        f"/fhir/ValueSet/$expand?url={BENCH_VS_URL}&filter=chir&count=20",
    ),
    Endpoint("search JDV_J239", "/v1/terminology/search?q=cardio&valueset=JDV_J239&limit=10"),
    Endpoint("resolve SM54", "/v1/terminology/resolve?coding=urn:oid:1.2.250.1.213.2.28|SM54"),
)
BASELINE, LOOKUP, EXPAND = ENDPOINTS[0], ENDPOINTS[1], ENDPOINTS[2]


# --------------------------------------------------------------------------- snapshot


def choose_snapshot(explicit: Path | None) -> tuple[Path, str]:
    """The snapshot directory to serve and a description of where it comes from."""
    if explicit is not None:
        if not explicit.is_dir():
            raise BenchError(f"--snapshot {explicit} is not a directory")
        return explicit.resolve(), "explicit (--snapshot)"
    if REAL_SNAPSHOT.is_dir():
        return REAL_SNAPSHOT.resolve(), "real ANS NOS files (../shared/reference/nos)"
    return DEMO_SNAPSHOT, "bundled demo snapshot (../shared/reference/nos not found)"


def mirror_snapshot(source: Path, target: Path) -> int:
    """Symlink every file of ``source`` into ``target`` (same tree), add the bench ValueSet."""
    linked = 0
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(path.resolve())
            linked += 1
    extra = target / "ValueSet-bench-all-tre-r38.json"
    extra.write_text(json.dumps(BENCH_VALUESET, indent=1), encoding="utf-8")
    return linked


# --------------------------------------------------------------------------- load


def describe_expand(server: Server) -> str:
    """How many codes the bench ValueSet expands to, and how many the filter matches."""
    status, body = http_get(f"{server.base}/fhir/ValueSet/$expand?url={BENCH_VS_URL}&count=0")
    if status != 200:
        raise BenchError(f"$expand of {BENCH_VS_URL} returned HTTP {status}")
    total = json.loads(body)["expansion"]["total"]
    _, filtered = http_get(server.base + EXPAND.path)
    hits = json.loads(filtered)["expansion"]["total"]
    text = f"{BENCH_VS_URL} expands to {total} TRE_R38 codes; filter=chir matches {hits}"
    if hits == 0:
        text += " (WARNING: nothing to format, so the $expand figures flatter the gateway)"
    return text


@dataclass(slots=True)
class LoadRun:
    """What one server's life produced: results per endpoint name, RSS before/after."""

    results: dict[str, WrkResult]
    rss_before: dict[str, Any]
    rss_after: dict[str, Any]


def load_server(server: Server, wrk: Wrk, plan: LoadPlan, version: str) -> LoadRun:
    """Start ``server``, check every endpoint, then run the rounds of wrk over them."""
    started = time.monotonic()
    ready = server.start()
    resources = ready["snapshot"]["resources"]
    log(
        f"ready in {time.monotonic() - started:.1f}s on {server.base} (pid {server.pid}), "
        f"{len(resources)} resources loaded, upstreams: "
        + ", ".join(f"{k}={v['state']}" for k, v in ready["upstreams"].items())
    )
    for endpoint in ENDPOINTS:
        verify(server, endpoint)
    log("all endpoints answer 200; " + describe_expand(server))
    rss_before = rss_report(server.pid)
    log("RSS before load: " + format_rss(rss_before))

    log(
        f"wrk {version}: -t{wrk.threads} -c{wrk.connections} "
        f"-d{plan.duration_s}s --latency (warm-up {plan.warmup_s}s per endpoint)"
    )
    results = run_rounds(wrk, server, ENDPOINTS, plan)
    return LoadRun(results, rss_before, rss_report(server.pid))


# --------------------------------------------------------------------------- orchestration


def bench(args: argparse.Namespace) -> int:
    """Run the whole bench; the exit status (0 every target met, 1 one missed)."""
    wrk_binary = ensure_wrk()
    version = wrk_version(wrk_binary)
    snapshot, snapshot_kind = choose_snapshot(args.snapshot)
    log(f"snapshot: {snapshot} [{snapshot_kind}]")
    log(
        f"access log: {'ENABLED' if args.access_log else 'disabled'} "
        f"(GATEWAY_ACCESS_LOG={'true' if args.access_log else 'false'}; "
        f"--{'no-' if args.access_log else ''}access-log to change), "
        f"GATEWAY_LOG_LEVEL={args.log_level}"
    )
    code_state = git_state()
    if dirty := code_state["dirty_gateway_files"]:
        log("note: uncommitted changes under gateway/ are benchmarked too: " + ", ".join(dirty))
    plan = LoadPlan(
        duration_s=args.duration,
        warmup_s=args.warmup,
        rounds=args.rounds,
        verbose=args.verbose,
        # One waiting budget for the whole run, so a busy machine cannot stretch it much.
        quiet_deadline=time.monotonic() + max(0.0, args.wait_quiet),
    )
    load = wait_until_quiet(plan.quiet_deadline, None)
    log(f"other processes use {load:.0%} of the CPUs before the run")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp_name:
        tmp = Path(tmp_name)
        snap_dir = tmp / "snapshot"
        snap_dir.mkdir()
        linked = mirror_snapshot(snapshot, snap_dir)
        wrk = Wrk(wrk_binary, args.threads, args.connections, write_script(tmp / "report.lua"))
        log(f"temp dir {tmp}: {linked} snapshot files symlinked + bench ValueSet {BENCH_VS_URL}")
        server = Server(
            snapshot=snap_dir,
            port=args.port or free_port(),
            access_log=args.access_log,
            log_level=args.log_level,
            workers=args.workers,
            log_file=tmp / "gateway.log",
        )
        log("$ " + " ".join(server.command) + "  (GATEWAY_SMT_URL='' offline)")
        with serving(server):
            run = load_server(server, wrk, plan, version)
        log_lines = server.log_line_count()

    results = run.results
    set_baseline_ratios(results.values(), results[BASELINE.name])
    print_table(list(results.values()))
    checks = check_targets(
        baseline=results[BASELINE.name],
        lookup=results[LOOKUP.name],
        expand=results[EXPAND.name],
        results=results.values(),
        connections=args.connections,
    )
    print_summary(checks, run.rss_after, log_lines)
    config = {
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "connections": args.connections,
        "threads": args.threads,
        "workers": args.workers,
        "access_log": args.access_log,
        "log_level": args.log_level,
        "snapshot": str(snapshot),
        "snapshot_kind": snapshot_kind,
        "server_command": server.command,
    }
    if args.smoke:  # figures of a 1-second run would only mislead a later comparison
        print("smoke run: no results file written")
        return 0 if all(c.passed for c in checks) else 1
    out = write_results(
        config=config,
        machine=machine_info(version),
        code=code_state,
        results=results.values(),
        checks=checks,
        rss_before=run.rss_before,
        rss_after=run.rss_after,
        log_lines=log_lines,
    )
    print(f"results written to {out.relative_to(REPO)}")
    return 0 if all(c.passed for c in checks) else 1


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (its description: the first paragraph of the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.terminology", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="wrk warm-up seconds per endpoint")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the endpoint sequence N times (interleaved) and report medians",
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--port", type=int, default=0, help="server port (0: a free one)")
    parser.add_argument("--workers", type=int, default=None, help="gateway serve --workers")
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="GATEWAY_ACCESS_LOG for the server (default: disabled)",
    )
    parser.add_argument("--log-level", default="INFO", help="GATEWAY_LOG_LEVEL (default INFO)")
    parser.add_argument(
        "--snapshot", type=Path, default=None, help="snapshot dir (default: real NOS, else demo)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30.0,
        help="seconds the whole run may wait for other processes to go idle (0: don't)",
    )
    parser.add_argument("--verbose", action="store_true", help="print raw wrk output")
    add_smoke_option(parser, "1 s per endpoint, no warm-up or waiting, 2 connections, no file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the bench; the process exit status."""
    args = build_parser().parse_args(argv)
    apply_smoke(args, duration=1, warmup=0, rounds=1, wait_quiet=0.0, connections=2, threads=1)
    if args.connections < args.threads:
        print("--connections must be >= --threads", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.duration < 1:
        print("--rounds and --duration must be >= 1", file=sys.stderr)
        return 2
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main())
