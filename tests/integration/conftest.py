"""Integration-test hooks: the tx-ecosystem pass-count table at the end of the session."""

from __future__ import annotations

from _pytest.terminal import TerminalReporter

from tests.integration import tx_ecosystem


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    outcomes = [o for suite in tx_ecosystem.RESULTS.values() for o in suite.values()]
    if outcomes:
        terminalreporter.section("HL7 tx-ecosystem conformance (cases passed per suite)")
        terminalreporter.write_line(tx_ecosystem.table(outcomes))
