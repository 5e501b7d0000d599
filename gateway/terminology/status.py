"""``status-check``: information issues about the status of the resources a
``$validate-code`` used (a value set, those it imports, the code systems it reads).

A draft, experimental, withdrawn or deprecated resource still validates, but a validator
wants to tell its user (the HL7 tests expect "Reference to draft CodeSystem url|version").
Withdrawn and deprecated come from the ``structuredefinition-standards-status`` extension.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.terminology import issues as tx
from gateway.terminology.issues import Issue
from gateway.terminology.model import CanonicalResource

_STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
_REPORTED = ("withdrawn", "deprecated")
_VS_DEPRECATED = "http://hl7.org/fhir/StructureDefinition/valueset-deprecated"


def deprecated_in_valueset(extensions: list[dict[str, Any]]) -> bool:
    """Whether a compose concept's extensions say the value set deprecates its use of the
    code (``valueset-deprecated``, or a standards status of deprecated/withdrawn)."""
    for ext in extensions:
        if ext.get("url") == _STANDARDS_STATUS and ext.get("valueCode") in _REPORTED:
            return True
        value = ext.get("valueBoolean", ext.get("valueCode"))
        if ext.get("url") == _VS_DEPRECATED and str(value).lower() == "true":
            return True
    return False


def standards_status(extensions: list[dict[str, Any]]) -> str | None:
    """A withdrawn/deprecated ``structuredefinition-standards-status`` among ``extensions``."""
    for ext in extensions:
        if ext.get("url") == _STANDARDS_STATUS and ext.get("valueCode") in _REPORTED:
            return str(ext["valueCode"])
    return None


def status_of(resource: CanonicalResource) -> str | None:
    """The status worth reporting, if any."""
    status = standards_status(resource.extension)
    if status is not None:
        return status
    if resource.status == "draft":
        return "draft"
    if resource.experimental:
        return "experimental"
    return None


def status_issues(resources: Iterable[CanonicalResource]) -> list[Issue]:
    out: list[Issue] = []
    seen: set[tuple[str, str | None]] = set()
    for resource in resources:
        status = status_of(resource)
        if status is None or (resource.url, resource.version) in seen:
            continue
        seen.add((resource.url, resource.version))
        shown = f"{resource.url}|{resource.version}" if resource.version else resource.url
        out.append(
            tx.information(
                "business-rule",
                "status-check",
                f"Reference to {status} {resource.resource_type} {shown}",
            )
        )
    return out
