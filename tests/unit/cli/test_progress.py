"""Progress of long commands: a bar on a terminal, throttled JSON log lines otherwise."""

from __future__ import annotations

import io
import json

import pytest

from gateway.cli import progress as progress_module
from gateway.cli.progress import ItemProgress, SyncProgress


def _lines(log_output: io.StringIO, event: str) -> list[dict[str, object]]:
    found = [json.loads(line) for line in log_output.getvalue().splitlines()]
    return [line for line in found if line.get("event") == event]


def test_items_without_a_terminal_log_at_most_once_per_period(
    log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ItemProgress("NOS", 5, terminal=False) as progress:
        for _ in range(5):
            progress.advance()
    assert progress.done == 5
    assert _lines(log_output, "sync progress") == []  # within the first period: quiet
    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 0.0)
    with ItemProgress("NOS", 3, terminal=False) as progress:
        for _ in range(3):
            progress.advance()
    logged = _lines(log_output, "sync progress")
    assert [(line["done"], line["of"]) for line in logged] == [(1, 3), (2, 3), (3, 3)]


def test_items_on_a_terminal_fill_a_bar_of_the_known_total(log_output: io.StringIO) -> None:
    with ItemProgress("NOS", 4, terminal=True) as progress:
        for _ in range(4):
            progress.advance()
        assert progress._bar is not None
        (task,) = progress._bar.tasks
        assert (task.completed, task.total, task.description) == (4, 4, "NOS")
    assert _lines(log_output, "sync progress") == []


def test_pages_without_a_terminal_log_their_phase_and_counts(log_output: io.StringIO) -> None:
    with SyncProgress(10, terminal=False) as progress:
        progress.phase("roles")
        progress.page(200)
        progress.page(150)
    (phase,) = _lines(log_output, "sync phase")
    assert phase["phase"] == "roles"
    (first,) = _lines(log_output, "sync progress")  # the second page is within the period
    assert (first["pages"], first["roles"], first["expected_pages"]) == (1, 200, 10)
    assert (progress.pages, progress.roles) == (2, 350)


def test_logging_configured_by_a_command_is_undone_after_its_test() -> None:
    from gateway.observability import logging as gateway_logging
    from gateway.observability.logging import configure_logging
    from tests.conftest import logging_restored

    before = gateway_logging._stream
    closed_after = io.StringIO()
    with logging_restored():
        configure_logging("INFO", closed_after)
        assert gateway_logging._stream is closed_after
    closed_after.close()
    assert gateway_logging._stream is before  # the access log no longer writes there
