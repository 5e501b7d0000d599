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
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
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

#: Targets (see bench/README.md).
LOOKUP_MIN_RATIO = 0.60
EXPAND_MAX_P95_MS = 5.0

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


class BenchError(RuntimeError):
    """The bench cannot run (setup, server or endpoint failure)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    path: str


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


@dataclass(slots=True)
class WrkResult:
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


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str


# --------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def ensure_wrk() -> str:
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


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    text = (result.stdout or result.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def choose_snapshot(explicit: Path | None) -> tuple[Path, str]:
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


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def process_tree(root: int) -> list[int]:
    """``root`` and every descendant (granian runs workers as child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        out.append(pid)
        pending.extend(children.get(pid, []))
    return out


def status_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


CLK_TCK = os.sysconf("SC_CLK_TCK")
#: Above this share of the machine used by other processes, results are flagged.
FOREIGN_LOAD_WARN = 0.05


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields)
    return total - idle, total


def tree_cpu_s(root: int) -> float:
    """User+system CPU seconds of ``root`` and its descendants (alive ones)."""
    jiffies = 0
    for pid in process_tree(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        jiffies += int(stat[11]) + int(stat[12])  # utime, stime (fields 14, 15)
    return jiffies / CLK_TCK


@dataclass(slots=True)
class CpuSample:
    """What the machine, the server, wrk (our children) and this process used."""

    wall: float
    busy: int
    total: int
    server_s: float
    children_s: float
    self_s: float

    @classmethod
    def take(cls, server_pid: int | None) -> CpuSample:
        times = os.times()
        busy, total = machine_jiffies()
        return cls(
            wall=time.monotonic(),
            busy=busy,
            total=total,
            server_s=tree_cpu_s(server_pid) if server_pid else 0.0,
            children_s=times.children_user + times.children_system,
            self_s=times.user + times.system,
        )


def cpu_between(before: CpuSample, after: CpuSample) -> tuple[float, float, float]:
    """(server cores, wrk cores, foreign share of the machine) between two samples."""
    wall = max(after.wall - before.wall, 1e-6)
    total_s = max(after.total - before.total, 1) / CLK_TCK
    busy_s = (after.busy - before.busy) / CLK_TCK
    server = after.server_s - before.server_s
    children = after.children_s - before.children_s
    own = after.self_s - before.self_s
    foreign = max(0.0, busy_s - server - children - own)
    return server / wall, children / wall, min(1.0, foreign / total_s)


def wait_until_quiet(deadline: float, server_pid: int | None, threshold: float = 0.10) -> float:
    """Wait (until ``deadline``) for other processes to use < ``threshold`` of the CPUs."""
    started = time.monotonic()
    announced = False
    while True:
        before = CpuSample.take(server_pid)
        time.sleep(0.5)
        load = cpu_between(before, CpuSample.take(server_pid))[2]
        if load < threshold or time.monotonic() >= deadline:
            if announced:
                log(f"waited {time.monotonic() - started:.0f}s; other processes now at {load:.0%}")
            return load
        if not announced:
            log(
                f"machine busy ({load:.0%} of the CPUs used by other processes): waiting up to "
                f"{max(0.0, deadline - time.monotonic()):.0f}s for it to go idle"
            )
            announced = True


def git_state() -> dict[str, Any]:
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


def rss_report(root: int) -> dict[str, Any]:
    processes: list[dict[str, Any]] = []
    for pid in process_tree(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        processes.append(
            {
                "pid": pid,
                "role": "main" if pid == root else "worker",
                "vmrss_kib": status_kib(pid, "VmRSS"),
                "vmhwm_kib": status_kib(pid, "VmHWM"),
                "cmdline": cmdline.strip()[:120],
            }
        )
    total = sum(p["vmrss_kib"] or 0 for p in processes)
    return {"processes": processes, "total_vmrss_kib": total}


def format_rss(report: dict[str, Any]) -> str:
    parts = [
        f"{p['role']} pid {p['pid']}: VmRSS {p['vmrss_kib'] / 1024:.1f} MiB"
        f" (peak {(p['vmhwm_kib'] or 0) / 1024:.1f} MiB)"
        for p in report["processes"]
    ]
    return "; ".join(parts) + f"; total VmRSS {report['total_vmrss_kib'] / 1024:.1f} MiB"


# --------------------------------------------------------------------------- server


class Server:
    """``gateway serve`` in its own session; ``stop()`` is idempotent."""

    def __init__(
        self,
        *,
        snapshot: Path,
        port: int,
        access_log: bool,
        log_level: str,
        workers: int | None,
        log_file: Path,
    ) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_file = log_file
        gateway = Path(sys.executable).parent / "gateway"
        command = [str(gateway)] if gateway.exists() else [sys.executable, "-m", "gateway.cli"]
        command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
        if workers:
            command += ["--workers", str(workers)]
        self.command = command
        self.env = {
            **os.environ,
            "GATEWAY_SMT_URL": "",
            "GATEWAY_SNAPSHOT_DIR": str(snapshot),
            "GATEWAY_ACCESS_LOG": "true" if access_log else "false",
            "GATEWAY_LOG_LEVEL": log_level,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_handle: Any = None

    def start(self, timeout_s: float = 30.0) -> dict[str, Any]:
        self._log_handle = self.log_file.open("wb")
        self.proc = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"gateway exited with status {self.proc.returncode} during start-up\n"
                    + self.log_tail()
                )
            try:
                status, body = http_get(self.base + "/health/ready", timeout=1.0)
                if status == 200:
                    ready: dict[str, Any] = json.loads(body)
                    return ready
                last = f"HTTP {status}: {body[:300]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise BenchError(f"/health/ready not 200 after {timeout_s}s ({last})\n" + self.log_tail())

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "--- gateway log (tail) ---\n" + "\n".join(text[-lines:])

    def stop(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # granian shuts its workers down gracefully
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # own session: pgid == pid
                proc.wait(timeout=5)
        if proc is not None:
            # Any worker left behind in the server's own process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        return proc.returncode if proc is not None else None


# --------------------------------------------------------------------------- wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(endpoint: Endpoint, output: str) -> WrkResult:
    match = re.search(r"^BENCH_JSON (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise BenchError(f"no BENCH_JSON line in wrk output for {endpoint.name}:\n{output}")
    lua: dict[str, float] = json.loads(match.group(1))
    distribution = {
        f"p{m.group(1)}": _to_ms(m.group(2), m.group(3))
        for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    rps_match = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    duration_s = lua["duration_us"] / 1e6
    rps = float(rps_match.group(1)) if rps_match else lua["requests"] / duration_s
    socket_errors = {k: int(lua[k]) for k in ("connect", "read", "write", "timeout")}
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else int(lua["status"])
    return WrkResult(
        endpoint=endpoint.name,
        path=endpoint.path,
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


def run_wrk(
    wrk: str,
    url: str,
    *,
    threads: int,
    connections: int,
    duration_s: float,
    script: Path,
) -> str:
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    return result.stdout


# --------------------------------------------------------------------------- bench


def verify(server: Server, endpoint: Endpoint) -> bytes:
    status, body = http_get(server.base + endpoint.path)
    if status != 200:
        raise BenchError(
            f"{endpoint.name}: GET {endpoint.path} returned HTTP {status}, expected 200\n"
            f"{body[:500].decode(errors='replace')}"
        )
    return body


def warm(server: Server, endpoint: Endpoint, requests: int = 50) -> None:
    for _ in range(requests):
        verify(server, endpoint)


def describe_expand(server: Server) -> str:
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


def measure(
    wrk: str,
    server: Server,
    server_pid: int,
    endpoint: Endpoint,
    args: argparse.Namespace,
    *,
    script: Path,
    warmup: bool,
    quiet_deadline: float,
) -> WrkResult:
    url = server.base + endpoint.path
    if warmup:
        warm(server, endpoint)
        if args.warmup > 0:
            run_wrk(
                wrk,
                url,
                threads=args.threads,
                connections=args.connections,
                duration_s=args.warmup,
                script=script,
            )
    if time.monotonic() < quiet_deadline:
        wait_until_quiet(quiet_deadline, server_pid)
    before = CpuSample.take(server_pid)
    output = run_wrk(
        wrk,
        url,
        threads=args.threads,
        connections=args.connections,
        duration_s=args.duration,
        script=script,
    )
    after = CpuSample.take(server_pid)
    if args.verbose:
        print(output)
    result = parse_wrk(endpoint, output)
    result.server_cores, result.wrk_cores, result.foreign_load = cpu_between(before, after)
    log(
        f"{endpoint.name}: {result.requests_per_s:.0f} req/s, "
        f"p95 {result.p95_ms:.2f} ms, {result.errors} errors, server "
        f"{result.server_cores:.2f} cores, wrk {result.wrk_cores:.2f} cores, "
        f"other processes {result.foreign_load:.0%} of the machine"
    )
    verify(server, endpoint)  # still healthy after the load
    return result


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


def print_table(results: list[WrkResult]) -> None:
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


def check_targets(results: dict[str, WrkResult], connections: int) -> list[Check]:
    base = results[BASELINE.name]
    lookup = results[LOOKUP.name]
    expand = results[EXPAND.name]
    ratio = lookup.requests_per_s / base.requests_per_s if base.requests_per_s else 0.0
    checks = [
        Check(
            f"cached $lookup >= {LOOKUP_MIN_RATIO:.0%} of baseline throughput",
            ratio >= LOOKUP_MIN_RATIO,
            f"{lookup.requests_per_s:.0f} / {base.requests_per_s:.0f} req/s = {ratio:.1%}",
        ),
        Check(
            f"$expand+filter p95 < {EXPAND_MAX_P95_MS:g} ms at {connections} connections",
            expand.p95_ms < EXPAND_MAX_P95_MS,
            f"p95 = {expand.p95_ms:.2f} ms",
        ),
    ]
    errors = sum(r.errors for r in results.values())
    checks.append(Check("no HTTP/socket errors under load", errors == 0, f"{errors} errors"))
    return checks


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGINT/SIGTERM/SIGHUP unwind the stack, so ``finally`` blocks stop the server."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Even when started with SIGINT ignored (a background job), Ctrl-C / kill -INT stops us.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def bench(args: argparse.Namespace) -> int:
    wrk = ensure_wrk()
    snapshot, snapshot_kind = choose_snapshot(args.snapshot)
    log(f"snapshot: {snapshot} [{snapshot_kind}]")
    log(
        f"access log: {'ENABLED' if args.access_log else 'disabled'} "
        f"(GATEWAY_ACCESS_LOG={'true' if args.access_log else 'false'}; "
        f"--{'no-' if args.access_log else ''}access-log to change), "
        f"GATEWAY_LOG_LEVEL={args.log_level}"
    )
    code_state = git_state()
    if code_state["dirty_gateway_files"]:
        log(
            "note: uncommitted changes under gateway/ are benchmarked too: "
            + ", ".join(code_state["dirty_gateway_files"])
        )
    #: One waiting budget for the whole run, so a busy machine cannot stretch it much.
    quiet_deadline = time.monotonic() + max(0.0, args.wait_quiet)
    load = wait_until_quiet(quiet_deadline, None)
    log(f"other processes use {load:.0%} of the CPUs before the run")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp_name:
        tmp = Path(tmp_name)
        snap_dir = tmp / "snapshot"
        snap_dir.mkdir()
        linked = mirror_snapshot(snapshot, snap_dir)
        script = tmp / "report.lua"
        script.write_text(WRK_LUA, encoding="utf-8")
        log(f"temp dir {tmp}: {linked} snapshot files symlinked + bench ValueSet {BENCH_VS_URL}")
        port = args.port or free_port()
        server = Server(
            snapshot=snap_dir,
            port=port,
            access_log=args.access_log,
            log_level=args.log_level,
            workers=args.workers,
            log_file=tmp / "gateway.log",
        )
        log("$ " + " ".join(server.command) + "  (GATEWAY_SMT_URL='' offline)")
        try:
            started = time.monotonic()
            ready = server.start()
            assert server.proc is not None
            server_pid = server.proc.pid
            resources = ready["snapshot"]["resources"]
            log(
                f"ready in {time.monotonic() - started:.1f}s on {server.base} (pid {server_pid}), "
                f"{len(resources)} resources loaded, upstreams: "
                + ", ".join(f"{k}={v['state']}" for k, v in ready["upstreams"].items())
            )
            for endpoint in ENDPOINTS:
                verify(server, endpoint)
            log("all endpoints answer 200; " + describe_expand(server))
            rss_before = rss_report(server_pid)
            log("RSS before load: " + format_rss(rss_before))

            log(
                f"wrk {wrk_version(wrk)}: -t{args.threads} -c{args.connections} "
                f"-d{args.duration}s --latency (warm-up {args.warmup}s per endpoint)"
            )
            runs: dict[str, list[WrkResult]] = {e.name: [] for e in ENDPOINTS}
            for round_no in range(1, args.rounds + 1):
                if args.rounds > 1:
                    log(f"round {round_no}/{args.rounds}")
                for endpoint in ENDPOINTS:
                    result = measure(
                        wrk,
                        server,
                        server_pid,
                        endpoint,
                        args,
                        script=script,
                        warmup=round_no == 1,
                        quiet_deadline=quiet_deadline,
                    )
                    runs[endpoint.name].append(result)
            results = {name: aggregate(items) for name, items in runs.items()}

            rss_after = rss_report(server_pid)
        except BaseException:
            with contextlib.suppress(Exception):
                print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            code = server.stop()
            log(f"gateway stopped (exit status {code})")
        with server.log_file.open("rb") as handle:
            log_lines = sum(1 for _ in handle)

    base_rps = results[BASELINE.name].requests_per_s
    for r in results.values():
        r.ratio_to_baseline = r.requests_per_s / base_rps if base_rps else None
    print_table(list(results.values()))
    checks = check_targets(results, args.connections)
    for c in checks:
        print(f"{'PASS' if c.passed else 'FAIL'}  {c.name}: {c.detail}")
    print()
    print("server RSS after the run: " + format_rss(rss_after))
    print(f"server log lines written during the run: {log_lines}")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"terminology-{stamp}.json"
    document = {
        "timestamp": stamp,
        "config": {
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
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "wrk": wrk_version(wrk),
        },
        "code": code_state,
        "results": [asdict(r) for r in results.values()],
        "targets": [asdict(c) for c in checks],
        "rss_before_load": rss_before,
        "rss_after_load": rss_after,
        "server_log_lines": log_lines,
    }
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results written to {out.relative_to(REPO)}")
    return 0 if all(c.passed for c in checks) else 1


def build_parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.connections < args.threads:
        print("--connections must be >= --threads", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.duration < 1:
        print("--rounds and --duration must be >= 1", file=sys.stderr)
        return 2
    try:
        with sigterm_as_exit():
            return bench(args)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
