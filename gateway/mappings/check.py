"""``gateway mappings check`` and ``diff``: what a data steward runs before proposing a change.

``check`` validates every table against the terminology snapshot and the commune
reference (the same validation as start-up and hot reload); ``diff`` lists the semantic
changes between two directories (rows added, removed, changed, by each table's key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.geo.communes import load_communes
from gateway.mappings import agenda, authorities, nos, radius, specialties
from gateway.mappings.codes import CodeChecker
from gateway.mappings.csvfile import MappingError, Problems, parse_rows, read_rows
from gateway.mappings.tables import (
    AGENDA_FILE,
    AUTHORITIES_FILE,
    FILES,
    NOS_FILE,
    RADIUS_FILE,
    SYNONYMS_FILE,
    Mappings,
    load_mappings,
)
from gateway.terminology.store import TerminologyStore
from gateway.text import normalise

#: file → (columns, key column, how the key is compared)
TABLES: dict[str, tuple[tuple[str, ...], str, Callable[[str], str]]] = {
    NOS_FILE: (nos.COLUMNS, "name", str),
    AUTHORITIES_FILE: (authorities.COLUMNS, "code", str),
    SYNONYMS_FILE: (specialties.COLUMNS, "text", normalise),
    RADIUS_FILE: (radius.COLUMNS, "departement", str.upper),
    AGENDA_FILE: (agenda.COLUMNS, "name", str),
}


def check_directory(directory: Path, snapshot: Path) -> Mappings:
    """Validate ``directory`` against the snapshot's terminology and the communes."""
    store = TerminologyStore()
    store.load_directory(snapshot)
    communes = load_communes()
    return load_mappings(directory, communes.departement_codes, CodeChecker(store))


@dataclass(slots=True)
class TableDiff:
    file: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _rows(path: Path, file: str) -> dict[str, dict[str, str]]:
    columns, key, fold = TABLES[file]
    if not path.exists():
        return {}
    problems = Problems(path)
    rows = {fold(r.cells[key]): r.cells for r in read_rows(path, columns, problems)}
    problems.raise_if_any()
    return rows


def rows_of_text(text: str, file: str) -> dict[str, dict[str, str]]:
    """The rows of one table's text by key, those that cannot be read left out;
    ``MappingError`` only when the header is wrong."""
    columns, key, fold = TABLES[file]
    return {fold(r.cells[key]): r.cells for r in parse_rows(text, columns, Problems(Path(file)))}


def diff_directories(old: Path, new: Path) -> list[TableDiff]:
    """Per table: rows added, removed and changed (``column: old → new``)."""
    if not old.is_dir() or not new.is_dir():
        raise MappingError(f"{old if not old.is_dir() else new}: not a directory")
    return [diff_rows(file, _rows(old / file, file), _rows(new / file, file)) for file in FILES]


def diff_rows(
    file: str, before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]
) -> TableDiff:
    """Rows of one table added, removed and changed between two readings, by key."""
    columns, key, _ = TABLES[file]
    table = TableDiff(file)
    for k in after.keys() - before.keys():
        table.added.append(_describe(after[k], columns))
    for k in before.keys() - after.keys():
        table.removed.append(_describe(before[k], columns))
    for k in sorted(before.keys() & after.keys()):
        changes = [
            f"{c}: {before[k][c] or '(empty)'} → {after[k][c] or '(empty)'}"
            for c in columns
            if before[k][c] != after[k][c]
        ]
        if changes:
            table.changed.append(f"{after[k][key]}: " + "; ".join(changes))
    table.added.sort()
    table.removed.sort()
    return table


def _describe(cells: dict[str, str], columns: tuple[str, ...]) -> str:
    return ", ".join(f"{c}={cells[c]}" for c in columns if cells[c])


def format_diff(diffs: list[TableDiff]) -> str:
    lines: list[str] = []
    for table in diffs:
        if table.empty:
            continue
        lines.append(f"{table.file}:")
        lines += [f"  + added    {row}" for row in table.added]
        lines += [f"  - removed  {row}" for row in table.removed]
        lines += [f"  ~ changed  {row}" for row in table.changed]
    return "\n".join(lines) if lines else "no change"
