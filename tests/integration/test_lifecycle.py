"""Process lifecycle of ``gateway serve``: graceful shutdown drains in-flight requests."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.processes import start_gateway
from tests.stubs import Stub, StubSmt

SLOW_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R72-FamilleActivite/FHIR/TRE-R72-FamilleActivite"


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    StubSmt.mode, StubSmt.delay_s = "delay", 1.5
    try:
        yield server
    finally:
        StubSmt.mode = "ok"
        server.stop()


def test_sigterm_lets_an_in_flight_request_finish(stub: Stub) -> None:
    process, base = start_gateway(
        {
            "GATEWAY_SMT_URL": stub.url,
            "GATEWAY_SMT_READ_TIMEOUT": "5",
            "GATEWAY_SMT_BUDGET": "6",
            "GATEWAY_GEOCODER_URL": "",
            "GATEWAY_ANNUAIRE_URL": "",
            "GATEWAY_ROR_URL": "",
            "GATEWAY_ACCESS_LOG": "false",
            "GATEWAY_API_KEYS_FILE": "",
        }
    )
    try:
        result: dict[str, int] = {}

        def slow_request() -> None:
            response = httpx.get(
                f"{base}/v1/terminology/resolve",
                params={"coding": f"{SLOW_SYSTEM}|604"},
                timeout=10,
            )
            result["status"] = response.status_code

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(0.5)  # the request is now waiting on the (slow) SMT
        assert StubSmt.calls >= 1
        process.send_signal(signal.SIGTERM)
        worker.join(timeout=15)
        assert result.get("status") == 200, "the in-flight request was cut by the shutdown"
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
