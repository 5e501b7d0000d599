"""Loaded terminology resources, indexed once for fast reads.

A CodeSystem is flattened (nested concepts keep their parent) into ``code → FlatConcept``
with pre-normalised label words, so ``$lookup`` is a dict access and ``$expand`` filters
never re-normalise labels on the hot path.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cachetools import LRUCache

from gateway.coded import label_or_code
from gateway.terminology.canonical import CanonicalIndex, nos_name, oid_of
from gateway.terminology.model import (
    CanonicalResource,
    CodeSystem,
    Concept,
    ConceptMap,
    ConceptProperty,
    Designation,
    Identifier,
    ValueSet,
)
from gateway.terminology.status import standards_status
from gateway.text import words

_INACTIVE_STATUSES = frozenset({"deprecated", "retired", "inactive"})
_TIMESTAMP = re.compile(r"^\d{14}$")


def version_order(version: str | None) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """Sort key: NOS timestamp versions (``20260730120000``) sort after legacy ``0.1.0``."""
    if not version:
        return (0, ())
    if _TIMESTAMP.match(version):
        return (2, ((0, int(version)),))
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-]", version))
    return (1, parts)


def _oids(identifiers: list[Identifier]) -> tuple[str, ...]:
    out = []
    for ident in identifiers:
        oid = oid_of(ident.value)
        if oid:
            out.append(oid)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class FlatConcept:
    code: str
    display: str
    definition: str | None
    designations: tuple[Designation, ...]
    properties: tuple[ConceptProperty, ...]
    parent: str | None
    status: str
    inactive: bool
    label_words: tuple[tuple[str, ...], ...]

    @property
    def abstract(self) -> bool:
        """Not selectable (``notSelectable``/``abstract`` property): a grouper, not a code."""
        return any(
            p.code in ("notSelectable", "abstract") and p.value_boolean for p in self.properties
        )


def _status_of(concept: Concept, now_iso: str) -> tuple[str, bool]:
    # an R5-style standards status extension on the concept (the status property wins)
    status = "deprecated" if standards_status(concept.extension) == "deprecated" else "active"
    ended = False
    for prop in concept.property:
        if prop.code == "status" and prop.value_code:
            status = prop.value_code
        elif prop.code == "inactive" and prop.value_boolean:
            status = "inactive"
        elif prop.code in {"dateFin", "deprecationDate", "retirementDate"}:
            # Legacy NOS exports carry no status; an end date in the past retires the code.
            when = prop.value_date_time or ""
            ended = ended or (bool(when) and when[:19] <= now_iso)
    if ended and status == "active":
        status = "deprecated"
    return status, status in _INACTIVE_STATUSES


def flatten_concept(
    concept: Concept, parent: str | None, now_iso: str | None = None
) -> FlatConcept:
    """One concept, indexed: status/inactive derived, label words pre-normalised."""
    status, inactive = _status_of(concept, now_iso or _now_iso())
    display = label_or_code(concept.display, concept.code)
    labels = [display, *(d.value for d in concept.designation)]
    return FlatConcept(
        code=concept.code,
        display=display,
        definition=concept.definition,
        designations=tuple(concept.designation),
        properties=tuple(concept.property),
        parent=parent,
        status=status,
        inactive=inactive,
        label_words=tuple(dict.fromkeys(words(label) for label in labels)),
    )


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


MEMO_MAX_BYTES = 4 * 1024 * 1024


def _approx_size(value: object) -> int:
    if isinstance(value, bytes):
        return len(value) + 64
    if isinstance(value, list):
        return 64 + 200 * len(value)  # lists of expansion items / matches share their items
    return 512


class Memo(LRUCache[Hashable, object]):
    """Bounded memo of results derived from one resource (expansions, encoded answers).

    Bounded by approximate bytes (``MEMO_MAX_BYTES``); a value too big to keep is simply
    not remembered. Living on the resource object, it is dropped with it when a newer
    version replaces it.
    """

    def __init__(self, max_bytes: int = MEMO_MAX_BYTES) -> None:
        super().__init__(maxsize=max_bytes, getsizeof=_approx_size)

    def __setitem__(self, key: Hashable, value: object) -> None:
        if _approx_size(value) <= self.maxsize // 8:
            super().__setitem__(key, value)


_serials = itertools.count(1)


def new_serial() -> int:
    """Process-unique number of an indexed resource (``id()`` may be reused after GC)."""
    return next(_serials)


def new_memo() -> Memo:
    return Memo()


class _Canonical:
    """``url``/``version`` of the wrapped resource, shared by the indexed kinds."""

    __slots__ = ()
    resource: CanonicalResource
    serial: int

    @property
    def url(self) -> str:
        return self.resource.url

    @property
    def version(self) -> str | None:
        return self.resource.version


@dataclass(slots=True)
class IndexedCodeSystem(_Canonical):
    resource: CodeSystem
    raw: bytes
    identity: str
    oids: tuple[str, ...]
    concepts: dict[str, FlatConcept]
    folded: dict[str, str]
    source: str = "snapshot"
    memo: Memo = field(default_factory=new_memo)
    serial: int = field(default_factory=new_serial)

    @classmethod
    def build(cls, resource: CodeSystem, raw: bytes, source: str = "snapshot") -> IndexedCodeSystem:
        now_iso = _now_iso()
        concepts: dict[str, FlatConcept] = {}

        def visit(items: list[Concept], parent: str | None) -> None:
            for concept in items:
                concepts[concept.code] = flatten_concept(concept, parent, now_iso)
                visit(concept.concept, concept.code)

        visit(resource.concept, None)
        folded = {} if resource.case_sensitive else {c.casefold(): c for c in concepts}
        return cls(
            resource=resource,
            raw=raw,
            identity=CanonicalIndex.identity_for(resource.url),
            oids=_oids(resource.identifier),
            concepts=concepts,
            folded=folded,
            source=source,
        )

    @property
    def nos(self) -> str | None:
        return nos_name(self.resource.url)

    @property
    def complete(self) -> bool:
        """Whether the resource holds every concept (``content`` complete or unstated)."""
        return self.resource.content in (None, "complete")

    def get(self, code: str) -> FlatConcept | None:
        found = self.concepts.get(code)
        if found is None and self.folded:
            real = self.folded.get(code.casefold())
            found = self.concepts.get(real) if real is not None else None
        return found


@dataclass(slots=True)
class IndexedValueSet(_Canonical):
    resource: ValueSet
    raw: bytes
    identity: str
    oids: tuple[str, ...]
    source: str = "snapshot"
    memo: Memo = field(default_factory=new_memo)
    serial: int = field(default_factory=new_serial)

    @classmethod
    def build(cls, resource: ValueSet, raw: bytes, source: str = "snapshot") -> IndexedValueSet:
        return cls(
            resource,
            raw,
            CanonicalIndex.identity_for(resource.url),
            _oids(resource.identifier),
            source,
        )


@dataclass(slots=True)
class IndexedConceptMap(_Canonical):
    resource: ConceptMap
    raw: bytes
    identity: str
    oids: tuple[str, ...]
    source: str = "snapshot"
    serial: int = field(default_factory=new_serial)

    @classmethod
    def build(cls, resource: ConceptMap, raw: bytes, source: str = "snapshot") -> IndexedConceptMap:
        return cls(
            resource,
            raw,
            CanonicalIndex.identity_for(resource.url),
            _oids(resource.identifiers()),
            source,
        )


Indexed = IndexedCodeSystem | IndexedValueSet | IndexedConceptMap


def index_resource(
    resource: CodeSystem | ValueSet | ConceptMap, raw: bytes, source: str = "snapshot"
) -> Indexed:
    if isinstance(resource, CodeSystem):
        return IndexedCodeSystem.build(resource, raw, source)
    if isinstance(resource, ValueSet):
        return IndexedValueSet.build(resource, raw, source)
    return IndexedConceptMap.build(resource, raw, source)
