"""Resolves terminology resources: cache → SMT → snapshot.

Offline (``GATEWAY_SMT_URL=""``) every read is served from the snapshot store. Online, each
resource is a cache entry keyed by (kind, identity, version): served from memory, refreshed
in the background after its soft TTL, refetched after its hard TTL, and replaced by the
snapshot copy (marked STALE) when the SMT fails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.cache import CachedLoader, CacheState, Freshness, Resolved, versioned_key, worst
from gateway.errors import (
    InvalidInput,
    NotFound,
    UnknownCodeSystem,
    UnknownConceptMap,
    UnknownValueSet,
)
from gateway.settings import CacheSettings
from gateway.terminology.canonical import is_url
from gateway.terminology.engine import Closure
from gateway.terminology.indexed import (
    FlatConcept,
    Indexed,
    IndexedCodeSystem,
    IndexedConceptMap,
    IndexedValueSet,
    index_resource,
    version_order,
)
from gateway.terminology.smt import Listed, SmtClient, alias_search
from gateway.terminology.store import TerminologyStore

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


def _sizeof(value: object) -> int:
    raw = getattr(value, "raw", None)
    return 3 * len(raw) + 1024 if isinstance(raw, bytes) else 1024


class ResourceResolver:
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
        self.freshness = freshness or Freshness.terminology(CacheSettings())
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

    async def resolve(self, kind: type[I], system: str, version: str | None) -> Resolved[I]:
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
        key = versioned_key(_KIND_NAMES[kind], self._identity(system), version)
        result = await self.loader.get(
            key,
            self._fetcher(kind, system, version),
            self.freshness,
            fallback=lambda: self._local(kind, system, version),
        )
        return Resolved(result.value, result.state)

    def _identity(self, system: str) -> str:
        """The cache identity of ``system``. An OID or NOS name nothing has registered yet is
        keyed on itself (normalised): the SMT's answer to that search, found or not, must
        not stand for the canonical URL, which is read, not searched."""
        aliases = self.store.aliases
        if is_url(system) or aliases.knows(system):
            return aliases.resolve(system)
        search = alias_search(system)
        return "=".join(search) if search is not None else aliases.resolve(system)

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
            name = _KIND_NAMES[kind]
            local = self._local(kind, system, None)
            url = local.url if local is not None else system
            by_alias = not is_url(url)
            if not by_alias:
                found = await self.smt.read(name, url, version)
            else:
                # An OID or a NOS name the snapshot does not hold: the SMT knows it.
                found = await self.smt.find(name, url, version)
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
            if not isinstance(item, kind):  # pragma: no cover - smt.read filters by kind
                raise self._unknown(kind, system, version)
            self.store.aliases.register(item.url, list(item.oids))
            if by_alias:
                # The next request resolves the alias to the resource's identity (now
                # registered), a key this fetch may not fill: fill it too.
                assert self.loader is not None
                self.loader.seed(versioned_key(name, item.identity, version), item, self.freshness)
            return item

        return fetch

    async def codesystem(
        self, system: str, version: str | None = None
    ) -> Resolved[IndexedCodeSystem]:
        return await self.resolve(IndexedCodeSystem, system, version)

    async def valueset(self, url: str, version: str | None = None) -> Resolved[IndexedValueSet]:
        return await self.resolve(IndexedValueSet, url, version)

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

    async def conceptmap(self, url: str, version: str | None = None) -> Resolved[IndexedConceptMap]:
        return await self.resolve(IndexedConceptMap, url, version)

    async def published_codesystems(self) -> Resolved[list[Listed]]:
        """What the SMT lists (cached like a resource; the snapshot's list when it fails),
        with what the snapshot holds."""
        held = {Listed(cs.url, cs.version) for cs in self.store.all(IndexedCodeSystem)}
        local = sorted(held)
        if self.smt is None or self.loader is None:
            return Resolved(local, CacheState.HIT)
        smt = self.smt

        async def fetch() -> list[Listed]:
            return [listed async for listed in smt.catalogue("CodeSystem")]

        key = versioned_key("catalogue", "CodeSystem", None)
        found = await self.loader.get(key, fetch, self.freshness, fallback=lambda: local)
        return Resolved(sorted(held.union(found.value)), found.state)

    async def remote_lookup(self, cs: IndexedCodeSystem, code: str) -> Resolved[FlatConcept]:
        assert self.smt is not None
        assert self.loader is not None
        smt = self.smt
        key = versioned_key("$lookup", cs.identity, cs.version, code)

        async def fetch() -> FlatConcept:
            return await smt.lookup(cs.url, code, cs.version)

        result = await self.loader.get(key, fetch, self.freshness)
        return Resolved(result.value, result.state)
