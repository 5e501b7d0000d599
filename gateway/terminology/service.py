"""Terminology service: the operations ($lookup, $validate-code, $expand, $translate,
search, labels) over resources the ``ResourceResolver`` finds (cache → SMT → snapshot).

Every operation answers ``Resolved[T]``: the value, and the cache state of the stalest
resource it used (the web layer turns that into ``X-Cache``/``Warning`` headers).
Knows nothing about HTTP frameworks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from gateway.cache import CacheState, Resolved, worst
from gateway.coded import CodeDisplay
from gateway.errors import InvalidInput, NotFound, UpstreamError
from gateway.terminology import engine, validation
from gateway.terminology.engine import ExpandPage, ExpansionItem
from gateway.terminology.indexed import (
    FlatConcept,
    Indexed,
    IndexedCodeSystem,
    IndexedConceptMap,
    IndexedValueSet,
    Memo,
    new_memo,
)
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.search import SearchMatch, rank
from gateway.terminology.smt import Listed
from gateway.terminology.translate import TranslationMatch, translate, translate_reverse
from gateway.terminology.validation import Validation
from gateway.text import normalise


def parse_coding(coding: str) -> tuple[str, str]:
    """``system|code`` (system may be ``urn:oid:…``) → (system, code)."""
    system, sep, code = coding.strip().rpartition("|")
    if not sep or not system or not code:
        raise InvalidInput(
            "coding must look like 'system|code', e.g. 'urn:oid:1.2.250.1.213.2.28|SM54'",
            parameter="coding",
        )
    return system, code


@dataclass(frozen=True, slots=True)
class Lookup:
    codesystem: IndexedCodeSystem
    concept: FlatConcept


@dataclass(frozen=True, slots=True)
class Expanded:
    valueset: IndexedValueSet
    page: ExpandPage


R = TypeVar("R", IndexedCodeSystem, IndexedValueSet, IndexedConceptMap)


def _widen(found: Resolved[list[R]]) -> Resolved[list[Indexed]]:
    return Resolved(list(found.value), found.state)


class TerminologyService:
    def __init__(self, resolver: ResourceResolver, *, max_expansion: int = 50_000) -> None:
        self.resolver = resolver
        #: The most codes one expansion answer may hold (``GATEWAY_TERMINOLOGY_MAX_EXPANSION``).
        self.max_expansion = max_expansion
        self.store = resolver.store
        self._catalogue_memo: tuple[tuple[int, ...], list[ExpansionItem]] | None = None
        self._search_memo: Memo = new_memo()

    def seed_cache(self) -> int:
        return self.resolver.seed_cache()

    async def lookup(self, system: str, code: str, version: str | None = None) -> Resolved[Lookup]:
        cs = await self.resolver.codesystem(system, version)
        concept = cs.value.get(code)
        if concept is None and not cs.value.complete and self.resolver.smt is not None:
            # We hold only part of this code system: ask the SMT for the missing code.
            found = await self.resolver.remote_lookup(cs.value, code)
            return Resolved(Lookup(cs.value, found.value), worst(cs.state, found.state))
        return Resolved(Lookup(cs.value, engine.lookup(cs.value, code)), cs.state)

    async def label(self, system: str, code: str) -> Resolved[CodeDisplay]:
        """The code with its label, else with the code itself as label (unknown code, or
        terminology unreachable: then STALE): what cards and search results show, never an
        error."""
        try:
            found = await self.lookup(system, code)
        except NotFound:
            return Resolved(CodeDisplay.of(code), CacheState.HIT)
        except UpstreamError:
            return Resolved(CodeDisplay.of(code), CacheState.STALE)
        concept = found.value.concept
        return Resolved(CodeDisplay.of(concept.code, concept.display), found.state)

    async def validate_code(
        self, system: str, code: str, *, version: str | None = None, display: str | None = None
    ) -> Resolved[Validation]:
        cs = await self.resolver.codesystem(system, version)
        return Resolved(validation.validate_in_codesystem(cs.value, code, display), cs.state)

    async def expand(
        self,
        url: str,
        *,
        version: str | None = None,
        text_filter: str | None = None,
        active_only: bool = False,
        offset: int = 0,
        count: int | None = None,
    ) -> Resolved[Expanded]:
        vs = await self.resolver.valueset(url, version)
        closure = await self.resolver.closure(vs.value)
        page = engine.expand(
            vs.value,
            closure.value,
            self.store.aliases,
            text_filter=text_filter,
            active_only=active_only,
            offset=offset,
            count=count,
        )
        return Resolved(Expanded(vs.value, page), worst(vs.state, closure.state))

    async def validate_in_valueset(
        self,
        url: str,
        *,
        code: str,
        system: str | None = None,
        display: str | None = None,
        version: str | None = None,
    ) -> Resolved[Validation]:
        vs = await self.resolver.valueset(url, version)
        closure = await self.resolver.closure(vs.value)
        result = validation.validate_in_valueset(
            vs.value, closure.value, self.store.aliases, system=system, code=code, display=display
        )
        return Resolved(result, worst(vs.state, closure.state))

    async def valuesets_containing(self, system: str, code: str) -> Resolved[list[IndexedValueSet]]:
        """The value sets held (latest version of each) whose expansion contains the code.
        One whose parts do not exist is left out; one that cannot be resolved now (an
        upstream failing) too, and the answer is then STALE: it may be missing one."""
        found: list[IndexedValueSet] = []
        state = CacheState.HIT
        for vs in sorted(self.store.latest(IndexedValueSet), key=lambda v: v.url):
            try:
                closure = await self.resolver.closure(vs)
            except NotFound:
                continue
            except UpstreamError:
                state = worst(state, CacheState.STALE)
                continue
            state = worst(state, closure.state)
            check = validation.validate_in_valueset(
                vs, closure.value, self.store.aliases, system=system, code=code, display=None
            )
            if check.result:
                found.append(vs)
        return Resolved(found, state)

    async def translate(
        self, *, system: str, code: str, url: str | None = None, target: str | None = None
    ) -> Resolved[list[TranslationMatch]]:
        if url:
            found = await self.resolver.conceptmap(url)
            maps, state = [found.value], found.state
        else:
            # none loaded: simply no match
            maps, state = self.store.searchable(IndexedConceptMap), CacheState.HIT
        matches = translate(
            maps, self.store.aliases, system=system, code=code, target_system=target
        )
        return Resolved(matches, state)

    async def translate_reverse(
        self, *, target: str, code: str, url: str | None = None, source: str | None = None
    ) -> Resolved[list[TranslationMatch]]:
        if url:
            found = await self.resolver.conceptmap(url)
            maps, state = [found.value], found.state
        else:
            maps, state = self.store.searchable(IndexedConceptMap), CacheState.HIT
        matches = translate_reverse(
            maps, self.store.aliases, target_system=target, target_code=code, source_system=source
        )
        return Resolved(matches, state)

    async def search(
        self,
        query: str,
        *,
        valueset: str | None = None,
        limit: int = 10,
        include_inactive: bool = False,
    ) -> Resolved[list[SearchMatch]]:
        if not query.strip():
            raise InvalidInput("q must not be empty", parameter="q")
        if not 1 <= limit <= 200:
            raise InvalidInput("limit must be between 1 and 200", parameter="limit")
        key = ("search", normalise(query), limit, include_inactive)
        if valueset:
            vs = await self.resolver.valueset(valueset)
            closure = await self.resolver.closure(vs.value)
            state = worst(vs.state, closure.state)
            memo, token = vs.value.memo, closure.value.token()
            found = memo.get((*key, token))
            if not isinstance(found, list):
                items = engine.expand_all(vs.value, closure.value, self.store.aliases)
                found = memo[(*key, token)] = rank(
                    query, items, limit=limit, include_inactive=include_inactive
                )
        else:
            state = CacheState.HIT
            token, items = self._catalogue()
            found = self._search_memo.get((*key, token))
            if not isinstance(found, list):
                found = self._search_memo[(*key, token)] = rank(
                    query, items, limit=limit, include_inactive=include_inactive
                )
        return Resolved(found, state)

    def _catalogue(self) -> tuple[tuple[int, ...], list[ExpansionItem]]:
        """Every concept of the latest code systems, with a token naming their versions."""
        latest = self.store.latest(IndexedCodeSystem)
        token = tuple(cs.serial for cs in latest)
        if self._catalogue_memo is not None and self._catalogue_memo[0] == token:
            return self._catalogue_memo
        items: list[ExpansionItem] = []
        for cs in latest:
            for concept in cs.concepts.values():
                items.append(
                    ExpansionItem(
                        cs.url,
                        cs.version,
                        concept.code,
                        concept.display,
                        concept.inactive,
                        concept.designations,
                        concept.label_words,
                        concept,
                    )
                )
        self._catalogue_memo = (token, items)
        return self._catalogue_memo

    async def find(self, kind: str, url: str, version: str | None) -> Resolved[list[Indexed]]:
        """``/fhir/<kind>?url=`` searches: what the SMT serves under that canonical (or
        OID, or NOS name) when online, with the snapshot's other versions."""
        if kind == "CodeSystem":
            return _widen(await self._find(IndexedCodeSystem, url, version))
        if kind == "ValueSet":
            return _widen(await self._find(IndexedValueSet, url, version))
        return _widen(await self._find(IndexedConceptMap, url, version))

    async def _find(self, model: type[R], url: str, version: str | None) -> Resolved[list[R]]:
        if version:
            held = self.store.get(model, url, version)
            local: list[R] = [held] if held is not None else []
        else:
            identity = self.store.aliases.resolve(url)
            local = [item for item in self.store.all(model) if item.identity == identity]
        if self.resolver.smt is None:
            return Resolved(local, CacheState.HIT)
        try:
            found = await self.resolver.resolve(model, url, version)
        except NotFound:
            return Resolved(local, CacheState.HIT)
        item = found.value
        others: list[R] = [
            i for i in local if (i.identity, i.version) != (item.identity, item.version)
        ]
        others.insert(0, item)
        return Resolved(others, found.state)

    async def published_codesystems(self) -> Resolved[list[Listed]]:
        return await self.resolver.published_codesystems()
