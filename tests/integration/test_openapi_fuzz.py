"""Schemathesis fuzzing of every operation in the committed ``openapi/openapi.json``.

Each operation is one pytest item (``schema.parametrize()``), sent in-process over ASGI
(no network) to a fresh app: schemathesis ends the app's lifespan after every test item,
and our shutdown closes the upstream clients, so an app cannot serve two items.

The app is ``offline_settings()`` (bundled demo snapshot, every upstream disabled) except
the geocoder, which is an in-process stub that finds nothing: with the geocoder offline,
``GET /v1/geocode?q=<text naming no commune>`` answers the designed 503
``upstream_unavailable`` (see ``gateway.geo.service``). With the stub the same request is a
404, so any 5xx left is a defect.

Generation: schemathesis's examples, coverage and fuzzing phases, with valid and invalid
inputs. Fuzzing stops at ``MAX_EXAMPLES`` per operation; the coverage phase (boundary values
and unsupported-method probes) is not bounded by it. The seed is fixed and Hypothesis is
derandomized with no example database, so every run sends the same requests. Hypothesis
has no deadline.

Checks on every response, success and error alike:

* ``not_a_server_error``: no 5xx, ever.
* ``unsupported_method``: methods a path does not document answer 405.
* ``status_code_conformance``: every status answered is documented for the operation.
* ``content_type_conformance``: ``application/json``, or ``application/fhir+json`` for the
  FHIR answers and errors under ``/fhir``.
* ``response_schema_conformance``: the body matches the documented schema; for errors,
  ``{"error": {code, message, details}}``, or a FHIR ``OperationOutcome`` under ``/fhir``
  (each handler declares its errors with ``gateway.web.error_docs``).
* ``response_headers_conformance``: documented response headers (the document has none).

Not enabled, because they fail on this app without a server error:

* ``allow_header_conformance``: on paths with both a GET and a POST handler
  (``/fhir/ValueSet/$expand``…), Litestar's automatic OPTIONS answer lists
  ``Allow: GET, OPTIONS``. The 405 answers list every method.
* ``negative_data_rejection``: Litestar/msgspec coerce some invalid values, e.g.
  ``"sas_participant": 0`` in a ``/v1/rank`` candidate is read as ``false``.
* ``positive_data_acceptance``: a valid request often names an unknown code (404/400).

Coverage limit: the FHIR POST operations document no request body, so each is only
sent without one.
"""

from __future__ import annotations

import dataclasses

import httpx
import hypothesis
import pytest
import schemathesis
from litestar import Litestar
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from gateway.app import create_app
from gateway.component import Transports
from gateway.settings import Settings, UpstreamSettings
from tests.conftest import ROOT, offline_settings

OPENAPI_FILE = ROOT / "openapi" / "openapi.json"
SEED = 20_260_601
MAX_EXAMPLES = 25

schema = schemathesis.openapi.from_path(OPENAPI_FILE, config=SchemathesisConfig(seed=SEED))


def _geocoder_finds_nothing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"type": "FeatureCollection", "features": []})


def fuzz_settings() -> Settings:
    geocoder = UpstreamSettings(
        name="geocoder", url="https://geocoder.invalid/geocodage", rate_per_s=1e6
    )
    return dataclasses.replace(offline_settings(), geocoder=geocoder)


@pytest.fixture
def app() -> Litestar:
    """A fresh app for each operation; schemathesis ends its lifespan after the item."""
    transports = Transports(geocoder=httpx.MockTransport(_geocoder_finds_nothing))
    return create_app(fuzz_settings(), transports=transports)


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    unsupported_method,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        # Intended: one app per operation, shared by its examples.
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
        hypothesis.HealthCheck.data_too_large,
        hypothesis.HealthCheck.large_base_example,
    ],
)
def test_operation_never_fails_and_conforms(case: schemathesis.Case, app: Litestar) -> None:
    case.call_and_validate(app=app, checks=CHECKS)
