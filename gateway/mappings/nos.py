"""``mappings/nos.csv``: the NOS the gateway mirrors. CSV with ``#`` comment lines."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from gateway.mappings.csvfile import MappingError
from gateway.terminology.canonical import nos_id

__all__ = ["MappingError", "MirroredNos", "load_nos"]

_KINDS = frozenset({"CodeSystem", "ValueSet", "ConceptMap"})
_COLUMNS = ("name", "kind", "canonical", "why")


@dataclass(frozen=True, slots=True)
class MirroredNos:
    name: str
    kind: str
    canonical: str
    why: str
    line: int


def load_nos(path: Path) -> list[MirroredNos]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read ({exc.strerror})") from None
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise MappingError(f"{path}: no header line")
    reader = csv.reader(io.StringIO("\n".join(line for _, line in numbered)))
    rows = list(reader)
    header = tuple(h.strip() for h in rows[0])
    if header != _COLUMNS:
        raise MappingError(f"{path}:{numbered[0][0]}: header must be {','.join(_COLUMNS)}")
    out: list[MirroredNos] = []
    seen: dict[str, int] = {}
    for (line_no, _), row in zip(numbered[1:], rows[1:], strict=True):
        if len(row) != len(_COLUMNS):
            raise MappingError(f"{path}:{line_no}: expected {len(_COLUMNS)} fields, got {len(row)}")
        name, kind, canonical, why = (cell.strip() for cell in row)
        if kind not in _KINDS:
            raise MappingError(f"{path}:{line_no}: kind '{kind}' must be one of {sorted(_KINDS)}")
        if not canonical.startswith(("https://", "http://")):
            raise MappingError(f"{path}:{line_no}: canonical '{canonical}' is not a URL")
        if nos_id(canonical) != nos_id(name):
            raise MappingError(
                f"{path}:{line_no}: name '{name}' does not match canonical {canonical}"
            )
        if name in seen:
            raise MappingError(f"{path}:{line_no}: '{name}' already listed on line {seen[name]}")
        seen[name] = line_no
        out.append(MirroredNos(name, kind, canonical, why, line_no))
    return out
