"""msgspec models of the FHIR R4 terminology resources the gateway reads.

Only the fields the engine uses are declared; unknown fields are ignored on decode, and the
original JSON is kept (``raw``) so ``/fhir/CodeSystem?url=`` returns the resource verbatim.
"""

from __future__ import annotations

from typing import Any

import msgspec

# Coding and Identifier are shared FHIR datatypes now; re-exported ("as") because
# gateway.web.fhir_params and the tests still import them from here.
from gateway.fhir import Coding as Coding
from gateway.fhir import Identifier as Identifier
from gateway.fhir import bundle_entries, resource_type


class Designation(msgspec.Struct, omit_defaults=True):
    value: str
    language: str | None = None
    use: Coding | None = None
    #: e.g. a standards status: a designation no longer correct (withdrawn, deprecated)
    extension: list[dict[str, Any]] = []


class ConceptProperty(msgspec.Struct, omit_defaults=True, rename="camel"):
    code: str
    value_code: str | None = None
    value_coding: Coding | None = None
    value_string: str | None = None
    value_integer: int | None = None
    value_boolean: bool | None = None
    value_date_time: str | None = None
    value_decimal: float | None = None

    def value(self) -> tuple[str, Any]:
        """The ``(valueX name, value)`` pair that is set."""
        for fhir_name, attr in _VALUE_FIELDS:
            got = getattr(self, attr)
            if got is not None:
                return fhir_name, got
        return "valueString", ""


_VALUE_FIELDS = (
    ("valueCode", "value_code"),
    ("valueCoding", "value_coding"),
    ("valueString", "value_string"),
    ("valueInteger", "value_integer"),
    ("valueBoolean", "value_boolean"),
    ("valueDateTime", "value_date_time"),
    ("valueDecimal", "value_decimal"),
)


class Concept(msgspec.Struct, omit_defaults=True):
    code: str
    display: str | None = None
    definition: str | None = None
    designation: list[Designation] = []
    property: list[ConceptProperty] = []
    concept: list[Concept] = []
    #: e.g. a standards status of deprecated (R5 style, instead of a status property)
    extension: list[dict[str, Any]] = []


class PropertyDef(msgspec.Struct, omit_defaults=True):
    code: str
    type: str | None = None
    uri: str | None = None
    description: str | None = None


class CanonicalResource(msgspec.Struct, omit_defaults=True, rename="camel"):
    """Metadata shared by every canonical resource."""

    url: str
    resource_type: str = ""
    id: str | None = None
    version: str | None = None
    name: str | None = None
    title: str | None = None
    status: str | None = None
    date: str | None = None
    language: str | None = None
    experimental: bool | None = None
    #: e.g. ``structuredefinition-standards-status`` (withdrawn, deprecated),
    #: ``valueset-supplement``
    extension: list[dict[str, Any]] = []


class CodeSystem(CanonicalResource):
    resource_type: str = "CodeSystem"
    case_sensitive: bool | None = None
    content: str | None = None
    #: a supplement (``content`` "supplement") names the code system it adds to
    supplements: str | None = None
    identifier: list[Identifier] = []
    property: list[PropertyDef] = []
    concept: list[Concept] = []


class ValueSetFilter(msgspec.Struct, omit_defaults=True):
    property: str
    op: str
    #: required by FHIR; a value set without one still loads, and is refused when used
    value: str | None = None


class ComposeConcept(msgspec.Struct, omit_defaults=True):
    code: str
    display: str | None = None
    designation: list[Designation] = []
    #: e.g. ``valueset-deprecated``: the value set marks its use of the code as deprecated
    extension: list[dict[str, Any]] = []


class ComposeInclude(msgspec.Struct, omit_defaults=True, rename="camel"):
    system: str | None = None
    version: str | None = None
    concept: list[ComposeConcept] = []
    filter: list[ValueSetFilter] = []
    value_set: list[str] = []


class Compose(msgspec.Struct, omit_defaults=True, rename="camel"):
    #: ``valueset-expansion-parameter`` extensions (e.g. a default ``displayLanguage``).
    extension: list[dict[str, Any]] = []
    include: list[ComposeInclude] = []
    exclude: list[ComposeInclude] = []
    inactive: bool | None = None


class ExpansionContains(msgspec.Struct, omit_defaults=True):
    system: str | None = None
    version: str | None = None
    code: str | None = None
    display: str | None = None
    inactive: bool | None = None
    designation: list[Designation] = []
    contains: list[ExpansionContains] = []


class Expansion(msgspec.Struct, omit_defaults=True):
    contains: list[ExpansionContains] = []
    total: int | None = None


class ValueSet(CanonicalResource):
    resource_type: str = "ValueSet"
    identifier: list[Identifier] = []
    compose: Compose | None = None
    expansion: Expansion | None = None


class MapTarget(msgspec.Struct, omit_defaults=True):
    code: str | None = None
    display: str | None = None
    equivalence: str | None = None
    relationship: str | None = None
    comment: str | None = None


class MapElement(msgspec.Struct, omit_defaults=True):
    code: str | None = None
    display: str | None = None
    target: list[MapTarget] = []


class MapGroup(msgspec.Struct, omit_defaults=True, rename="camel"):
    source: str | None = None
    source_version: str | None = None
    target: str | None = None
    target_version: str | None = None
    element: list[MapElement] = []


class ConceptMap(CanonicalResource):
    resource_type: str = "ConceptMap"
    identifier: list[Identifier] | Identifier | None = None
    source_uri: str | None = None
    source_canonical: str | None = None
    target_uri: str | None = None
    target_canonical: str | None = None
    group: list[MapGroup] = []

    def identifiers(self) -> list[Identifier]:
        if self.identifier is None:
            return []
        return self.identifier if isinstance(self.identifier, list) else [self.identifier]


TerminologyResource = CodeSystem | ValueSet | ConceptMap

_TYPES: dict[str, type[CodeSystem] | type[ValueSet] | type[ConceptMap]] = {
    "CodeSystem": CodeSystem,
    "ValueSet": ValueSet,
    "ConceptMap": ConceptMap,
}


def decode_resources(data: bytes) -> list[tuple[TerminologyResource, bytes]]:
    """Decode one JSON document (a resource or a Bundle) into terminology resources.

    Returns ``(resource, raw_json)`` pairs; other resource types are skipped.
    Raises ``msgspec.DecodeError``/``ValidationError`` on malformed JSON.
    """
    kind = resource_type(data)
    if kind == "Bundle":
        out: list[tuple[TerminologyResource, bytes]] = []
        for entry in bundle_entries(data)[0]:
            out.extend(decode_resources(entry))
        return out
    model = _TYPES.get(kind)
    if model is None:
        return []
    return [(msgspec.json.decode(data, type=model), data)]
