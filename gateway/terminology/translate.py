"""``$translate`` over loaded ConceptMaps (FHIR R4 ``equivalence`` and R5 ``relationship``)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.indexed import IndexedConceptMap

_NO_MATCH = frozenset({"unmatched", "disjoint", "not-related-to"})


@dataclass(frozen=True, slots=True)
class TranslationMatch:
    equivalence: str
    system: str | None
    code: str
    display: str | None
    source: str


def translate(
    maps: list[IndexedConceptMap],
    aliases: CanonicalIndex,
    *,
    system: str,
    code: str,
    target_system: str | None = None,
) -> list[TranslationMatch]:
    source_id = aliases.resolve(system)
    target_id = aliases.resolve(target_system) if target_system else None
    matches: list[TranslationMatch] = []
    for cmap in maps:
        for group in cmap.resource.group:
            if group.source and aliases.resolve(group.source) != source_id:
                continue
            if target_id and group.target and aliases.resolve(group.target) != target_id:
                continue
            for element in group.element:
                if element.code != code:
                    continue
                for target in element.target:
                    relation = target.equivalence or target.relationship or "equivalent"
                    if target.code is None or relation in _NO_MATCH:
                        continue
                    matches.append(
                        TranslationMatch(
                            relation, group.target, target.code, target.display, cmap.url
                        )
                    )
    return matches
