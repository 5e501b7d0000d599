"""Reporting: the results table, the targets' PASS/FAIL lines and the JSON results file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import REPO
from bench._sampling import format_rss
from bench._wrk import WrkResult

RESULTS_DIR = REPO / "bench" / "results"

#: Targets (see bench/README.md).
LOOKUP_MIN_RATIO = 0.60
EXPAND_MAX_P95_MS = 5.0

#: Above this share of the machine used by other processes, results are flagged.
FOREIGN_LOAD_WARN = 0.05


@dataclass(frozen=True, slots=True)
class Check:
    """One target and whether the run met it."""

    name: str
    passed: bool
    detail: str


def set_baseline_ratios(results: Iterable[WrkResult], baseline: WrkResult) -> None:
    """Set each result's ``ratio_to_baseline`` (req/s over the baseline's req/s)."""
    base_rps = baseline.requests_per_s
    for r in results:
        r.ratio_to_baseline = r.requests_per_s / base_rps if base_rps else None


def print_table(results: list[WrkResult]) -> None:
    """The results table, its legend and a warning for rows run on a busy machine."""
    header = (
        f"{'endpoint':<26} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'vs base':>8} {'srv cpu':>8} {'other':>6} {'req/s range':>13}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r.ratio_to_baseline * 100:.0f} %" if r.ratio_to_baseline is not None else "-"
        spread = f"{r.rps_min:.0f}-{r.rps_max:.0f}" if r.rps_min and r.rps_max else "-"
        print(
            f"{r.endpoint:<26} {r.requests_per_s:>9.0f} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} "
            f"{r.p99_ms:>8.2f} {r.errors:>7d} {ratio:>8} {r.server_cores:>8.2f} "
            f"{r.foreign_load:>5.0%}{'!' if r.foreign_load > FOREIGN_LOAD_WARN else ' '}"
            f" {spread:>13}"
        )
    print(
        "srv cpu: cores used by the gateway (all processes); other: share of the machine's "
        "CPU used by other processes during the run"
    )
    if any(r.rounds for r in results):
        print("figures are medians over the rounds; req/s range: slowest-fastest round")
    busy = [r.endpoint for r in results if r.foreign_load > FOREIGN_LOAD_WARN]
    if busy:
        print(
            f"WARNING: other processes used > {FOREIGN_LOAD_WARN:.0%} of the CPUs during: "
            + ", ".join(busy)
            + " -- those figures are pessimistic; re-run on a quiet machine"
        )
    print()


def check_targets(
    *,
    baseline: WrkResult,
    lookup: WrkResult,
    expand: WrkResult,
    results: Iterable[WrkResult],
    connections: int,
) -> list[Check]:
    """The targets: lookup throughput vs baseline, ``$expand`` p95, no errors in ``results``."""
    ratio = lookup.requests_per_s / baseline.requests_per_s if baseline.requests_per_s else 0.0
    errors = sum(r.errors for r in results)
    return [
        Check(
            f"cached $lookup >= {LOOKUP_MIN_RATIO:.0%} of baseline throughput",
            ratio >= LOOKUP_MIN_RATIO,
            f"{lookup.requests_per_s:.0f} / {baseline.requests_per_s:.0f} req/s = {ratio:.1%}",
        ),
        Check(
            f"$expand+filter p95 < {EXPAND_MAX_P95_MS:g} ms at {connections} connections",
            expand.p95_ms < EXPAND_MAX_P95_MS,
            f"p95 = {expand.p95_ms:.2f} ms",
        ),
        Check("no HTTP/socket errors under load", errors == 0, f"{errors} errors"),
    ]


def print_summary(checks: list[Check], rss_after: dict[str, Any], log_lines: int) -> None:
    """PASS/FAIL per target, then the server's RSS and log volume after the run."""
    for c in checks:
        print(f"{'PASS' if c.passed else 'FAIL'}  {c.name}: {c.detail}")
    print()
    print("server RSS after the run: " + format_rss(rss_after))
    print(f"server log lines written during the run: {log_lines}")


def git_state() -> dict[str, Any]:
    """The commit, and the uncommitted files under ``gateway/`` (and ``pyproject.toml``)."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        )
        return result.stdout if result.returncode == 0 else ""

    dirty = git("status", "--porcelain", "--", "gateway", "pyproject.toml")
    return {
        "commit": git("rev-parse", "HEAD").strip() or None,
        "dirty_gateway_files": [line[3:] for line in dirty.splitlines() if line.strip()],
    }


def machine_info(wrk_version: str) -> dict[str, Any]:
    """CPU count, Python, platform and wrk version, for the results file."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": wrk_version,
    }


def write_results(
    *,
    config: dict[str, Any],
    machine: dict[str, Any],
    code: dict[str, Any],
    results: Iterable[WrkResult],
    checks: list[Check],
    rss_before: dict[str, Any],
    rss_after: dict[str, Any],
    log_lines: int,
) -> Path:
    """Write ``bench/results/terminology-<UTC timestamp>.json``; its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"terminology-{stamp}.json"
    document = {
        "timestamp": stamp,
        "config": config,
        "machine": machine,
        "code": code,
        "results": [asdict(r) for r in results],
        "targets": [asdict(c) for c in checks],
        "rss_before_load": rss_before,
        "rss_after_load": rss_after,
        "server_log_lines": log_lines,
    }
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
