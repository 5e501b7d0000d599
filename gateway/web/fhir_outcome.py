"""``$validate-code`` reports → FHIR ``Parameters`` with the issues as an OperationOutcome
(the shape the HL7 terminology tests and the FHIR validator read)."""

from __future__ import annotations

from typing import Any

from gateway.terminology.issues import TX_ISSUE_TYPE, Issue
from gateway.terminology.validate_code import Report


def outcome(issues: list[Issue]) -> dict[str, Any]:
    out = []
    for issue in issues:
        entry: dict[str, Any] = {"severity": issue.severity, "code": issue.code}
        details: dict[str, Any] = {"text": issue.text}
        if issue.tx_type:
            details["coding"] = [{"system": TX_ISSUE_TYPE, "code": issue.tx_type}]
        entry["details"] = details
        if issue.expression:
            entry["location"] = [issue.expression]
            entry["expression"] = [issue.expression]
        out.append(entry)
    return {"resourceType": "OperationOutcome", "issue": out}


def report_parameters(
    report: Report, codeable_concept: dict[str, Any] | None = None
) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "result", "valueBoolean": report.result}]
    if report.code:
        params.append({"name": "code", "valueCode": report.code})
    if report.system:
        params.append({"name": "system", "valueUri": report.system})
    if report.version:
        params.append({"name": "version", "valueString": report.version})
    if report.display:
        params.append({"name": "display", "valueString": report.display})
    if report.inactive:
        params.append({"name": "inactive", "valueBoolean": True})
    if codeable_concept is not None:
        params.append({"name": "codeableConcept", "valueCodeableConcept": codeable_concept})
    if report.message:
        params.append({"name": "message", "valueString": report.message})
    if report.issues:
        params.append({"name": "issues", "resource": outcome(report.issues)})
    for system in report.unknown_systems:
        params.append({"name": "x-unknown-system", "valueCanonical": system})
    for system in report.caused_by:
        params.append({"name": "x-caused-by-unknown-system", "valueCanonical": system})
    return {"resourceType": "Parameters", "parameter": params}
