"""Local terminology engine: ``$lookup`` and ``$expand`` (compose include/exclude by
concept list, whole system, filters and nested value sets; text filter, activeOnly, paging).

Pure and synchronous over already-resolved resources (``Closure``), so hot reads never
wait on the SMT; ``gateway.terminology.resolver`` finds resources (cache → SMT → snapshot)
before calling in. ``validation`` (``$validate-code``), ``translate`` (``$translate``) and
``compose_filters`` complete it. Hand-written: no Python library implements FHIR terminology
operations over in-memory resources (``fhir.resources`` only models them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.coded import label_or_code
from gateway.errors import (
    InvalidInput,
    UnknownCode,
    UnknownCodeSystem,
    UnknownValueSet,
)
from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.compose_filters import check_filters, filter_match
from gateway.terminology.compose_versions import versioned_systems
from gateway.terminology.indexed import FlatConcept, IndexedCodeSystem, IndexedValueSet
from gateway.terminology.model import Compose, ComposeInclude, Designation, ExpansionContains
from gateway.terminology.status import deprecated_in_valueset
from gateway.text import prefix_match, words


@dataclass(frozen=True, slots=True)
class ExpansionItem:
    system: str
    version: str | None
    code: str
    display: str
    inactive: bool
    designations: tuple[Designation, ...]
    label_words: tuple[tuple[str, ...], ...]
    concept: FlatConcept | None = None
    #: The code system is case-insensitive: ``sm54`` validates as ``SM54``.
    fold_case: bool = False
    #: The value set lists the code with ``valueset-deprecated``: valid, with a warning.
    deprecated_in_valueset: bool = False


@dataclass(slots=True)
class Closure:
    """A ValueSet plus every CodeSystem and ValueSet its compose references."""

    codesystems: dict[str, IndexedCodeSystem] = field(default_factory=dict)
    valuesets: dict[str, IndexedValueSet] = field(default_factory=dict)
    #: (identity, version the include pins or "") → the code system version it uses, when
    #: includes of one system name different versions (or a request rule changes them).
    by_version: dict[tuple[str, str], IndexedCodeSystem] = field(default_factory=dict)
    _token: tuple[int, ...] | None = None

    def token(self) -> tuple[int, ...]:
        """Names the exact resource versions in the closure (memo keys depend on it)."""
        if self._token is None:
            items: list[IndexedCodeSystem | IndexedValueSet] = [
                *self.codesystems.values(),
                *self.valuesets.values(),
                *self.by_version.values(),
            ]
            self._token = tuple(sorted(x.serial for x in items))
        return self._token

    def codesystem_for(self, identity: str, pinned: str | None) -> IndexedCodeSystem | None:
        if self.by_version:
            return self.by_version.get((identity, pinned or ""))
        return self.codesystems.get(identity)

    def valueset_for(self, ref: str, aliases: CanonicalIndex) -> IndexedValueSet | None:
        """The value set an include imports (``url``, or ``url|version``)."""
        return self.valuesets.get(aliases.resolve(ref)) or self.valuesets.get(
            aliases.resolve(ref.partition("|")[0])
        )


@dataclass(frozen=True, slots=True)
class ExpandPage:
    total: int
    offset: int
    items: list[ExpansionItem]
    #: Identifies this page's content (resolved resources + request), for response memos.
    key: tuple[object, ...] = ()


def lookup(cs: IndexedCodeSystem, code: str) -> FlatConcept:
    concept = cs.get(code)
    if concept is None:
        raise UnknownCode(
            f"Unknown code '{code}' in code system {cs.url} (version {cs.version})",
            details={"system": cs.url, "code": code, "version": cs.version},
        )
    return concept


#: (system identity, code, version when the value set keys that system by version, else "")
_Key = tuple[str, str, str]


def _include_items(
    include: ComposeInclude,
    closure: Closure,
    aliases: CanonicalIndex,
    depth: int,
    versioned: frozenset[str] = frozenset(),
) -> dict[_Key, ExpansionItem]:
    out: dict[_Key, ExpansionItem] = {}
    if include.system:
        # Keys use the system's identity so an OID, a trailing slash or the other URL
        # family in an include/exclude denote the same code system.
        identity = aliases.resolve(include.system)
        cs = closure.codesystem_for(identity, include.version)
        vkey = ((cs.version if cs else include.version) or "") if identity in versioned else ""
        if include.concept:
            for listed in include.concept:
                concept = cs.get(listed.code) if cs else None
                if cs is not None and concept is None:
                    continue  # a code the CodeSystem does not define is not expanded
                out[(identity, concept.code if concept else listed.code, vkey)] = _item(
                    cs.url if cs else include.system,
                    cs.version if cs else include.version,
                    listed.code,
                    listed.display,
                    listed.designation,
                    concept,
                    fold_case=bool(cs and cs.folded),
                    deprecated=deprecated_in_valueset(listed.extension),
                )
        else:
            if cs is None:
                raise UnknownCodeSystem(
                    f"Code system {include.system} is not available",
                    details={"system": include.system},
                )
            check_filters(include.system, include.filter)
            for concept in cs.concepts.values():
                if all(
                    filter_match(cs, concept, f.property, f.op, f.value or "")
                    for f in include.filter
                ):
                    out[(identity, concept.code, vkey)] = _item(
                        cs.url,
                        cs.version,
                        concept.code,
                        None,
                        [],
                        concept,
                        fold_case=bool(cs.folded),
                    )
    for ref in include.value_set:
        nested = closure.valueset_for(ref, aliases)
        if nested is None:
            raise UnknownValueSet(f"Value set {ref} is not available", details={"valueSet": ref})
        nested_items = {
            (aliases.resolve(i.system), i.code, i.version or ""): i
            for i in expand_all(nested, closure, aliases, depth + 1)
        }
        if not include.system and not out:
            out = {
                (k[0], k[1], k[2] if k[0] in versioned else ""): v for k, v in nested_items.items()
            }
        else:
            # an include of a system and of value sets: the codes in both (by system and code)
            codes = {k[:2] for k in nested_items}
            out = {k: v for k, v in out.items() if k[:2] in codes}
    return out


def _item(
    system: str,
    version: str | None,
    code: str,
    display: str | None,
    extra: list[Designation],
    concept: FlatConcept | None,
    *,
    fold_case: bool = False,
    deprecated: bool = False,
) -> ExpansionItem:
    # The value set's own display first, then the code system's (itself label or code).
    best = label_or_code(display or (concept.display if concept else None), code)
    labels = [best, *(d.value for d in extra)]
    label_words = tuple(
        dict.fromkeys([*(words(x) for x in labels), *(concept.label_words if concept else ())])
    )
    return ExpansionItem(
        system,
        version,
        code,
        best,
        concept.inactive if concept else False,
        tuple(extra) + (concept.designations if concept else ()),
        label_words,
        concept,
        fold_case,
        deprecated,
    )


def _flatten(contains: list[ExpansionContains]) -> list[ExpansionItem]:
    out: list[ExpansionItem] = []
    for c in contains:
        if c.code and c.system:
            out.append(_item(c.system, c.version, c.code, c.display, c.designation, None))
        out.extend(_flatten(c.contains))
    return out


def expand_all(
    vs: IndexedValueSet, closure: Closure, aliases: CanonicalIndex, depth: int = 0
) -> list[ExpansionItem]:
    """The whole expansion, memoised per resolved closure (new CS version → recomputed)."""
    if depth > 10:
        error = InvalidInput(
            f"Value set {vs.url} includes itself (circular reference)", parameter="url"
        )
        # the request is fine, the value set is not: a processing error (HL7 tests)
        error.fhir_issue_code = "processing"
        raise error
    memo_key = ("all", closure.token())
    cached = vs.memo.get(memo_key)
    if isinstance(cached, list):
        return cached
    compose = vs.resource.compose
    stored = vs.resource.expansion.contains if vs.resource.expansion else []
    if compose is None or not compose.include:
        items = _flatten(stored)
    else:
        try:
            items = _compose(compose, closure, aliases, depth)
        except UnknownCodeSystem:
            if not stored:
                raise
            # A code system we do not hold: the expansion materialised by `sync` stands in.
            items = _flatten(stored)
    vs.memo[memo_key] = items
    return items


def _compose(
    compose: Compose, closure: Closure, aliases: CanonicalIndex, depth: int
) -> list[ExpansionItem]:
    versioned = versioned_systems(compose, closure, aliases)
    merged: dict[_Key, ExpansionItem] = {}
    for include in compose.include:
        merged.update(_include_items(include, closure, aliases, depth, versioned))
    for exclude in compose.exclude:
        for key in _include_items(exclude, closure, aliases, depth, versioned):
            merged.pop(key, None)
    items = list(merged.values())
    if compose.inactive is False:
        items = [item for item in items if not item.inactive]
    return items


def expand(
    vs: IndexedValueSet,
    closure: Closure,
    aliases: CanonicalIndex,
    *,
    text_filter: str | None = None,
    active_only: bool = False,
    offset: int = 0,
    count: int | None = None,
) -> ExpandPage:
    if offset < 0:
        raise InvalidInput("offset must be >= 0", parameter="offset")
    if count is not None and count < 0:
        raise InvalidInput("count must be >= 0", parameter="count")
    items = expand_all(vs, closure, aliases)
    query = words(text_filter) if text_filter else ()
    if query or active_only:
        memo_key = ("filtered", closure.token(), query, active_only)
        cached = vs.memo.get(memo_key)
        if isinstance(cached, list):
            items = cached
        else:
            items = [
                item
                for item in items
                if not (active_only and item.inactive)
                and (not query or any(prefix_match(query, lw) for lw in item.label_words))
            ]
            vs.memo[memo_key] = items
    end = len(items) if count is None else offset + count
    key = (closure.token(), query, active_only, offset, count)
    return ExpandPage(total=len(items), offset=offset, items=items[offset:end], key=key)
