"""The committed OpenAPI document matches the app; regenerate with `gateway openapi --out`."""

from __future__ import annotations

import json

from gateway.app import create_app
from tests.conftest import ROOT, offline_settings

OPENAPI_FILE = ROOT / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    generated = create_app(offline_settings()).openapi_schema.to_schema()
    committed = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(generated)), (
        "openapi/openapi.json is out of date: run "
        "`.venv/bin/gateway openapi --out openapi/openapi.json` and commit it"
    )


def test_openapi_documents_every_contract_route() -> None:
    paths = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))["paths"]
    for path in (
        "/fhir/metadata",
        "/fhir/CodeSystem/$lookup",
        "/fhir/CodeSystem/$validate-code",
        "/fhir/ValueSet/$expand",
        "/fhir/ValueSet/$validate-code",
        "/fhir/ConceptMap/$translate",
        "/fhir/CodeSystem",
        "/fhir/ValueSet",
        "/v1/terminology/resolve",
        "/v1/terminology/search",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/admin/cache/stats",
        "/admin/cache/purge",
    ):
        assert path in paths, path
    assert {"get", "post"} <= set(paths["/fhir/ValueSet/$expand"])


#: Operations that may call an upstream (SMT, directory, geocoder, ROR): they answer 503.
UPSTREAM_BACKED = (
    "/fhir/CodeSystem/$",
    "/fhir/ValueSet/$",
    "/fhir/ConceptMap/$",
    "/v1/terminology/",
    "/v1/practitioners",
    "/v1/geocode",
    "/v1/cpts",
    "/v1/search",
    "/v1/contextual-search/",
)


def test_every_operation_documents_its_error_answers() -> None:
    document = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post"}
    ]
    assert len(operations) >= 30
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        fhir = path.startswith("/fhir")
        media, schema = (
            ("application/fhir+json", "OperationOutcome")
            if fhir
            else ("application/json", "ErrorResponse")
        )
        errors = {status: r for status, r in responses.items() if status.startswith(("4", "5"))}
        expected = {"401", "403", "429"}  # the API key guard, on any route
        # FHIR POSTs read their Parameters body themselves: it is not in the document.
        if op.get("parameters") or op.get("requestBody") or (fhir and method == "post"):
            expected.add("400")
        if path.startswith(UPSTREAM_BACKED):
            expected.add("503")
        assert expected <= set(errors), (where, sorted(errors))
        for status, answer in errors.items():
            if path == "/health/ready" and status == "503":
                continue  # not an error body: the readiness report itself
            assert list(answer["content"]) == [media], (where, status)
            ref = answer["content"][media]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{schema}", (where, status)
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message", "details"}
