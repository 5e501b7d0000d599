"""The gateway under test: ``gateway serve`` as a subprocess on a free loopback port.

:class:`Server` starts it offline, waits until it is ready and always stops it (workers
included): :func:`serving` guarantees the stop and :func:`sigterm_as_exit` turns signals into
exceptions so that it happens on SIGTERM, SIGHUP and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any

from bench._common import REPO, BenchError, log


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """``(status, body)`` of a JSON ``GET``; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


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
        # The checkout's gateway, not the one the venv's editable install points at (a git
        # worktree sharing another checkout's venv would otherwise measure that checkout).
        path = os.pathsep.join(s for s in (str(REPO), os.environ.get("PYTHONPATH")) if s)
        self.env = {
            **os.environ,
            "PYTHONPATH": path,
            "GATEWAY_SMT_URL": "",
            "GATEWAY_SNAPSHOT_DIR": str(snapshot),
            "GATEWAY_ACCESS_LOG": "true" if access_log else "false",
            "GATEWAY_LOG_LEVEL": log_level,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """Process id of the running server (the granian main process)."""
        if self.proc is None:
            raise BenchError("the gateway is not running")
        return self.proc.pid

    def start(self, timeout_s: float = 30.0) -> dict[str, Any]:
        """Start the server and wait for ``/health/ready`` to answer 200; its JSON body."""
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
        """The last ``lines`` lines of the server's log, with a heading ("" if unreadable)."""
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "--- gateway log (tail) ---\n" + "\n".join(text[-lines:])

    def log_line_count(self) -> int:
        """How many lines the server has written to its log."""
        with self.log_file.open("rb") as handle:
            return sum(1 for _ in handle)

    def stop(self) -> int | None:
        """Stop the server and any worker left behind; its exit status (None: not started)."""
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


@contextlib.contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Stop ``server`` on the way out, after printing its log tail to stderr on an error."""
    try:
        yield server
    except BaseException:
        with contextlib.suppress(Exception):
            print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        code = server.stop()
        log(f"gateway stopped (exit status {code})")


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


def run_bench(bench: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``bench(args)`` with signals unwinding the stack; the process exit status (2 when the
    bench cannot run, 130 on Ctrl-C)."""
    try:
        with sigterm_as_exit():
            return bench(args)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
