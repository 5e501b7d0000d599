"""The stub directory process and ``gateway sync locations`` runs, for ``bench.locations``.

:class:`StubProcess` starts ``python -m bench._directory_stub`` and reads what it served;
:func:`run_sync` runs the sync as a subprocess, logs its progress (pages served, RSS) and
reads its summary line, its manifest and its peak RSS (``os.wait4``'s ``ru_maxrss``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._common import REPO, BenchError, log
from bench._sampling import CpuSample, _status_kib, cpu_between

#: The summary line ``gateway sync locations`` prints (gateway/cli/locations.py).
SUMMARY = re.compile(
    r"sync locations \((?P<mode>\w+)[^)]*\): (?P<pages>\d+) pages, (?P<roles>\d+) roles read, "
    r"(?P<removed>\d+) removed, (?P<by_id>\d+) fetched by id; (?P<geocoded>\d+) of "
    r"(?P<addresses>\d+) new addresses geocoded.*?; (?P<locations>\d+) locations of "
    r"(?P<practitioners>\d+) practitioners \((?P<out_of_scope>\d+) out of the SAS scope, "
    r"(?P<unplaced>\d+) unplaced\); version (?P<version>\w+)(?P<unchanged> \(unchanged\))?"
)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment, importing this checkout first, plus ``extra``."""
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env.pop("GATEWAY_API_KEYS_FILE", None)  # the admin reload must be open
    return env | extra


