from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import build_parser, main


def test_serve_accepts_host_port_and_workers() -> None:
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 9000)


def test_sync_terminology_refuses_offline_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_SMT_URL", "")
    assert main(["sync", "terminology"]) == 2
    assert "offline" in capsys.readouterr().err


def test_configuration_errors_exit_2_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "nope")
    assert main(["openapi"]) == 2
    assert "GATEWAY_PORT" in capsys.readouterr().err


def test_openapi_command_writes_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_SMT_URL", "")
    out = tmp_path / "openapi.json"
    assert main(["openapi", "--out", str(out)]) == 0
    assert "/v1/terminology/resolve" in json.loads(out.read_text())["paths"]
