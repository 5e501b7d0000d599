"""Terminology service: resolves resources (cache → SMT → snapshot) and runs the engine.

Offline (``GATEWAY_SMT_URL=""``) every read is served from the snapshot store. Online, each
resource is a cache entry keyed by (kind, identity, version): served from memory, refreshed
in the background after its soft TTL, refetched after its hard TTL, and replaced by the
snapshot copy (marked STALE) when the SMT fails. Knows nothing about HTTP frameworks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.cache import CachedLoader, CacheState, Freshness, versioned_key
from gateway.errors import (
    InvalidInput,
    NotFound,
    UnknownCodeSystem,
    UnknownConceptMap,
    UnknownValueSet,
)
from gateway.terminology import engine
from gateway.terminology.engine import Closure, ExpandPage, ExpansionItem, Validation
from gateway.terminology.indexed import (
    FlatConcept,
    Indexed,
    IndexedCodeSystem,
    IndexedConceptMap,
    IndexedValueSet,
    Memo,
    index_resource,
    new_memo,
    version_order,
)
from gateway.terminology.search import SearchMatch, rank
from gateway.terminology.smt import SmtClient
from gateway.terminology.store import TerminologyStore
from gateway.terminology.textnorm import normalise
from gateway.terminology.translate import TranslationMatch, translate

T = TypeVar("T")
I = TypeVar("I", IndexedCodeSystem, IndexedValueSet, IndexedConceptMap)  # noqa: E741

_KIND_NAMES: dict[type, str] = {
    IndexedCodeSystem: "CodeSystem",
    IndexedValueSet: "ValueSet",
    IndexedConceptMap: "ConceptMap",
}
_UNKNOWN: dict[type, type[NotFound]] = {
    IndexedCodeSystem: UnknownCodeSystem,
    IndexedValueSet: UnknownValueSet,
    IndexedConceptMap: UnknownConceptMap,
}
_STATE_RANK = {CacheState.HIT: 0, CacheState.MISS: 1, CacheState.STALE: 2}


def worst(*states: CacheState) -> CacheState:
    return max(states, key=_STATE_RANK.__getitem__, default=CacheState.HIT)


@dataclass(frozen=True, slots=True)
class Resolved(Generic[T]):
    value: T
    state: CacheState


def parse_coding(coding: str) -> tuple[str, str]:
    """``system|code`` (system may be ``urn:oid:…``) → (system, code)."""
    system, sep, code = coding.strip().rpartition("|")
    if not sep or not system or not code:
        raise InvalidInput(
            "coding must look like 'system|code', e.g. 'urn:oid:1.2.250.1.213.2.28|SM54'",
            parameter="coding",
        )
    return system, code


def _sizeof(value: object) -> int:
    raw = getattr(value, "raw", None)
    return 3 * len(raw) + 1024 if isinstance(raw, bytes) else 1024


class TerminologyService:
    def __init__(
        self,
        store: TerminologyStore,
        *,
        smt: SmtClient | None = None,
        loader: CachedLoader | None = None,
        freshness: Freshness | None = None,
    ) -> None:
        self.store = store
        self.smt = smt if smt is not None and smt.upstream.settings.enabled else None
        self.loader = loader
        self.freshness = freshness or Freshness(3600, 86_400, 60, 30 * 86_400)
        self._catalogue_memo: tuple[tuple[int, ...], list[ExpansionItem]] | None = None
        self._search_memo: Memo = new_memo()
        if self.loader is not None:
            self.loader.sizeof = _sizeof

    def seed_cache(self) -> int:
        """Put every snapshot resource in the cache as already soft-expired.

        Hot reads are answered at once from the snapshot while the first use of each
        resource triggers a background refresh from the SMT.
        """
        if self.smt is None or self.loader is None:
            return 0
        latest: list[Indexed] = [
            *self.store.latest(IndexedCodeSystem),
            *self.store.latest(IndexedValueSet),
            *self.store.latest(IndexedConceptMap),
        ]
        for item in latest:
            for version in ("", item.version or ""):
                key = versioned_key(_KIND_NAMES[type(item)], item.identity, version or None)
                self.loader.seed(key, item, self.freshness, age_s=self.freshness.soft_ttl_s)
        return len(latest)

    async def _resolve(self, kind: type[I], system: str, version: str | None) -> Resolved[I]:
        if version is None and "|" in system:
            # canonical reference with a version: http://example.org/ValueSet/x|1.2.0
            system, _, pinned = system.partition("|")
            version = pinned or None
        if not system.strip():
            raise InvalidInput(f"{_KIND_NAMES[kind]} url/system is empty", parameter="url")
        local = self._local(kind, system, version)
        if self.smt is None or self.loader is None:
            if local is None:
                raise self._unknown(kind, system, version)
            return Resolved(local, CacheState.HIT)
        identity = self.store.aliases.resolve(system)
        key = versioned_key(_KIND_NAMES[kind], identity, version)
        result = await self.loader.get(
            key,
            self._fetcher(kind, system, version),
            self.freshness,
            fallback=lambda: self._local(kind, system, version),
        )
        return Resolved(result.value, result.state)

    def _local(self, kind: type[I], system: str, version: str | None) -> I | None:
        return self.store.get(kind, system, version)

    def _unknown(self, kind: type, system: str, version: str | None) -> NotFound:
        known = self.store.versions_of(kind, system)
        detail = f" (version {version}; loaded: {', '.join(known) or 'none'})" if version else ""
        return _UNKNOWN[kind](
            f"Unknown {_KIND_NAMES[kind]} '{system}'{detail}",
            details={"url": system, "version": version},
        )

    def _fetcher(
        self, kind: type[I], system: str, version: str | None
    ) -> Callable[[], Awaitable[I]]:
        async def fetch() -> I:
            assert self.smt is not None
            local = self._local(kind, system, None)
            url = local.url if local is not None else system
            if not url.startswith(("https://", "http://")):
                # An OID or a name we have never seen: the SMT searches by canonical URL.
                raise self._unknown(kind, system, version)
            found = await self.smt.read(_KIND_NAMES[kind], url, version)
            if version:
                # a server may ignore `version=`: never cache another version under this key
                found = [pair for pair in found if pair[0].version == version]
            if not found:
                if local is not None:
                    # Known to the snapshot but not to the SMT (e.g. a local resource).
                    exact = self._local(kind, system, version)
                    if exact is not None:
                        return exact
                raise self._unknown(kind, system, version)
            resource, raw = max(found, key=lambda pair: version_order(pair[0].version))
            item = index_resource(resource, raw, source="smt")
            self.store.aliases.register(item.url, list(item.oids))
            if not isinstance(item, kind):  # pragma: no cover - smt.read filters by kind
                raise self._unknown(kind, system, version)
            return item

        return fetch

    async def codesystem(
        self, system: str, version: str | None = None
    ) -> Resolved[IndexedCodeSystem]:
        return await self._resolve(IndexedCodeSystem, system, version)

    async def valueset(self, url: str, version: str | None = None) -> Resolved[IndexedValueSet]:
        return await self._resolve(IndexedValueSet, url, version)

    async def closure(self, vs: IndexedValueSet) -> Resolved[Closure]:
        """Resolve every CodeSystem/ValueSet that ``vs`` composes (recursively).

        Offline the snapshot never changes, so the closure is computed once per value set;
        online each member goes through the cache (and may be refreshed) every time.
        """
        if self.smt is None:
            memoised = vs.memo.get("closure")
            if isinstance(memoised, Resolved):
                return memoised
            resolved = await self._resolve_closure(vs)
            vs.memo["closure"] = resolved
            return resolved
        return await self._resolve_closure(vs)

    async def _resolve_closure(self, vs: IndexedValueSet) -> Resolved[Closure]:
        closure = Closure()
        states: list[CacheState] = []
        pending = [vs]
        while pending:
            current = pending.pop()
            compose = current.resource.compose
            if compose is None:
                continue
            for include in [*compose.include, *compose.exclude]:
                if include.system:
                    identity = self.store.aliases.resolve(include.system)
                    if identity not in closure.codesystems:
                        try:
                            cs = await self.codesystem(include.system, include.version)
                        except NotFound:
                            if not include.concept and not current.resource.expansion:
                                raise
                            # enumerated codes expand without their CodeSystem, and a
                            # materialised expansion stands in for a missing one
                            continue
                        closure.codesystems[identity] = cs.value
                        states.append(cs.state)
                for ref in include.value_set:
                    identity = self.store.aliases.resolve(ref)
                    if identity not in closure.valuesets:
                        nested = await self.valueset(ref)
                        closure.valuesets[identity] = nested.value
                        states.append(nested.state)
                        pending.append(nested.value)
        return Resolved(closure, worst(*states))

    async def lookup(
        self, system: str, code: str, version: str | None = None
    ) -> tuple[IndexedCodeSystem, FlatConcept, CacheState]:
        cs = await self.codesystem(system, version)
        concept = cs.value.get(code)
        if concept is None and not cs.value.complete and self.smt is not None:
            # We hold only part of this code system: ask the SMT for the missing code.
            found = await self._remote_lookup(cs.value, code)
            return cs.value, found.value, worst(cs.state, found.state)
        return cs.value, engine.lookup(cs.value, code), cs.state

    async def _remote_lookup(self, cs: IndexedCodeSystem, code: str) -> Resolved[FlatConcept]:
        assert self.smt is not None
        assert self.loader is not None
        smt = self.smt
        key = versioned_key("$lookup", cs.identity, cs.version, code)

        async def fetch() -> FlatConcept:
            return await smt.lookup(cs.url, code, cs.version)

        result = await self.loader.get(key, fetch, self.freshness)
        return Resolved(result.value, result.state)

    async def validate_code(
        self, system: str, code: str, *, version: str | None = None, display: str | None = None
    ) -> Resolved[Validation]:
        cs = await self.codesystem(system, version)
        return Resolved(engine.validate_in_codesystem(cs.value, code, display), cs.state)

    async def expand(
        self,
        url: str,
        *,
        version: str | None = None,
        text_filter: str | None = None,
        active_only: bool = False,
        offset: int = 0,
        count: int | None = None,
    ) -> tuple[IndexedValueSet, ExpandPage, CacheState]:
        vs = await self.valueset(url, version)
        closure = await self.closure(vs.value)
        page = engine.expand(
            vs.value,
            closure.value,
            self.store.aliases,
            text_filter=text_filter,
            active_only=active_only,
            offset=offset,
            count=count,
        )
        return vs.value, page, worst(vs.state, closure.state)

    async def validate_in_valueset(
        self,
        url: str,
        *,
        code: str,
        system: str | None = None,
        display: str | None = None,
        version: str | None = None,
    ) -> Resolved[Validation]:
        vs = await self.valueset(url, version)
        closure = await self.closure(vs.value)
        result = engine.validate_in_valueset(
            vs.value, closure.value, self.store.aliases, system=system, code=code, display=display
        )
        return Resolved(result, worst(vs.state, closure.state))

    async def translate(
        self, *, system: str, code: str, url: str | None = None, target: str | None = None
    ) -> list[TranslationMatch]:
        if url:
            maps = [(await self._resolve(IndexedConceptMap, url, None)).value]
        else:
            maps = self.store.latest(IndexedConceptMap)  # none loaded: simply no match
        return translate(maps, self.store.aliases, system=system, code=code, target_system=target)

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
            vs = await self.valueset(valueset)
            closure = await self.closure(vs.value)
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

    def find(self, kind: str, url: str, version: str | None) -> list[Indexed]:
        """Snapshot resources for ``/fhir/<kind>?url=`` searches."""
        model = {
            "CodeSystem": IndexedCodeSystem,
            "ValueSet": IndexedValueSet,
            "ConceptMap": IndexedConceptMap,
        }[kind]
        if version:
            found = self._local(model, url, version)
            return [found] if found is not None else []
        identity = self.store.aliases.resolve(url)
        return [item for item in self.store.all(model) if item.identity == identity]
