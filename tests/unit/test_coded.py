"""``CodeDisplay``: a code is shown with its label, else as itself (never blank)."""

from __future__ import annotations

import msgspec
import pytest

from gateway.coded import CodeDisplay, label_or_code


@pytest.mark.parametrize(
    ("display", "expected"), [("Médecin", "Médecin"), (None, "10"), ("", "10")]
)
def test_label_or_code(display: str | None, expected: str) -> None:
    assert label_or_code(display, "10") == expected
    assert CodeDisplay.of("10", display) == CodeDisplay("10", expected)


def test_wire_shape_is_code_and_display() -> None:
    assert msgspec.json.decode(msgspec.json.encode(CodeDisplay.of("SM54"))) == {
        "code": "SM54",
        "display": "SM54",
    }
