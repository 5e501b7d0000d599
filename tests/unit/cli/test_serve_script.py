"""``scripts/serve`` is the demo: offline unless an upstream URL is set explicitly.

The script runs for real, with ``GATEWAY_VENV`` pointing at a stand-in virtualenv whose
``gateway`` prints the environment it was started with (no install, no server)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UPSTREAMS = ("SMT", "ANNUAIRE", "ROR", "GEOCODER")


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    gateway = venv / "bin" / "gateway"
    gateway.write_text('#!/bin/sh\necho "ARGS $*"\nenv | grep ^GATEWAY_ | sort\n', "utf-8")
    for script in (python, gateway):
        script.chmod(0o755)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".installed-runtime").write_text(digest + "\n", encoding="utf-8")
    return venv


def serve(venv: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [str(ROOT / "scripts" / "serve"), "--port", "9000"],
        env={**base, "GATEWAY_VENV": str(venv), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )


def test_the_demo_is_offline_and_says_so(fake_venv: Path) -> None:
    run = serve(fake_venv)
    for upstream in UPSTREAMS:
        assert f"GATEWAY_{upstream}_URL=\n" in run.stdout
    assert "ARGS serve --port 9000" in run.stdout
    assert "demo mode, offline" in run.stderr


def test_an_upstream_set_explicitly_is_kept_and_named(fake_venv: Path) -> None:
    run = serve(fake_venv, GATEWAY_SMT_URL="https://smt.example/fhir")
    assert "GATEWAY_SMT_URL=https://smt.example/fhir\n" in run.stdout
    assert "GATEWAY_GEOCODER_URL=\n" in run.stdout
    assert "SMT=https://smt.example/fhir" in run.stderr
