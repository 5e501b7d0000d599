"""Validate what the gateway emits with ``fhir.resources`` (R4B models: R4-compatible)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.terminologycapabilities import TerminologyCapabilities
from fhir.resources.R4B.valueset import ValueSet

_MODELS: dict[str, Any] = {
    "Bundle": Bundle,
    "CapabilityStatement": CapabilityStatement,
    "OperationOutcome": OperationOutcome,
    "Parameters": Parameters,
    "TerminologyCapabilities": TerminologyCapabilities,
    "ValueSet": ValueSet,
}


def assert_valid_fhir(body: dict[str, Any], resource_type: str) -> None:
    assert body["resourceType"] == resource_type
    _MODELS[resource_type].model_validate(body)


def param(body: dict[str, Any], name: str) -> Any:
    """The value[x] of the first parameter called ``name`` (None if absent)."""
    for p in body["parameter"]:
        if p["name"] == name:
            return next((v for k, v in p.items() if k.startswith("value")), p.get("part"))
    return None
