"""Batches: ``ValueSet/$batch-validate-code`` (one value set, many ``validation``
Parameters) and a FHIR ``Bundle`` of type ``batch`` POSTed to ``/fhir`` (each entry one
``$validate-code`` or ``$expand``). Each item is answered on its own: an error in one is
that item's OperationOutcome, never the batch's failure.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.errors import GatewayError, InvalidInput
from gateway.terminology.service import TerminologyService
from gateway.web import fhir_expand, fhir_validate
from gateway.web.fhir_outcome import report_parameters
from gateway.web.fhir_params import OperationParams


def _error(exc: GatewayError) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": exc.fhir_issue_code, "details": {"text": exc.message}}
        ],
    }


async def batch_validate(
    terminology: TerminologyService, params: OperationParams, accept_language: str | None
) -> dict[str, Any]:
    out = []
    for raw in params.resources("validation"):
        try:
            inner = params.merged(OperationParams.from_body(raw))
            report = await fhir_validate.validate_vs(terminology, inner, accept_language)
            resource: dict[str, Any] = report_parameters(report)
        except GatewayError as exc:
            resource = _error(exc)
        out.append({"name": "validation", "resource": resource})
    return {"resourceType": "Parameters", "parameter": out}


_OPERATIONS = {
    "ValueSet/$validate-code": "validate-vs",
    "CodeSystem/$validate-code": "validate-cs",
    "ValueSet/$expand": "expand",
}


class _Entry(msgspec.Struct):
    request: dict[str, Any] = {}
    resource: msgspec.Raw = msgspec.Raw()


class _Bundle(msgspec.Struct, rename="camel"):
    resource_type: str
    type: str | None = None
    entry: list[_Entry] = []


async def _one(
    terminology: TerminologyService, entry: _Entry, accept_language: str | None
) -> tuple[str, Any]:
    url = str(entry.request.get("url", "")).lstrip("/").split("?")[0]
    kind = _OPERATIONS.get(url)
    if kind is None or str(entry.request.get("method", "POST")).upper() != "POST":
        raise InvalidInput(f"A batch entry may POST to {', '.join(_OPERATIONS)}, not {url!r}")
    params = OperationParams.from_body(bytes(entry.resource) if len(entry.resource) else b"{}")
    if kind == "expand":
        body, _ = await fhir_expand.expand(terminology, params, accept_language)
        return "200 OK", msgspec.Raw(body) if isinstance(body, bytes) else body
    validate = fhir_validate.validate_vs if kind == "validate-vs" else fhir_validate.validate_cs
    report = await validate(terminology, params, accept_language)
    return "200 OK", report_parameters(report)


async def bundle(
    terminology: TerminologyService, body: bytes, accept_language: str | None
) -> dict[str, Any]:
    try:
        parsed = msgspec.json.decode(body, type=_Bundle)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInput(f"Body is not a FHIR Bundle: {exc}", parameter="body") from None
    if parsed.resource_type != "Bundle" or parsed.type != "batch":
        raise InvalidInput("POST /fhir takes a Bundle of type 'batch'", parameter="type")
    entries = []
    for entry in parsed.entry:
        try:
            status, resource = await _one(terminology, entry, accept_language)
        except GatewayError as exc:
            status, resource = f"{exc.status_code}", _error(exc)
        entries.append({"resource": resource, "response": {"status": status}})
    return {"resourceType": "Bundle", "type": "batch-response", "entry": entries}
