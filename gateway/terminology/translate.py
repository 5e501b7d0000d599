"""``$translate`` over loaded ConceptMaps (FHIR R4 ``equivalence`` and R5 ``relationship``)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.indexed import IndexedConceptMap

_NO_MATCH = frozenset({"unmatched", "disjoint", "not-related-to"})
#: R5 ``relationship`` → R4 ``equivalence`` (maps may state either; answers give both).
R4_EQUIVALENCE = {
    "equivalent": "equivalent",
    "source-is-narrower-than-target": "wider",
    "source-is-broader-than-target": "narrower",
    "related-to": "relatedto",
    "not-related-to": "disjoint",
}
R5_RELATIONSHIP = {v: k for k, v in R4_EQUIVALENCE.items()} | {
    "equal": "equivalent",
    "subsumes": "source-is-narrower-than-target",
    "specializes": "source-is-broader-than-target",
    "inexact": "related-to",
    "unmatched": "not-related-to",
}


@dataclass(frozen=True, slots=True)
class TranslationMatch:
    equivalence: str
    system: str | None
    code: str
    display: str | None
    source: str
    map_version: str | None = None
    #: reverse translation: the source concept the map leads from
    source_code: str | None = None
    source_system: str | None = None

    @property
    def relationship(self) -> str:
        return R5_RELATIONSHIP.get(self.equivalence, self.equivalence)

    @property
    def r4_equivalence(self) -> str:
        return R4_EQUIVALENCE.get(self.equivalence, self.equivalence)


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
                            relation,
                            group.target,
                            target.code,
                            target.display,
                            cmap.url,
                            cmap.version,
                        )
                    )
    return matches


def translate_reverse(
    maps: list[IndexedConceptMap],
    aliases: CanonicalIndex,
    *,
    target_system: str,
    target_code: str,
    source_system: str | None = None,
) -> list[TranslationMatch]:
    """The source concepts that map to ``target_system#target_code``."""
    target_id = aliases.resolve(target_system)
    source_id = aliases.resolve(source_system) if source_system else None
    matches: list[TranslationMatch] = []
    for cmap in maps:
        for group in cmap.resource.group:
            if group.target and aliases.resolve(group.target) != target_id:
                continue
            if source_id and group.source and aliases.resolve(group.source) != source_id:
                continue
            for element in group.element:
                for target in element.target:
                    relation = target.equivalence or target.relationship or "equivalent"
                    if target.code != target_code or relation in _NO_MATCH or not element.code:
                        continue
                    matches.append(
                        TranslationMatch(
                            relation,
                            group.target,
                            target_code,
                            target.display,
                            cmap.url,
                            cmap.version,
                            element.code,
                            group.source,
                        )
                    )
    return matches