class StubProcess:
    """``bench._directory_stub`` in its own process; stopped on ``__exit__``."""

    def __init__(
        self, roles: int, organizations: int, latency_ms: float, log_file: Path,
        geocoder_rows_per_s: float = 0.0,
    ) -> None:  # fmt: skip
        self.command = [sys.executable, "-m", "bench._directory_stub", "--roles", str(roles)]
        self.command += ["--organizations", str(organizations), "--latency-ms", f"{latency_ms:g}"]
        self.command += ["--geocoder-rows-per-s", f"{geocoder_rows_per_s:g}"]
        self.geocoder_rows_per_s = geocoder_rows_per_s
        self.log_file = log_file
        self.proc: subprocess.Popen[str] | None = None
        self.pid = 0
        self.base = ""
        self.practitioners = 0

    def __enter__(self) -> StubProcess:
        with self.log_file.open("w") as errors:
            self.proc = subprocess.Popen(self.command, cwd=REPO, env=child_env({}), text=True,
                                         stdout=subprocess.PIPE, stderr=errors)  # fmt: skip
        assert self.proc.stdout is not None
        self.pid = self.proc.pid
        line = self.proc.stdout.readline()  # its first line, once it listens
        if not line.startswith("READY "):
            self.__exit__()
            raise BenchError(f"the directory stub did not start: {line!r}\n{self.log_tail()}")
        words = dict(w.partition("=")[::2] for w in line.split()[2:])
        self.base = f"http://127.0.0.1:{line.split()[1]}"
        self.practitioners = int(words.get("practitioners") or 0)
        return self

    def __exit__(self, *_: object) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def log_tail(self) -> str:
        return self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""

    def env(self, rate: float) -> dict[str, str]:
        """The sync's variables: the stub's URLs and key, the Annuaire quota ``rate``."""
        return {
            "GATEWAY_ANNUAIRE_URL": f"{self.base}/fhir/v2",
            "GATEWAY_ANNUAIRE_API_KEY": "bench",
            "GATEWAY_ANNUAIRE_RATE": f"{rate:g}",
            "GATEWAY_GEOCODER_URL": f"{self.base}/geocodage",
        }

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(self.base + "/_bench/stats", timeout=10) as response:
            found: dict[str, float] = json.loads(response.read())
            return found

    def move_organizations(self) -> int:
        """From now on, one organization in 50 has another address (an edition)."""
        request = urllib.request.Request(self.base + "/_bench/edition", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            moved: int = json.loads(response.read())["moved"]
            return moved


@dataclass(slots=True)
class SyncFigures:
    """One run of ``gateway sync locations``."""

    label: str
    wall_s: float
    #: Annuaire calls the stub answered (pages, ``_id`` look-ups included).
    calls: int
    rate: float
    peak_rss_kib: int
    geocoder_calls: int
    geocoder_rows: int
    geocoder_placed: int
    stub_busy_s: float
    summary: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    #: Cores used by the stub and by the sync, and the share of the machine's CPU that
    #: other processes used meanwhile (0..1).
    stub_cores: float = 0.0
    sync_cores: float = 0.0
    foreign_load: float = 0.0
    #: The stub geocoder's throughput (rows/s; 0: instant).
    geocoder_rows_per_s: float = 0.0

    @property
    def geocoder_s(self) -> float:
        """The geocoder's own minimum: every row at its throughput."""
        rate = self.geocoder_rows_per_s
        return self.geocoder_rows / rate if rate else 0.0

    @property
    def bound_s(self) -> float:
        """The minimum: every call at exactly ``rate`` per second, or the geocoder's time
        when it is longer (geocoding runs while pages are read)."""
        return max(self.calls / self.rate, self.geocoder_s)

    @property
    def ratio(self) -> float:
        return self.wall_s / self.bound_s if self.bound_s else float("inf")


def run_sync(
    label: str, out: Path, env: dict[str, str], stub: StubProcess, *, rate: float,
    every_s: float, log_file: Path,
) -> SyncFigures:  # fmt: skip
    """``gateway sync locations --out out``: its figures (``BenchError`` if it fails)."""
    command = [sys.executable, "-m", "gateway.cli", "sync", "locations", "--out", str(out)]
    before = stub.stats()
    log(f"{label}: $ gateway sync locations --out {out}")
    stdout_file = log_file.with_suffix(".out")
    with log_file.open("w") as errors, stdout_file.open("w") as output:
        started, cpu = time.monotonic(), CpuSample.take(stub.pid)
        proc = subprocess.Popen(command, cwd=REPO, env=child_env(env), stdin=subprocess.DEVNULL,
                                stdout=output, stderr=errors)  # fmt: skip
        try:
            status, peak = _follow(proc, label, stub, before, started, every_s)
        finally:
            if proc.returncode is None:
                proc.kill()
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(proc.pid, 0)
        wall = time.monotonic() - started
        share = cpu_between(cpu, CpuSample.take(stub.pid))
    text = stdout_file.read_text()
    if status != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise BenchError(f"{label}: the sync exited with status {status}\n{text}\n{tail}")
    found = SUMMARY.search(text)
    if found is None:
        raise BenchError(f"{label}: no summary line in the sync's output:\n{text}")
    summary: dict[str, Any] = {k: (int(v) if v and v.isdigit() else v)
                               for k, v in found.groupdict().items()}  # fmt: skip
    summary["changed"] = not summary.pop("unchanged")
    after = stub.stats()

    def delta(key: str) -> float:
        return after.get(key, 0) - before.get(key, 0)

    manifest_file = out / "practice-locations.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    figures = SyncFigures(
        label, wall, int(delta("pages")), rate, peak, int(delta("geocoder_calls")),
        int(delta("geocoder_rows")), int(delta("geocoder_placed")), delta("busy_s"), summary,
        manifest, share.server_cores, share.wrk_cores, share.foreign_load,
        stub.geocoder_rows_per_s,
    )  # fmt: skip
    log(f"{label}: done in {wall:.1f} s, {figures.calls} Annuaire calls (bound "
        f"{figures.bound_s:.1f} s, x{figures.ratio:.2f}; geocoder alone "
        f"{figures.geocoder_s:.1f} s), peak RSS {peak / 2**20:.2f} GiB, "
        f"{figures.geocoder_rows} rows geocoded, other processes {share.foreign_load:.0%} of "
        f"the CPUs; {text.strip().splitlines()[-1]}")  # fmt: skip
    return figures


def _follow(
    proc: subprocess.Popen[bytes], label: str, stub: StubProcess, before: dict[str, float],
    started: float, every_s: float,
) -> tuple[int, int]:  # fmt: skip
    """Wait for ``proc``, logging progress every ``every_s``: (exit status, peak RSS KiB)."""
    next_log, hwm = started + every_s, 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, max(usage.ru_maxrss, hwm)
        hwm = max(hwm, _status_kib(proc.pid, "VmHWM") or 0)
        now = time.monotonic()
        if now >= next_log:
            next_log += every_s
            stats = stub.stats()
            pages = stats.get("pages", 0) - before.get("pages", 0)
            rows = stats.get("geocoder_rows", 0) - before.get("geocoder_rows", 0)
            rss = (_status_kib(proc.pid, "VmRSS") or 0) / 1024
            elapsed = now - started
            log(
                f"{label}: {elapsed:5.0f} s  {pages:6.0f} pages ({pages / elapsed:4.1f}/s)  "
                f"{rows:7.0f} rows geocoded  RSS {rss:6.0f} MiB (peak {hwm / 1024:.0f})"
            )
        time.sleep(0.2)
