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
