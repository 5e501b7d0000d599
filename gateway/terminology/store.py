"""In-memory store of materialised terminology resources (the snapshot), by identity+version.

Loaded at start-up with the snapshot's CodeSystems, ValueSets and ConceptMaps (given by
``gateway.snapshot``, which reads the directory once for every loader); kept for the life
of the process as the stale-if-error fallback.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TypeVar

from gateway.snapshot import SnapshotReader, SnapshotReport, read_snapshot
from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.indexed import (
    Indexed,
    IndexedCodeSystem,
    IndexedConceptMap,
    IndexedValueSet,
    index_resource,
    version_order,
)
from gateway.terminology.model import decode_resources

R = TypeVar("R", IndexedCodeSystem, IndexedValueSet, IndexedConceptMap)


class TerminologyStore:
    RESOURCE_TYPES = ("CodeSystem", "ValueSet", "ConceptMap")

    def __init__(self) -> None:
        self.aliases = CanonicalIndex()
        self._by_kind: dict[type, dict[str, dict[str, Indexed]]] = defaultdict(dict)
        self._latest: dict[type, dict[str, Indexed]] = defaultdict(dict)
        #: resources another one with the same url and version (but other content) replaced:
        #: reads by url see the last loaded, a search without url (``$translate``) sees both.
        self._shadowed: dict[type, dict[tuple[str, str], list[Indexed]]] = defaultdict(dict)

    def add(self, item: Indexed) -> None:
        self.aliases.register(item.url, list(item.oids))
        versions = self._by_kind[type(item)].setdefault(item.identity, {})
        replaced = versions.get(item.version or "")
        if replaced is not None and replaced.raw != item.raw:
            key = (item.identity, item.version or "")
            self._shadowed[type(item)].setdefault(key, []).append(replaced)
        versions[item.version or ""] = item
        latest = self._latest[type(item)]
        current = latest.get(item.identity)
        if current is None or version_order(item.version) >= version_order(current.version):
            latest[item.identity] = item

    def get(self, kind: type[R], system: str, version: str | None = None) -> R | None:
        """The resource of ``kind`` named by ``system`` (any alias), latest unless ``version``."""
        identity = self.aliases.resolve(system)
        if version:
            found = self._by_kind[kind].get(identity, {}).get(version)
        else:
            found = self._latest[kind].get(identity)
        return found if isinstance(found, kind) else None

    def codesystem(self, system: str, version: str | None = None) -> IndexedCodeSystem | None:
        return self.get(IndexedCodeSystem, system, version)

    def valueset(self, url: str, version: str | None = None) -> IndexedValueSet | None:
        return self.get(IndexedValueSet, url, version)

    def conceptmap(self, url: str, version: str | None = None) -> IndexedConceptMap | None:
        return self.get(IndexedConceptMap, url, version)

    def versions_of(self, kind: type[Indexed], system: str) -> list[str]:
        versions = self._by_kind[kind].get(self.aliases.resolve(system), {})
        return sorted(versions, key=version_order)

    def all(self, kind: type[R]) -> list[R]:
        """Every loaded version of every resource of ``kind``."""
        return [
            item
            for versions in self._by_kind[kind].values()
            for item in versions.values()
            if isinstance(item, kind)
        ]

    def latest(self, kind: type[R]) -> list[R]:
        return [
            item
            for identity in list(self._by_kind[kind])
            if (item := self.get(kind, identity, None)) is not None
        ]

    def searchable(self, kind: type[R]) -> list[R]:
        """The latest version of every resource of ``kind``, with those it shadows."""
        out: list[R] = []
        for item in self.latest(kind):
            out.append(item)
            shadowed = self._shadowed[kind].get((item.identity, item.version or ""), [])
            out.extend(s for s in shadowed if isinstance(s, kind))
        return out

    def summary(self) -> list[dict[str, str]]:
        """What is loaded, for ``/health/ready``."""
        everything: list[Indexed] = [
            *self.all(IndexedCodeSystem),
            *self.all(IndexedValueSet),
            *self.all(IndexedConceptMap),
        ]
        return [
            {
                "resourceType": item.resource.resource_type,
                "url": item.url,
                "version": item.version or "",
                "source": item.source,
            }
            for item in sorted(everything, key=lambda i: (i.identity, version_order(i.version)))
        ]

    def load_bytes(self, data: bytes, source: str) -> int:
        count = 0
        for resource, raw in decode_resources(data):
            self.add(index_resource(resource, raw, source))
            count += 1
        return count

    def read_from(self, reader: SnapshotReader) -> None:
        reader.register(self.RESOURCE_TYPES, self._take)

    def _take(self, raw: bytes, file: Path) -> None:
        self.load_bytes(raw, f"snapshot:{file.name}")

    def load_directory(self, directory: Path) -> SnapshotReport:
        """The terminology of a snapshot directory, read for it alone (tools, tests); the gateway
        reads its snapshot once for every loader (``gateway.snapshot.read_snapshot``)."""
        return read_snapshot(directory, self)
