from __future__ import annotations

import pytest

from gateway.directory.identifiers import (
    IDNPS_OFFSET,
    IDNPS_SYSTEM,
    idnps_in_token,
    idnps_of,
    idnps_token,
    luhn_valid,
    parse_practitioner_id,
    rpps_in_idnps,
)
from gateway.errors import InvalidInput


@pytest.mark.parametrize(
    "text",
    [
        "810003461033",
        f"{IDNPS_SYSTEM}|810003461033",
        "10003461033",
        "https://rpps.esante.gouv.fr|10003461033",
        " 810003461033 ",
    ],
)
def test_every_accepted_form_gives_the_same_identity(text: str) -> None:
    parsed = parse_practitioner_id(text)
    assert parsed.rpps == "10003461033"
    assert parsed.idnps == "810003461033"
    assert parsed.token == f"{IDNPS_SYSTEM}|810003461033"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("8100034610", "11-digit RPPS"),
        ("910003461033", "11-digit RPPS"),
        ("urn:oid:1.2.3|810003461033", "not the IDNPS system"),
        (f"{IDNPS_SYSTEM}|10003461033", "'8' followed by"),
        ("Dr Martin", "Expected an IDNPS"),
        ("", "Expected an IDNPS"),
    ],
)
def test_malformed_identifiers_are_400_with_a_precise_message(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_practitioner_id(text, parameter="practitioner")
    assert fragment in caught.value.message
    assert caught.value.parameter == "practitioner"


def test_luhn_check_is_only_a_warning() -> None:
    good = "10000000009"
    assert luhn_valid(good)
    assert parse_practitioner_id(good).warnings == []
    bad = parse_practitioner_id("10000000008")
    assert not bad.luhn_ok
    assert "Luhn" in bad.warnings[0]


@pytest.mark.parametrize(
    ("number", "valid"),
    [("79927398713", True), ("79927398710", False), ("10000000009", True), ("10000000008", False)],
)
def test_luhn_known_values(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_idnps_is_8_and_the_rpps_in_every_form() -> None:
    assert idnps_of("10003461033") == "810003461033"
    assert rpps_in_idnps("810003461033") == "10003461033"
    assert IDNPS_OFFSET + int("10003461033") == int("810003461033")
    assert idnps_token("810003461033") == f"{IDNPS_SYSTEM}|810003461033"
    assert idnps_in_token(f"{IDNPS_SYSTEM}|810003461033") == "810003461033"


@pytest.mark.parametrize(
    "value", ["010003461033", "81000346103", "8100034610330", "81000346103a", "810003461033\n"]
)
def test_anything_else_is_no_rpps_holders_idnps(value: str) -> None:
    assert rpps_in_idnps(value) is None
    assert idnps_in_token(f"{IDNPS_SYSTEM}|{value}") is None


def test_a_token_needs_the_idnps_system() -> None:
    assert idnps_in_token("urn:oid:1.2.3|810003461033") is None
    assert idnps_in_token("810003461033") is None
