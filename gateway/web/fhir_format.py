"""Engine results → FHIR R4 JSON (Parameters, ValueSet expansion, Bundle, metadata)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from gateway import __version__
from gateway.terminology.engine import ExpandPage
from gateway.terminology.indexed import FlatConcept, Indexed, IndexedCodeSystem, IndexedValueSet
from gateway.terminology.model import Designation
from gateway.terminology.smt import Listed
from gateway.terminology.translate import TranslationMatch
from gateway.terminology.validation import Validation


def _designation(d: Designation) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if d.language:
        parts.append({"name": "language", "valueCode": d.language})
    if d.use is not None:
        parts.append({"name": "use", "valueCoding": msgspec.to_builtins(d.use)})
    parts.append({"name": "value", "valueString": d.value})
    return {"name": "designation", "part": parts}


def lookup_parameters(
    cs: IndexedCodeSystem, concept: FlatConcept, wanted: list[str]
) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "name", "valueString": cs.resource.name or cs.resource.title or cs.identity},
        {"name": "system", "valueUri": cs.url},
    ]
    if cs.version:
        params.append({"name": "version", "valueString": cs.version})
    params.append({"name": "display", "valueString": concept.display})
    params.append({"name": "abstract", "valueBoolean": concept.abstract})
    if concept.definition:
        params.append({"name": "definition", "valueString": concept.definition})
    params.extend(_designation(d) for d in concept.designations)

    def want(code: str) -> bool:
        return not wanted or code in wanted or "*" in wanted

    properties: list[tuple[str, str, Any]] = [("inactive", "valueBoolean", concept.inactive)]
    if not any(p.code == "status" for p in concept.properties):
        properties.append(("status", "valueCode", concept.status))
    if concept.parent:
        properties.append(("parent", "valueCode", concept.parent))
    for prop in concept.properties:
        name, value = prop.value()
        properties.append((prop.code, name, msgspec.to_builtins(value)))
    for code, value_name, value in properties:
        if want(code):
            params.append(
                {
                    "name": "property",
                    "part": [
                        {"name": "code", "valueCode": code},
                        {"name": "value", value_name: value},
                    ],
                }
            )
    return {"resourceType": "Parameters", "parameter": params}


def validation_parameters(result: Validation) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "result", "valueBoolean": result.result}]
    if result.message:
        params.append({"name": "message", "valueString": result.message})
    if result.display:
        params.append({"name": "display", "valueString": result.display})
    params.append({"name": "code", "valueCode": result.code})
    if result.system:
        params.append({"name": "system", "valueUri": result.system})
    if result.version:
        params.append({"name": "version", "valueString": result.version})
    if result.inactive:
        params.append({"name": "inactive", "valueBoolean": True})
    return {"resourceType": "Parameters", "parameter": params}


def expansion_valueset(
    vs: IndexedValueSet, page: ExpandPage, used: dict[str, Any], designations: bool
) -> dict[str, Any]:
    contains = []
    for item in page.items:
        entry: dict[str, Any] = {"system": item.system, "code": item.code, "display": item.display}
        if item.version:
            entry["version"] = item.version
        if item.inactive:
            entry["inactive"] = True
        if designations and item.designations:
            entry["designation"] = [msgspec.to_builtins(d) for d in item.designations]
        contains.append(entry)
    parameters = []
    for name, value in used.items():
        if value is None:
            continue
        key = {bool: "valueBoolean", int: "valueInteger"}.get(type(value), "valueString")
        parameters.append({"name": name, key: value})
    resource: dict[str, Any] = {"resourceType": "ValueSet", "url": vs.url}
    for field in ("id", "version", "name", "title", "status"):
        value = getattr(vs.resource, field)
        if value:
            resource[field] = value
    resource["expansion"] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "total": page.total,
        "offset": page.offset,
        "parameter": parameters,
        "contains": contains,
    }
    return resource


def translate_parameters(matches: list[TranslationMatch]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "result", "valueBoolean": bool(matches)}]
    if not matches:
        params.append({"name": "message", "valueString": "No mapping found"})
    for match in matches:
        concept = {
            k: v
            for k, v in (("system", match.system), ("code", match.code), ("display", match.display))
            if v
        }
        origin = f"{match.source}|{match.map_version}" if match.map_version else match.source
        parts: list[dict[str, Any]] = [
            {"name": "equivalence", "valueCode": match.r4_equivalence},
            {"name": "relationship", "valueCode": match.relationship},
            {"name": "concept", "valueCoding": concept},
            {"name": "originMap", "valueCanonical": origin},
        ]
        if match.source_code is not None:
            source = {"system": match.source_system, "code": match.source_code}
            parts.append({"name": "source", "valueCoding": {k: v for k, v in source.items() if v}})
        params.append({"name": "match", "part": parts})
    return {"resourceType": "Parameters", "parameter": params}


def search_bundle(kind: str, items: list[Indexed], base: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(items),
        "entry": [
            {
                "fullUrl": f"{base}/{kind}/{item.resource.id or item.identity}",
                "resource": msgspec.Raw(item.raw),
                "search": {"mode": "match"},
            }
            for item in items
        ],
    }


_OPERATIONS = {
    "CodeSystem": ["lookup", "validate-code"],
    "ValueSet": ["expand", "validate-code"],
    "ConceptMap": ["translate"],
}


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "SAS terminology & directory gateway", "version": __version__},
        "implementation": {"description": "SAS gateway FHIR terminology facade", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": kind,
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [
                            {"name": "url", "type": "uri"},
                            {"name": "version", "type": "token"},
                        ],
                        "operation": [
                            {
                                "name": op,
                                "definition": f"http://hl7.org/fhir/OperationDefinition/{kind}-{op}",
                            }
                            for op in ops
                        ],
                    }
                    for kind, ops in _OPERATIONS.items()
                ],
            }
        ],
    }


def terminology_capabilities(listed: list[Listed]) -> dict[str, Any]:
    by_url: dict[str, list[str]] = {}
    for item in listed:
        versions = by_url.setdefault(item.url, [])
        if item.version:
            versions.append(item.version)
    return {
        "resourceType": "TerminologyCapabilities",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "codeSystem": [
            {"uri": url, "version": [{"code": v} for v in sorted(set(versions))]}
            for url, versions in sorted(by_url.items())
        ],
        "expansion": {
            "hierarchical": False,
            "paging": True,
            "textFilter": "word-prefix, accent- and case-insensitive",
        },
    }
