"""CodeSystem supplements: designations and properties another CodeSystem adds to a code
system's concepts (``content`` "supplement", ``supplements`` naming the base).

A request applies them with ``useSupplement`` and a value set with its ``valueset-supplement``
extensions; each must be found (else the request fails: "Required supplement not found").
Loaded supplements are not applied unasked: a translation a client did not ask for must not
change what a display validates against. The supplemented code system is an ordinary
``IndexedCodeSystem`` (memoised on the base, keyed by the supplements' serials), so every
operation reads it as it reads the base.
"""

from __future__ import annotations

import msgspec

from gateway.terminology.indexed import IndexedCodeSystem
from gateway.terminology.model import Concept, ValueSet

_VS_SUPPLEMENT = "http://hl7.org/fhir/StructureDefinition/valueset-supplement"


def is_supplement(cs: IndexedCodeSystem) -> bool:
    return cs.resource.content == "supplement" or cs.resource.supplements is not None


def valueset_supplements(vs: ValueSet) -> list[str]:
    """The canonical references of the supplements a value set asks for."""
    return [
        str(ext.get("valueCanonical") or ext.get("valueUri"))
        for ext in vs.extension
        if ext.get("url") == _VS_SUPPLEMENT and (ext.get("valueCanonical") or ext.get("valueUri"))
    ]


def supplemented(
    base: IndexedCodeSystem, supplements: list[IndexedCodeSystem]
) -> IndexedCodeSystem:
    """``base`` with the designations and properties of ``supplements`` added."""
    key = ("supplemented", tuple(s.serial for s in supplements))
    cached = base.memo.get(key)
    if isinstance(cached, IndexedCodeSystem):
        return cached
    extra: dict[str, list[Concept]] = {}
    for supplement in supplements:
        _collect(supplement.resource.concept, extra)

    def merged(concepts: list[Concept]) -> list[Concept]:
        out = []
        for concept in concepts:
            adds = extra.get(concept.code, [])
            out.append(
                msgspec.structs.replace(
                    concept,
                    designation=[*concept.designation, *(d for a in adds for d in a.designation)],
                    property=[*concept.property, *(p for a in adds for p in a.property)],
                    concept=merged(concept.concept),
                )
            )
        return out

    resource = msgspec.structs.replace(base.resource, concept=merged(base.resource.concept))
    result = IndexedCodeSystem.build(resource, base.raw, base.source)
    base.memo[key] = result
    return result


def _collect(concepts: list[Concept], into: dict[str, list[Concept]]) -> None:
    for concept in concepts:
        into.setdefault(concept.code, []).append(concept)
        _collect(concept.concept, into)


def applies_to(supplement: IndexedCodeSystem, base: IndexedCodeSystem) -> bool:
    target = (supplement.resource.supplements or "").partition("|")
    return target[0] == base.url and (not target[2] or target[2] == base.version)
