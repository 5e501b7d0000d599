from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from gateway.errors import InvalidInput
from gateway.terminology.model import Coding
from gateway.web.fhir_params import OperationParams


def body(*parameters: dict[str, object]) -> bytes:
    return json.dumps({"resourceType": "Parameters", "parameter": list(parameters)}).encode()


def test_query_and_body_give_the_same_values() -> None:
    query = OperationParams.from_query({"url": ["u"], "count": ["5"], "activeOnly": ["true"]})
    posted = OperationParams.from_body(
        body(
            {"name": "url", "valueUri": "u"},
            {"name": "count", "valueInteger": 5},
            {"name": "activeOnly", "valueBoolean": True},
        )
    )
    for params in (query, posted):
        assert params.text("url") == "u"
        assert params.integer("count") == 5
        assert params.flag("activeOnly") is True


def test_codeable_concept_uses_its_first_coding() -> None:
    params = OperationParams.from_body(
        body(
            {
                "name": "codeableConcept",
                "valueCodeableConcept": {
                    "coding": [{"system": "s", "code": "c"}, {"system": "t", "code": "d"}]
                },
            }
        )
    )
    assert params.coding("codeableConcept") == Coding(system="s", code="c")


def test_system_and_code_from_coding_string() -> None:
    params = OperationParams.from_query({"coding": ["urn:oid:1.2.3|X1"]})
    assert params.system_and_code(("system",)) == ("urn:oid:1.2.3", "X1")


def test_explicit_code_wins_over_coding() -> None:
    params = OperationParams.from_query({"coding": ["s|A"], "code": ["B"]})
    assert params.system_and_code(("system",)) == ("s", "B")


def test_empty_query_values_count_as_absent() -> None:
    params = OperationParams.from_query({"filter": [""], "count": [""]})
    assert params.text("filter") is None
    assert params.integer("count", 7) == 7


@pytest.mark.parametrize(
    ("query", "call", "parameter"),
    [
        ({"count": ["x"]}, lambda p: p.integer("count"), "count"),
        ({"count": ["-1"]}, lambda p: p.integer("count"), "count"),
        ({"activeOnly": ["yes"]}, lambda p: p.flag("activeOnly"), "activeOnly"),
        ({"coding": ["nopipe"]}, lambda p: p.coding(), "coding"),
        ({}, lambda p: p.system_and_code(("system",)), "code"),
    ],
)
def test_bad_values_name_the_parameter(
    query: dict[str, list[str]], call: Callable[[OperationParams], object], parameter: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        call(OperationParams.from_query(query))
    assert caught.value.parameter == parameter


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'{"resourceType": "Bundle"}',
        b'{"resourceType": "Parameters", "parameter": [{}]}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_are_invalid_input(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        OperationParams.from_body(raw)


def test_a_non_string_where_a_string_is_expected_is_invalid() -> None:
    params = OperationParams.from_body(body({"name": "url", "valueBoolean": True}))
    with pytest.raises(InvalidInput, match="url"):
        params.text("url")
