"""The snapshot directory (``GATEWAY_SNAPSHOT_DIR``), read once for every loader.

The snapshot holds terminology, directory and ROR resources side by side, as single
resources or Bundles (nested ones too), in any sub-directory. The terminology store, the
practitioner index and the CPTS index each want some resource types of it; rather than each
walking the tree, decoding every file and reporting problems its own way, they register here
for their types, and one walk decodes each file once and hands each resource (its raw JSON:
every loader decodes into its own msgspec models) to whoever registered for its
``resourceType``. Problems end in one report, ``file: message``: a file that cannot be read
or decoded is skipped, a resource a loader refuses is skipped alone, never fatal.

Usage: ``read_snapshot(directory, store, index, …)`` (each loader registers itself through
``read_from(reader)``), or ``SnapshotReader(directory)`` with ``register`` and ``read``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import msgspec

log = logging.getLogger("gateway.snapshot")

#: Receives one resource's JSON and the file it came from; raises ``msgspec.DecodeError``
#: (``ValidationError`` is one) to refuse it.
Take = Callable[[bytes, Path], None]


class SnapshotLoader(Protocol):
    def read_from(self, reader: SnapshotReader) -> None:
        """Register ``reader.register(types, take)`` for the types this loader wants."""


class _Entry(msgspec.Struct):
    resource: msgspec.Raw = msgspec.Raw(b"")


class _Document(msgspec.Struct, rename="camel"):
    """A resource's type and, for a Bundle, its entries (kept raw, decoded by their taker)."""

    resource_type: str = ""
    entry: list[_Entry] = []


_DECODER = msgspec.json.Decoder(_Document)


@dataclass(frozen=True, slots=True)
class SnapshotProblem:
    file: str
    message: str
    #: The refused resource's type; None when the whole file (or directory) is unreadable.
    resource_type: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(slots=True)
class SnapshotReport:
    directory: Path
    #: ``*.json`` files found, readable or not.
    files: int = 0
    #: Resources taken by every loader registered for their type, per ``resourceType``.
    resources: Counter[str] = field(default_factory=Counter)
    #: Resources of a type no loader registered for.
    ignored: int = 0
    problems: list[SnapshotProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [str(p) for p in self.problems]

    def count(self, *types: str) -> int:
        """Resources taken of ``types`` (of every type when none is given)."""
        return sum(n for kind, n in self.resources.items() if not types or kind in types)

    def errors_for(self, types: Iterable[str]) -> list[str]:
        """What a loader of ``types`` missed: unreadable files, and its refused resources."""
        wanted = set(types)
        return [str(p) for p in self.problems if p.resource_type in wanted or not p.resource_type]


class SnapshotReader:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._takers: dict[str, list[Take]] = {}

    def register(self, resource_types: Iterable[str], take: Take) -> None:
        for kind in resource_types:
            self._takers.setdefault(kind, []).append(take)

    def read(self) -> SnapshotReport:
        """Walk the directory (sorted, recursively) once and dispatch every resource."""
        report = SnapshotReport(self.directory)
        if not self.directory.is_dir():
            self._problem(report, SnapshotProblem(str(self.directory), "not a directory"))
            return report
        for path in sorted(self.directory.rglob("*.json")):
            report.files += 1
            try:
                data = path.read_bytes()
                document = _DECODER.decode(data)
            except (OSError, msgspec.DecodeError) as exc:
                self._problem(report, SnapshotProblem(str(path), str(exc)))
                continue
            self._dispatch(document, data, path, report)
        return report

    def _dispatch(
        self, document: _Document, data: bytes, path: Path, report: SnapshotReport
    ) -> None:
        if document.resource_type == "Bundle":
            for entry in document.entry:
                raw = bytes(entry.resource)
                if not raw:
                    continue
                try:
                    nested = _DECODER.decode(raw)
                except msgspec.DecodeError as exc:
                    self._problem(
                        report, SnapshotProblem(str(path), f"Bundle entry skipped: {exc}")
                    )
                    continue
                self._dispatch(nested, raw, path, report)
            return
        takers = self._takers.get(document.resource_type)
        if not takers:
            report.ignored += 1
            return
        taken = True
        for take in takers:
            try:
                take(data, path)
            except msgspec.DecodeError as exc:
                taken = False
                kind = document.resource_type
                message = f"{kind} skipped: {exc}"
                self._problem(report, SnapshotProblem(str(path), message, kind))
        if taken:
            report.resources[document.resource_type] += 1

    @staticmethod
    def _problem(report: SnapshotReport, problem: SnapshotProblem) -> None:
        report.problems.append(problem)
        log.warning("snapshot problem", extra={"file": problem.file, "error": problem.message})


def read_snapshot(directory: Path, *loaders: SnapshotLoader) -> SnapshotReport:
    """Read ``directory`` once for every loader; the report of that one read."""
    reader = SnapshotReader(directory)
    for loader in loaders:
        loader.read_from(reader)
    return reader.read()
