"""``bench.soak``'s measurements and report: latency histograms, the table, the targets."""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections import Counter
from itertools import accumulate
from typing import Any

from bench._sampling import CpuShare, format_rss
from bench._stubs import Summary

MAX_GROWTH = 0.10
Samples = list[tuple[float, dict[str, Any]]]  # (s since the warm-up ended, rss_report())


class Histogram:
    """Latencies (ms) in log buckets 1 % wide from 10 µs: constant memory, ±0.5 % error."""

    LOW, STEP, SIZE = 0.01, math.log(1.01), 1800  # up to ~600 s

    def __init__(self) -> None:
        self.counts, self.n, self.max = [0] * self.SIZE, 0, 0.0

    def add(self, ms: float) -> None:
        index = int(math.log(max(ms, self.LOW) / self.LOW) / self.STEP)
        self.counts[min(index, self.SIZE - 1)] += 1
        self.n, self.max = self.n + 1, max(self.max, ms)

    def merge(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.n, self.max = self.n + other.n, max(self.max, other.max)

    def percentile(self, q: float) -> float:
        index = bisect_left(list(accumulate(self.counts)), q / 100 * self.n)
        return min(self.LOW * math.exp((index + 0.5) * self.STEP), self.max)


def print_report(
    hists: dict[str, Histogram],
    failures: Counter[tuple[str, str]],
    samples: Samples,
    cpu: tuple[CpuShare, float],
    more: Summary,
) -> int:
    """The table, CPU, RSS before/after and trend, ``more``, PASS/FAIL lines; the exit status.

    ``failures``: (kind, error) -> count; the last RSS sample is the one after the run."""
    mib = [float(rss["total_vmrss_kib"]) / 1024 for _, rss in samples]
    elapsed, before, after = samples[-1][0], mib[0], mib[-1]
    head = f"{'endpoint':<20} {'requests':>9} {'req/s':>7}"
    head += "".join(f" {c:>8}" for c in ("p50 ms", "p95 ms", "p99 ms", "max ms", "errors"))
    print(f"\n{head}\n{'-' * len(head)}")
    total = Histogram()
    for kind, h in [*hists.items(), ("TOTAL", total)]:
        ms = "".join(f" {h.percentile(q):>8.2f}" for q in (50, 95, 99))
        errors = sum(n for (k, _), n in failures.items() if kind in (k, "TOTAL"))
        print(f"{kind:<20} {h.n:>9} {h.n / elapsed:>7.1f}{ms} {h.max:>8.1f} {errors:>8}")
        if kind != "TOTAL":
            total.merge(h)
    for (kind, error), n in failures.most_common():
        print(f"  errors: {kind}: {error} x{n}")
    load = f"server {cpu[0].server_cores:.2f}, load generator {cpu[1]:.2f}"
    print(f"\nmeasured {elapsed:.0f} s; cores: {load}; other processes {cpu[0].foreign_load:.0%}")
    print(f"RSS before: {format_rss(samples[0][1])}\nRSS after:  {format_rss(samples[-1][1])}")
    fit = statistics.linear_regression([t for t, _ in samples], mib)
    print(f"RSS trend over {len(samples)} samples: {fit.slope * 60:+.3f} MiB/min (least squares)")
    print("\n".join(more[0]), end="\n" if more[0] else "")
    growth = after / before - 1
    transport = sum(n for (_, e), n in failures.items() if not e.startswith("HTTP"))
    split = f"{errors - transport} HTTP non-200, {transport} transport"
    span = f"{before:.1f} -> {after:.1f} MiB ({growth:+.1%})"
    checks = [(errors == 0, f"zero errors: {errors} ({split}) in {total.n} requests")]
    checks.append((growth < MAX_GROWTH, f"RSS growth < {MAX_GROWTH:.0%}: total VmRSS {span}"))
    checks += more[1]
    checks.append((all(ok for ok, _ in checks), f"soak of {elapsed / 60:.1f} min (target: "
                   "zero errors and RSS growth < 10 % over 10 min)"))  # fmt: skip
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if checks[-1][0] else 1
