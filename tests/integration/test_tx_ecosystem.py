"""HL7 terminology-server test suite (../shared/reference/tx-ecosystem), ``$expand`` cases.

Each case loads the suite's setup resources as the snapshot, posts the request
``Parameters`` to ``/fhir/ValueSet/$expand`` and compares the expanded codes (nested
``contains`` flattened, ``$optional$`` entries ignored) and ``total`` with the expected
response. Cases relying on features the gateway does not offer are skipped with the reason.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REFERENCE_DIR, make_client, offline_settings

TX_DIR = REFERENCE_DIR / "tx-ecosystem" / "tests"
SUITES = ("simple-cases", "exclude", "inactive", "deprecated", "search", "parameters")
UNSUPPORTED_PARAMETERS = {
    "tx-resource": "value sets supplied inline with the request (tx-resource)",
    "valueSet": "value set supplied inline with the request",
    "force-system-version": "force-system-version",
    "system-version": "system-version",
    "check-system-version": "check-system-version",
    "useSupplement": "code system supplements",
}


def _cases() -> Iterator[Any]:
    if not TX_DIR.is_dir():
        return
    suites = json.loads((TX_DIR / "test-cases.json").read_text(encoding="utf-8"))["suites"]
    for suite in suites:
        if suite["name"] not in SUITES:
            continue
        for case in suite["tests"]:
            if case["operation"] == "expand" and case.get("mode", "general") == "general":
                yield pytest.param(suite["setup"], case, id=f"{suite['name']}/{case['name']}")


def _flatten(contains: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for item in contains:
        if not item.get("$optional$"):
            yield item["system"], item["code"]
        yield from _flatten(item.get("contains", []))


CASES = list(_cases())


@pytest.mark.skipif(not TX_DIR.is_dir(), reason=f"{TX_DIR} absent (../shared/ not present)")
def test_suite_cases_were_found() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize(("setup", "case"), CASES)
async def test_expand_case(setup: list[str], case: dict[str, Any], tmp_path: Path) -> None:
    request = json.loads((TX_DIR / case["request"]).read_text(encoding="utf-8"))
    names = {p["name"] for p in request["parameter"]}
    for name, reason in UNSUPPORTED_PARAMETERS.items():
        if name in names:
            pytest.skip(f"not supported: {reason}")
    expected = json.loads((TX_DIR / case["response"]).read_text(encoding="utf-8"))
    for index, name in enumerate(setup):
        shutil.copy(TX_DIR / name, tmp_path / f"{index:02d}-{Path(name).name}")
    async with make_client(offline_settings(tmp_path)) as client:
        response = await client.post("/fhir/ValueSet/$expand", json=request)
    body = response.json()
    if expected["resourceType"] == "OperationOutcome":
        assert response.status_code >= 400, body
        assert body["resourceType"] == "OperationOutcome"
        return
    assert response.status_code == 200, body
    got = sorted((c["system"], c["code"]) for c in body["expansion"]["contains"])
    assert got == sorted(_flatten(expected["expansion"].get("contains", [])))
    if "total" in expected["expansion"]:
        assert body["expansion"]["total"] == expected["expansion"]["total"]
