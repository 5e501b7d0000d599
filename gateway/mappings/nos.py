"""``mappings/nos.csv``: the NOS the gateway mirrors (``gateway sync terminology``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.mappings.csvfile import MappingError, Problems, read_rows
from gateway.terminology.canonical import nos_id

__all__ = ["COLUMNS", "MappingError", "MirroredNos", "load_nos"]

_KINDS = frozenset({"CodeSystem", "ValueSet", "ConceptMap"})
COLUMNS = ("name", "kind", "canonical", "why")


@dataclass(frozen=True, slots=True)
class MirroredNos:
    name: str
    kind: str
    canonical: str
    why: str
    line: int


def load_nos(path: Path, problems: Problems | None = None) -> list[MirroredNos]:
    """Every row, validated; all problems raised together as one ``MappingError``.

    With ``problems`` given, problems are added to it and nothing is raised (the caller
    reports several files at once)."""
    collected = problems if problems is not None else Problems(path)
    out: list[MirroredNos] = []
    seen: dict[str, int] = {}
    for row in read_rows(path, COLUMNS, collected):
        name, kind, canonical, why = (row.cells[c] for c in COLUMNS)
        if kind not in _KINDS:
            collected.add(row.line, f"kind '{kind}' must be one of {', '.join(sorted(_KINDS))}")
        if not canonical.startswith(("https://", "http://")):
            collected.add(row.line, f"canonical '{canonical}' is not a URL")
        elif nos_id(canonical) != nos_id(name):
            collected.add(row.line, f"name '{name}' does not match canonical {canonical}")
        if not why:
            collected.add(row.line, f"why is empty for '{name}': say what the gateway needs it for")
        if name in seen:
            collected.add(row.line, f"'{name}' already listed on line {seen[name]}")
            continue
        seen[name] = row.line
        out.append(MirroredNos(name, kind, canonical, why, row.line))
    if problems is None:
        collected.raise_if_any()
    return out
