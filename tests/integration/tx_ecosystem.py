"""Runs the HL7 tx-ecosystem suites (../shared/reference/tx-ecosystem) against the facade.

For each suite the setup resources become the snapshot of one offline gateway; each case's
request ``Parameters`` (merged with its ``profile`` Parameters, if any) is POSTed to the
operation's endpoint with the case's headers, and the answer is compared on meaning
(``tests.integration.tx_compare``). Results are kept per suite for the pass-count table
that ``tests/integration/conftest.py`` prints at the end of the session.

Standalone: ``python -m tests.integration.tx_ecosystem [suite …]`` prints the table and
the failing cases with their differences.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import REFERENCE_DIR, make_client, offline_settings
from tests.integration.tx_compare import compare

TX_DIR = REFERENCE_DIR / "tx-ecosystem" / "tests"
#: The general suites issue 14 names, plus batch (the operation is part of the facade).
SUITES = (
    "simple-cases",
    "parameters",
    "validation",
    "version",
    "default-valueset-version",
    "fragment",
    "errors",
    "deprecated",
    "notSelectable",
    "inactive",
    "case",
    "translate",
    "exclude",
    "search",
    "language",
    "language2",
    "extensions",
    "overload",
    "permutations",
    "big",
    "other",
    "batch",
)
ENDPOINTS = {
    "expand": "/fhir/ValueSet/$expand",
    "validate-code": "/fhir/ValueSet/$validate-code",
    "cs-validate-code": "/fhir/CodeSystem/$validate-code",
    "lookup": "/fhir/CodeSystem/$lookup",
    "translate": "/fhir/ConceptMap/$translate",
    "batch-validate": "/fhir/ValueSet/$batch-validate-code",
}


#: suite → case name → outcome, filled as the test module runs (read by the summary hook).
RESULTS: dict[str, dict[str, Outcome]] = {}


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    spec: dict[str, Any]
    setup: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"


@dataclass
class Outcome:
    case: Case
    differences: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences


def load_cases(suites: tuple[str, ...] = SUITES) -> list[Case]:
    """Every general-mode case of ``suites`` (cases for one server's own QA are left out)."""
    if not TX_DIR.is_dir():
        return []
    listed = json.loads((TX_DIR / "test-cases.json").read_text(encoding="utf-8"))["suites"]
    cases = {
        # keyed by id: the version suite lists two cases twice, word for word
        f"{suite['name']}/{case['name']}": Case(
            suite["name"], case["name"], case, tuple(suite["setup"])
        )
        for suite in listed
        if suite["name"] in suites and suite.get("mode", "general") == "general"
        for case in suite["tests"]
        if case.get("mode", "general") == "general"
    }
    return list(cases.values())


def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TX_DIR / name).read_text(encoding="utf-8-sig"))
    return data


def request_of(case: Case) -> tuple[dict[str, Any], dict[str, str]]:
    request = _json(case.spec["request"])
    if "profile" in case.spec:
        extra = [p for p in _json(case.spec["profile"])["parameter"] if p["name"] != "uuid"]
        request["parameter"] = [*request.get("parameter", []), *extra]
    headers = {}
    if "Accept-Language" in case.spec:
        headers["Accept-Language"] = case.spec["Accept-Language"]
    if "header" in case.spec:
        headers[case.spec["header"]["name"]] = case.spec["header"]["value"]
    return request, headers


async def run_suite(cases: list[Case]) -> list[Outcome]:
    """The cases of one suite, against one gateway loaded with the suite's setup."""
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="tx-") as tmp:
        snapshot = Path(tmp)
        for index, name in enumerate(cases[0].setup):
            shutil.copy(TX_DIR / name, snapshot / f"{index:02d}-{Path(name).name}")
        async with make_client(offline_settings(snapshot)) as client:
            for case in cases:
                request, headers = request_of(case)
                operation = case.spec["operation"]
                response = await client.post(ENDPOINTS[operation], json=request, headers=headers)
                try:
                    body = response.json()
                except ValueError:
                    body = {"resourceType": None, "text": response.text[:200]}
                expected = _json(case.spec["response"])
                if case.spec.get("http-code") == "4xx" and response.status_code < 400:
                    diffs = [f"expected a 4xx, got {response.status_code}"]
                else:
                    diffs = compare(operation, expected, response.status_code, body)
                outcomes.append(Outcome(case, diffs))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    by_suite: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_suite.setdefault(outcome.case.suite, []).append(outcome)
    lines = [f"{'suite':<26}{'passed':>8}{'cases':>8}"]
    passed = total = 0
    for suite in SUITES:
        if suite not in by_suite:
            continue
        ok = sum(o.passed for o in by_suite[suite])
        passed, total = passed + ok, total + len(by_suite[suite])
        lines.append(f"{suite:<26}{ok:>8}{len(by_suite[suite]):>8}")
    if total:
        lines.append(f"{'all':<26}{passed:>8}{total:>8}   {100 * passed / total:.1f} %")
    return "\n".join(lines)


async def run_all(suites: tuple[str, ...] = SUITES) -> list[Outcome]:
    cases = load_cases(suites)
    outcomes: list[Outcome] = []
    for suite in suites:
        members = [c for c in cases if c.suite == suite]
        if members:
            outcomes.extend(await run_suite(members))
    return outcomes


def main(argv: list[str]) -> int:
    if not TX_DIR.is_dir():
        print(f"{TX_DIR} is absent", file=sys.stderr)
        return 2
    outcomes = asyncio.run(run_all(tuple(argv) or SUITES))
    for outcome in outcomes:
        if not outcome.passed:
            print(f"FAIL {outcome.case.id}: {'; '.join(outcome.differences)}"[:400])
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
