"""``wrk``: installing it, its reporting Lua script, running it and parsing what it prints."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._common import BenchError, log

#: ``done()`` hook: one ``BENCH_JSON {...}`` line with the percentiles and the error counts.
WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\"requests\":%.0f,\"duration_us\":%.0f,\"bytes\":%.0f," ..
    "\"connect\":%.0f,\"read\":%.0f,\"write\":%.0f,\"status\":%.0f,\"timeout\":%.0f," ..
    "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p95_us\":%.1f,\"p99_us\":%.1f," ..
    "\"max_us\":%.1f,\"mean_us\":%.1f,\"stdev_us\":%.1f}\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, latency.stdev))
end
"""

#: wrk's socket error kinds, as reported by the Lua hook.
SOCKET_ERROR_KINDS = ("connect", "read", "write", "timeout")

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(slots=True)
class WrkResult:
    """One endpoint's figures: a single wrk run, or the medians over several rounds."""

    endpoint: str
    path: str
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    socket_errors: dict[str, int]
    non_2xx_3xx: int
    errors: int
    wrk_distribution_ms: dict[str, float] = field(default_factory=dict)
    ratio_to_baseline: float | None = None
    #: CPU seconds used per wall second (1.0 = one core) while wrk ran.
    server_cores: float = 0.0
    wrk_cores: float = 0.0
    #: Share of the machine's CPU used by *other* processes during the run (0..1).
    foreign_load: float = 0.0
    #: With ``--rounds N > 1``: the figures above are medians; the spread and each round.
    rps_min: float | None = None
    rps_max: float | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)


def ensure_wrk() -> str:
    """Path of ``wrk``, installed with ``apt-get`` (Debian, as root) when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk not found: installing it with apt-get (Debian, needs root)")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        log("$ " + " ".join(command))
        result = subprocess.run(command, check=False)
        if result.returncode != 0:
            raise BenchError(f"{' '.join(command)} failed with status {result.returncode}")
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is still not on PATH after apt-get install")
    log(f"wrk installed at {found}")
    return found


def wrk_version(binary: str) -> str:
    """First line of ``wrk -v`` (``unknown`` if it prints nothing)."""
    result = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    text = (result.stdout or result.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def write_script(path: Path) -> Path:
    """Write the reporting Lua script (:data:`WRK_LUA`) to ``path`` and return ``path``."""
    path.write_text(WRK_LUA, encoding="utf-8")
    return path


@dataclass(frozen=True, slots=True)
class Wrk:
    """A ``wrk`` binary with the load shape and the reporting script every run uses."""

    binary: str
    threads: int
    connections: int
    script: Path

    def run(self, url: str, duration_s: float) -> str:
        """Run ``wrk --latency`` against ``url`` for ``duration_s`` seconds; its stdout."""
        command = [
            self.binary,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(duration_s))}s",
            "--latency",
            "-s",
            str(self.script),
            url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BenchError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
        return result.stdout


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(endpoint: str, path: str, output: str) -> WrkResult:
    """The :class:`WrkResult` of one run from wrk's output (which includes ``BENCH_JSON``)."""
    match = re.search(r"^BENCH_JSON (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise BenchError(f"no BENCH_JSON line in wrk output for {endpoint}:\n{output}")
    lua: dict[str, float] = json.loads(match.group(1))
    distribution = {
        f"p{m.group(1)}": _to_ms(m.group(2), m.group(3))
        for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    rps_match = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    duration_s = lua["duration_us"] / 1e6
    rps = float(rps_match.group(1)) if rps_match else lua["requests"] / duration_s
    socket_errors = {kind: int(lua[kind]) for kind in SOCKET_ERROR_KINDS}
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else int(lua["status"])
    return WrkResult(
        endpoint=endpoint,
        path=path,
        requests=int(lua["requests"]),
        duration_s=round(duration_s, 3),
        requests_per_s=rps,
        p50_ms=lua["p50_us"] / 1000,
        p90_ms=lua["p90_us"] / 1000,
        p95_ms=lua["p95_us"] / 1000,
        p99_ms=lua["p99_us"] / 1000,
        max_ms=lua["max_us"] / 1000,
        mean_ms=lua["mean_us"] / 1000,
        socket_errors=socket_errors,
        non_2xx_3xx=non_2xx,
        errors=sum(socket_errors.values()) + non_2xx,
        wrk_distribution_ms=distribution,
    )


def aggregate(runs: list[WrkResult]) -> WrkResult:
    """Median of each figure over the rounds (errors summed, other load: the worst)."""
    if len(runs) == 1:
        return runs[0]
    first = runs[0]
    rps = [r.requests_per_s for r in runs]
    return WrkResult(
        endpoint=first.endpoint,
        path=first.path,
        requests=sum(r.requests for r in runs),
        duration_s=round(sum(r.duration_s for r in runs), 3),
        requests_per_s=statistics.median(rps),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p90_ms=statistics.median(r.p90_ms for r in runs),
        p95_ms=statistics.median(r.p95_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        max_ms=max(r.max_ms for r in runs),
        mean_ms=statistics.median(r.mean_ms for r in runs),
        socket_errors={
            k: sum(r.socket_errors.get(k, 0) for r in runs) for k in first.socket_errors
        },
        non_2xx_3xx=sum(r.non_2xx_3xx for r in runs),
        errors=sum(r.errors for r in runs),
        server_cores=statistics.median(r.server_cores for r in runs),
        wrk_cores=statistics.median(r.wrk_cores for r in runs),
        foreign_load=max(r.foreign_load for r in runs),
        rps_min=min(rps),
        rps_max=max(rps),
        rounds=[asdict(r) for r in runs],
    )
