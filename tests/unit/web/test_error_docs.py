"""``json_errors``/``fhir_errors``: the guard's statuses always, the family's body and type."""

from __future__ import annotations

import pytest

from gateway.web.error_docs import fhir_errors, json_errors
from gateway.web.schemas import ErrorResponse, OperationOutcome


def test_the_guard_statuses_come_with_every_declaration() -> None:
    assert sorted(json_errors()) == [401, 403, 429]
    assert sorted(json_errors(400, 503)) == [400, 401, 403, 429, 503]
    assert sorted(fhir_errors(404, 401)) == [401, 403, 404, 429]


def test_each_family_has_its_body_and_media_type() -> None:
    for spec in json_errors(400).values():
        assert (spec.data_container, spec.media_type) == (ErrorResponse, "application/json")
    for spec in fhir_errors(400).values():
        assert (spec.data_container, spec.media_type) == (OperationOutcome, "application/fhir+json")


def test_a_status_without_a_description_is_refused() -> None:
    with pytest.raises(ValueError, match="418"):
        json_errors(418)
