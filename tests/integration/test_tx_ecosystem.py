"""HL7 terminology-server test suite (../shared/reference/tx-ecosystem), every case.

Every general-mode case of the suites issue 14 names (all operations: ``$expand``,
``$validate-code`` on ValueSets and CodeSystems, ``$lookup``, ``$translate``, batch
validation) runs against an offline gateway loaded with its suite's setup resources
(``tests.integration.tx_ecosystem``); answers are compared on meaning
(``tests.integration.tx_compare``). Cases the facade does not pass yet are listed in
``tx_known_failures.KNOWN_FAILURES`` with the reason: they xfail, and one that starts
passing fails the test until it is removed from the list (a strict xfail), so CI stays
green while the per-suite table printed at the end of the session stays honest.
"""

from __future__ import annotations

import pytest

from tests.integration import tx_ecosystem
from tests.integration.tx_ecosystem import TX_DIR, Case, Outcome, load_cases, run_suite
from tests.integration.tx_known_failures import KNOWN_FAILURES

CASES = load_cases()
_absent = pytest.mark.skipif(not TX_DIR.is_dir(), reason=f"{TX_DIR} absent (../shared/ absent)")


async def _outcome(case: Case) -> Outcome:
    """The suite runs once (one gateway per suite), the first time one of its cases asks."""
    results = tx_ecosystem.RESULTS
    if case.suite not in results:
        outcomes = await run_suite([c for c in CASES if c.suite == case.suite])
        results[case.suite] = {o.case.name: o for o in outcomes}
    return results[case.suite][case.name]


@_absent
def test_suite_cases_were_found() -> None:
    assert len(CASES) >= 580
    assert {c.suite for c in CASES} == set(tx_ecosystem.SUITES)


def test_known_failures_name_real_cases() -> None:
    if not CASES:
        pytest.skip(f"{TX_DIR} absent (../shared/ absent)")
    assert set(KNOWN_FAILURES) <= {c.id for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_case(case: Case) -> None:
    outcome = await _outcome(case)
    reason = KNOWN_FAILURES.get(case.id)
    if reason is None:
        assert outcome.passed, "; ".join(outcome.differences)
    elif outcome.passed:
        pytest.fail(f"{case.id} passes now: remove it from tx_known_failures.KNOWN_FAILURES")
    else:
        pytest.xfail(f"{reason} ({'; '.join(outcome.differences)[:200]})")
