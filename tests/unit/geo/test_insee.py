"""INSEE commune codes: one shape, checked in one place."""

from __future__ import annotations

import re

import pytest

from gateway.errors import InvalidInput
from gateway.geo.insee import INSEE_CODE, INSEE_REGEX, parse_insee


@pytest.mark.parametrize(("text", "code"), [("92036", "92036"), (" 2a004 ", "2A004")])
def test_parse_insee_accepts(text: str, code: str) -> None:
    assert parse_insee(text) == code


@pytest.mark.parametrize("text", ["9203", "920366", "ABCDE", "2C004", ""])
def test_parse_insee_rejects_and_names_the_parameter(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_insee(text, parameter="inseecode")
    assert raised.value.parameter == "inseecode"


@pytest.mark.parametrize("code", ["75108", "2B033", "97411", "7510", "2C004", "750080"])
def test_the_schema_pattern_is_the_same_rule(code: str) -> None:
    assert bool(re.match(INSEE_REGEX, code)) is bool(INSEE_CODE.match(code))
