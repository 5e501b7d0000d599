"""What the server's processes and the machine use, sampled from ``/proc`` (Linux).

CPU time of the server's process tree (granian workers included) and of wrk (our child
processes), the share of the machine's CPU used by *other* processes, and the resident
memory of the server's processes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from bench._common import log

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(stat_file: Path) -> list[str]:
    """Fields of a ``/proc/<pid>/stat`` after the command name: [state, ppid, ...]."""
    return stat_file.read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """``root`` and every descendant (granian runs workers as child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(entry / "stat")[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        out.append(pid)
        pending.extend(children.get(pid, []))
    return out


def tree_cpu_s(root: int) -> float:
    """User+system CPU seconds of ``root`` and its descendants (alive ones)."""
    jiffies = 0
    for pid in process_tree(root):
        try:
            fields = _stat_fields(Path(f"/proc/{pid}/stat"))
        except OSError:
            continue
        jiffies += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return jiffies / CLK_TCK


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields)
    return total - idle, total


class CpuShare(NamedTuple):
    """CPU use between two CPU samples (see :func:`cpu_between`)."""

    #: Cores used by the server's processes (1.0 = one core).
    server_cores: float
    #: Cores used by our child processes (wrk).
    wrk_cores: float
    #: Share of the machine's CPU used by other processes (0..1).
    foreign_load: float


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


def cpu_between(before: CpuSample, after: CpuSample) -> CpuShare:
    """Server cores, wrk cores and the foreign share of the machine between two samples."""
    wall = max(after.wall - before.wall, 1e-6)
    total_s = max(after.total - before.total, 1) / CLK_TCK
    busy_s = (after.busy - before.busy) / CLK_TCK
    server = after.server_s - before.server_s
    children = after.children_s - before.children_s
    own = after.self_s - before.self_s
    foreign = max(0.0, busy_s - server - children - own)
    return CpuShare(server / wall, children / wall, min(1.0, foreign / total_s))


def wait_until_quiet(deadline: float, server_pid: int | None, threshold: float = 0.10) -> float:
    """Wait (until ``deadline``) for other processes to use < ``threshold`` of the CPUs."""
    started = time.monotonic()
    announced = False
    while True:
        before = CpuSample.take(server_pid)
        time.sleep(0.5)
        load = cpu_between(before, CpuSample.take(server_pid)).foreign_load
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


def _status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` figure (``VmRSS``, ``VmHWM``…) of ``/proc/<pid>/status``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def rss_report(root: int) -> dict[str, Any]:
    """VmRSS/VmHWM of ``root`` and its descendants, and their total VmRSS (JSON-ready)."""
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
                "vmrss_kib": _status_kib(pid, "VmRSS"),
                "vmhwm_kib": _status_kib(pid, "VmHWM"),
                "cmdline": cmdline.strip()[:120],
            }
        )
    total = sum(p["vmrss_kib"] or 0 for p in processes)
    return {"processes": processes, "total_vmrss_kib": total}


def format_rss(report: dict[str, Any]) -> str:
    """One line describing an :func:`rss_report`."""
    parts = [
        f"{p['role']} pid {p['pid']}: VmRSS {p['vmrss_kib'] / 1024:.1f} MiB"
        f" (peak {(p['vmhwm_kib'] or 0) / 1024:.1f} MiB)"
        for p in report["processes"]
    ]
    return "; ".join(parts) + f"; total VmRSS {report['total_vmrss_kib'] / 1024:.1f} MiB"
