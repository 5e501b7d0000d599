"""What the stewards' console shows: the tables in force, the files on disk, and the diff.

Framework-free; ``MappingsComponent.status`` runs it in a thread (it reads and checks the
files the same way a reload would, without swapping anything in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.mappings.check import TableDiff, diff_rows, rows_of_text
from gateway.mappings.csvfile import MappingError
from gateway.mappings.tables import FILES, Mappings, read_sources, version_of


@dataclass(frozen=True, slots=True)
class TableState:
    file: str
    #: Rows of the table in force (None: not known, tables loaded without their text).
    rows_running: int | None
    #: Rows readable in the file on disk now (None: the file or its header is unreadable).
    rows_disk: int | None
    #: What a reload would refuse, ``path:line: message`` each.
    problems: list[str] = field(default_factory=list)
    #: Not blocking (the tables in force).
    warnings: list[str] = field(default_factory=list)
    #: Running → disk, by each table's key; None when the file cannot be compared.
    diff: TableDiff | None = None


@dataclass(frozen=True, slots=True)
class MappingsStatus:
    version: str
    directory: str
    #: The version a reload would give (None: a file cannot be read at all).
    disk_version: str | None
    #: True when a reload would be accepted.
    disk_valid: bool
    tables: list[TableState]
    #: Problems that name no table file.
    other_problems: list[str]


def mappings_status(
    running: Mappings, directory: Path, check: Callable[[], Mappings]
) -> MappingsStatus:
    """``running`` against the files of ``directory``; ``check`` validates them (raising
    ``MappingError`` with every problem, as a reload would)."""
    try:
        raw: dict[str, bytes] | None = read_sources(directory)
    except OSError:
        raw = None
    problems: list[str] = []
    try:
        check()
    except MappingError as exc:
        problems = str(exc).splitlines()
    tables = [_table(file, running, directory, raw, problems) for file in FILES]
    claimed = {p for t in tables for p in t.problems}
    return MappingsStatus(
        version=running.version,
        directory=str(directory),
        disk_version=version_of(raw) if raw is not None else None,
        disk_valid=not problems,
        tables=tables,
        other_problems=[p for p in problems if p not in claimed],
    )


def _table(
    file: str,
    running: Mappings,
    directory: Path,
    raw: dict[str, bytes] | None,
    problems: list[str],
) -> TableState:
    path = str(directory / file)
    mine = [p for p in problems if p.startswith((path + ":", path + " "))]
    warnings = [w for w in running.warnings if w.startswith(path + ":")]
    before = _rows(running.sources.get(file), file)
    text = _disk_text(directory / file, raw, file)
    after = _rows(text, file)
    diff = diff_rows(file, before, after) if before is not None and after is not None else None
    return TableState(
        file=file,
        rows_running=len(before) if before is not None else None,
        rows_disk=len(after) if after is not None else None,
        problems=mine,
        warnings=warnings,
        diff=diff,
    )


def _disk_text(path: Path, raw: dict[str, bytes] | None, file: str) -> str | None:
    if raw is not None:
        return raw[file].decode("utf-8-sig", errors="replace")
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return None


def _rows(text: str | None, file: str) -> dict[str, dict[str, str]] | None:
    if text is None:
        return None
    try:
        return rows_of_text(text, file)
    except MappingError:
        return None
