"""What one FHIR terminology request brings beyond the loaded resources, and the closure
of a value set resolved under it.

A request may supply resources inline (``tx-resource``, ``valueSet``) and version rules
(``gateway.terminology.versions``). ``resolve_closure`` walks a value set's compose like
``ResourceResolver.closure`` does, but resolves each include at the version it pins (or the
rules impose, wildcards included) and records what it could not resolve instead of failing:
``$validate-code`` reports those as issues, ``$expand`` as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.cache import CacheState, Resolved, worst
from gateway.errors import NotFound, UnknownCodeSystem
from gateway.terminology.engine import Closure
from gateway.terminology.indexed import (
    IndexedCodeSystem,
    IndexedValueSet,
    index_resource,
    version_order,
)
from gateway.terminology.model import CodeSystem, ValueSet
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.store import TerminologyStore
from gateway.terminology.supplements import applies_to, is_supplement, supplemented
from gateway.terminology.versions import NO_RULES, VersionRules, best_version, is_wildcard


@dataclass(slots=True)
class RequestContext:
    rules: VersionRules = NO_RULES
    #: Resources supplied with the request; they shadow the loaded ones.
    inline: TerminologyStore = field(default_factory=TerminologyStore)
    #: Display languages asked for (``displayLanguage``, else ``Accept-Language``), in order.
    languages: tuple[str, ...] = ()
    #: ``default-valueset-version``: value set identity → the version to use where a request
    #: or an import (``include.valueSet``) names the value set without one.
    valueset_versions: dict[str, str] = field(default_factory=dict)
    #: Supplements in use (``useSupplement``, the value set's ``valueset-supplement``).
    supplements: list[IndexedCodeSystem] = field(default_factory=list)

    def add(self, resource: CodeSystem | ValueSet, raw: bytes) -> None:
        self.inline.add(index_resource(resource, raw, source="request"))


@dataclass(frozen=True, slots=True)
class Pin:
    """One include of a code system: the version it pins, the version used, the resource."""

    pinned: str | None
    wanted: str | None
    codesystem: IndexedCodeSystem | None
    #: the include lists its codes: it expands without the code system
    enumerated: bool = False


@dataclass(slots=True)
class Resolution:
    closure: Closure
    state: CacheState
    #: identity → the includes of that code system, in compose order.
    pins: dict[str, list[Pin]] = field(default_factory=dict)
    #: value sets referenced but not found (``include.valueSet``).
    missing_valuesets: list[str] = field(default_factory=list)


class Finder:
    """Finds resources for one request: inline first, then the resolver (cache → SMT →
    snapshot); wildcard versions select the latest matching version."""

    def __init__(self, resolver: ResourceResolver, context: RequestContext) -> None:
        self.resolver = resolver
        self.context = context

    def versions(self, system: str) -> list[str]:
        known = {
            *self.resolver.store.versions_of(IndexedCodeSystem, system),
            *self.context.inline.versions_of(IndexedCodeSystem, system),
        }
        return sorted((v for v in known if v), key=version_order)

    async def codesystem(
        self, system: str, version: str | None
    ) -> tuple[IndexedCodeSystem | None, CacheState]:
        if version and is_wildcard(version):
            version = best_version(version, self.versions(system))
            if version is None:
                return None, CacheState.HIT
        local = self.context.inline.get(IndexedCodeSystem, system, version)
        if local is not None:
            return self._supplemented(local), CacheState.HIT
        try:
            found = await self.resolver.codesystem(system, version)
        except NotFound:
            return None, CacheState.HIT
        return self._supplemented(found.value), found.state

    def _supplemented(self, cs: IndexedCodeSystem) -> IndexedCodeSystem:
        if not self.context.supplements:
            return cs
        used = [s for s in self.context.supplements if applies_to(s, cs)]
        return supplemented(cs, used) if used else cs

    async def use_supplements(self, refs: list[str]) -> None:
        """Apply the supplements ``refs`` (canonical, ``|version`` optional) to the code
        systems this request reads; one not found fails the request."""
        for ref in refs:
            url, _, version = ref.partition("|")
            found, _ = await self.codesystem(url, version or None)
            if found is None or not is_supplement(found):
                raise UnknownCodeSystem(
                    f"Required supplement not found: {ref}", details={"supplement": ref}
                )
            if all(s.serial != found.serial for s in self.context.supplements):
                self.context.supplements.append(found)

    async def valueset(
        self, url: str, version: str | None = None
    ) -> tuple[IndexedValueSet | None, CacheState]:
        if version is None and "|" in url:
            url, _, pinned = url.partition("|")
            version = pinned or None
        if version is None and self.context.valueset_versions:
            identity = self.resolver.store.aliases.resolve(url)
            version = self.context.valueset_versions.get(identity)
        local = self.context.inline.get(IndexedValueSet, url, version)
        if local is not None:
            return local, CacheState.HIT
        try:
            found = await self.resolver.valueset(url, version)
        except NotFound:
            return None, CacheState.HIT
        return found.value, found.state

    async def closure(self, vs: IndexedValueSet) -> Resolution:
        aliases = self.resolver.store.aliases
        closure = Closure()
        resolution = Resolution(closure, CacheState.HIT)
        states: list[CacheState] = []
        pending, seen = [vs], {vs.serial}
        while pending:
            current = pending.pop()
            compose = current.resource.compose
            if compose is None:
                continue
            for include in [*compose.include, *compose.exclude]:
                if include.system:
                    identity = aliases.resolve(include.system)
                    wanted = self.context.rules.effective(identity, include.version)
                    key = (identity, include.version or "")
                    if key not in closure.by_version:
                        cs, state = await self.codesystem(include.system, wanted)
                        states.append(state)
                        resolution.pins.setdefault(identity, []).append(
                            Pin(include.version, wanted, cs, bool(include.concept))
                        )
                        if cs is not None:
                            closure.by_version[key] = cs
                            closure.codesystems.setdefault(identity, cs)
                for ref in include.value_set:
                    identity = aliases.resolve(ref.partition("|")[0])
                    if identity in closure.valuesets:
                        continue
                    nested, state = await self.valueset(ref)
                    states.append(state)
                    if nested is None:
                        resolution.missing_valuesets.append(ref)
                        continue
                    closure.valuesets[identity] = nested
                    if nested.serial not in seen:
                        seen.add(nested.serial)
                        pending.append(nested)
        resolution.state = worst(*states) if states else CacheState.HIT
        return resolution


__all__ = ["Finder", "Pin", "RequestContext", "Resolution", "Resolved"]
