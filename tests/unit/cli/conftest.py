from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import logging_restored


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands configure logging on their stderr (pytest's capture, closed after the test)."""
    with logging_restored():
        yield
