"""``mappings/specialty_synonyms.csv``: free-text specialties an LRM may send → NOS codes.

A text is matched after normalisation (accents, case and punctuation ignored): first the
stewards' synonyms, exactly; then approximately (rapidfuzz, through the terminology
search) against the labels of the SAS specialties value set (JDV_J239), accepted from
``MIN_FUZZY_SCORE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.mappings.codes import CodeChecker
from gateway.mappings.csvfile import Problems, read_rows
from gateway.text import normalise

COLUMNS = ("text", "nos", "code", "note")
NOS_SYSTEMS = {
    "TRE_R38": "urn:oid:1.2.250.1.213.2.28",
    "TRE_G15": "urn:oid:1.2.250.1.71.1.2.7",
}


@dataclass(frozen=True, slots=True)
class Synonym:
    text: str
    nos: str
    code: str
    note: str
    line: int

    @property
    def system(self) -> str:
        return NOS_SYSTEMS[self.nos]


class SynonymTable:
    def __init__(self, synonyms: list[Synonym], warnings: tuple[str, ...] = ()) -> None:
        self._by_key = {normalise(s.text): s for s in synonyms}
        self.warnings = warnings

    def get(self, text: str) -> Synonym | None:
        return self._by_key.get(normalise(text))

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Synonym]:
        return iter(self._by_key.values())


def load_synonyms(path: Path, codes: CodeChecker | None = None) -> SynonymTable:
    """Validated rows; ``MappingError`` lists every problem with its line number."""
    problems = Problems(path)
    found: dict[str, Synonym] = {}
    for row in read_rows(path, COLUMNS, problems):
        text, nos, code, note = (row.cells[c] for c in COLUMNS)
        key = normalise(text)
        if not key:
            problems.add(row.line, "text is empty")
            continue
        if nos not in NOS_SYSTEMS:
            problems.add(row.line, f"nos '{nos}' must be {' or '.join(NOS_SYSTEMS)}")
            continue
        if codes is not None:
            wrong, unchecked = codes.problem(nos, code), codes.unverifiable(nos, code)
            if wrong is not None:
                problems.add(row.line, wrong)
            elif unchecked is not None:
                problems.warn(row.line, unchecked)
        earlier = found.get(key)
        if earlier is not None:
            same = (earlier.nos, earlier.code) == (nos, code)
            problems.add(
                row.line,
                f"'{text}' is the same text as '{earlier.text}' on line {earlier.line}"
                + (" (a duplicate)" if same else f", which says {earlier.nos} {earlier.code}"),
            )
            continue
        found[key] = Synonym(text, nos, code, note, row.line)
    problems.raise_if_any()
    return SynonymTable(list(found.values()), tuple(problems.warnings))
