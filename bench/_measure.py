"""Measuring endpoints: checking they answer 200, warming them up, running wrk on each."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench._common import BenchError, log
from bench._sampling import CpuSample, cpu_between, wait_until_quiet
from bench._server import Server, http_get
from bench._wrk import Wrk, WrkResult, aggregate, parse_wrk

#: Requests sent one by one to an endpoint before its first wrk run.
WARMUP_REQUESTS = 50


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A benchmarked request: its table label and its path (with the query string)."""

    name: str
    path: str


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How every endpoint is loaded (from the command line)."""

    duration_s: int
    #: wrk warm-up seconds before an endpoint's first run (0: none).
    warmup_s: int
    rounds: int
    #: Print wrk's raw output.
    verbose: bool
    #: ``time.monotonic()`` after which the bench no longer waits for a quiet machine.
    quiet_deadline: float


def verify(server: Server, endpoint: Endpoint) -> bytes:
    """GET ``endpoint``; its body, or :class:`BenchError` if it is not HTTP 200."""
    status, body = http_get(server.base + endpoint.path)
    if status != 200:
        raise BenchError(
            f"{endpoint.name}: GET {endpoint.path} returned HTTP {status}, expected 200\n"
            f"{body[:500].decode(errors='replace')}"
        )
    return body


def measure(
    wrk: Wrk, server: Server, endpoint: Endpoint, plan: LoadPlan, *, warmup: bool
) -> WrkResult:
    """One wrk run on ``endpoint`` (warmed up first if asked), with the CPU use during it."""
    url = server.base + endpoint.path
    if warmup:
        for _ in range(WARMUP_REQUESTS):
            verify(server, endpoint)
        if plan.warmup_s > 0:
            wrk.run(url, plan.warmup_s)
    if time.monotonic() < plan.quiet_deadline:
        wait_until_quiet(plan.quiet_deadline, server.pid)
    before = CpuSample.take(server.pid)
    output = wrk.run(url, plan.duration_s)
    after = CpuSample.take(server.pid)
    if plan.verbose:
        print(output)
    result = parse_wrk(endpoint.name, endpoint.path, output)
    result.server_cores, result.wrk_cores, result.foreign_load = cpu_between(before, after)
    log(
        f"{endpoint.name}: {result.requests_per_s:.0f} req/s, "
        f"p95 {result.p95_ms:.2f} ms, {result.errors} errors, server "
        f"{result.server_cores:.2f} cores, wrk {result.wrk_cores:.2f} cores, "
        f"other processes {result.foreign_load:.0%} of the machine"
    )
    verify(server, endpoint)  # still healthy after the load
    return result


def run_rounds(
    wrk: Wrk, server: Server, endpoints: Sequence[Endpoint], plan: LoadPlan
) -> dict[str, WrkResult]:
    """``plan.rounds`` interleaved passes over ``endpoints``; per name, the medians."""
    runs: dict[str, list[WrkResult]] = {e.name: [] for e in endpoints}
    for round_no in range(1, plan.rounds + 1):
        if plan.rounds > 1:
            log(f"round {round_no}/{plan.rounds}")
        for endpoint in endpoints:
            runs[endpoint.name].append(measure(wrk, server, endpoint, plan, warmup=round_no == 1))
    return {name: aggregate(items) for name, items in runs.items()}
