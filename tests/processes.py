"""Real processes for tests that need them: ``gateway serve`` over loopback, a
``redis-server`` and ``chromium`` (from Debian, installed with apt-get when missing and
possible)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_gateway(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.terminate()
    pytest.fail("a gateway did not become ready")


@contextmanager
def gateways(env: dict[str, str], count: int = 2) -> Iterator[list[str]]:
    """``count`` gateway processes with ``env``; their base URLs. Stopped on exit."""
    started = [start_gateway(env) for _ in range(count)]
    try:
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(timeout=20)


def debian_binary(command: str, package: str) -> str | None:
    """``command`` on PATH, installing Debian's ``package`` first when missing (as root
    with apt-get only); None when it cannot be had."""
    found = shutil.which(command)
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", package],
    ):
        try:
            subprocess.run(step, env=env, capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
    return shutil.which(command)


def redis_binary() -> str | None:
    return debian_binary("redis-server", "redis-server")


def chromium_or_skip() -> str:
    """Debian's chromium (``.ci/run`` installs it; installed here too when missing)."""
    binary = debian_binary("chromium", "chromium")
    if binary is None:
        pytest.skip("chromium is not installed and cannot be installed here (apt-get, root)")
    return binary


def redis_or_skip() -> RedisServer:
    binary = redis_binary()
    if binary is None:
        pytest.skip("redis-server is not installed and cannot be installed here (apt-get, root)")
    return RedisServer(binary)


class RedisServer:
    """One redis-server on a fixed port, that a test can stop and start again."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def _answers(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0
