"""Logs are JSON lines with a request id and never carry query values."""

from __future__ import annotations

import io
import json

import pytest

from gateway.terminology.component import TerminologyComponent
from tests.conftest import AppClient

MARKER = "ZZMARKER-Rue-des-Lilas"


async def test_access_log_is_json_with_request_id_and_no_query_values(
    client: AppClient, log_output: io.StringIO
) -> None:
    response = await client.get(
        "/v1/terminology/search", params={"q": MARKER}, headers={"X-Request-ID": "req-42"}
    )
    assert response.status_code == 200
    await client.get("/v1/terminology/resolve", params={"coding": f"urn:oid:1.2.3|{MARKER}"})
    out = log_output.getvalue()
    assert MARKER not in out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    access = [line for line in lines if line.get("event") == "request"]
    assert len(access) == 2
    first = access[0]
    assert first["request_id"] == "req-42"
    assert first["route"] == "/v1/terminology/search"
    assert first["status"] == 200
    assert first["level"] == "info"
    assert "duration_ms" in first


async def test_an_unexpected_error_is_a_500_problem_with_its_traceback_logged(
    client: AppClient, log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("bug in the engine")

    monkeypatch.setattr(client.component(TerminologyComponent).service, "lookup", broken)
    response = await client.get("/v1/terminology/resolve", params={"coding": f"x|{MARKER}"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "bug in the engine" not in response.text  # details stay in the logs
    out = log_output.getvalue()
    assert "Traceback" in out
    assert "RuntimeError: bug in the engine" in out
    assert MARKER not in out
