"""Reading the steward-maintained CSV files: ``#`` comment lines, one header, numbered rows.

Hand-written over :mod:`csv`: the files are small, comments and blank lines must keep
their line numbers (stewards read the errors against their editor), and every problem of
a file is collected so that one check run reports them all.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


class MappingError(ValueError):
    """A mappings file is invalid; the message names the file and line of every problem."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    cells: dict[str, str]


@dataclass(slots=True)
class Problems:
    """Problems found in one file, each prefixed with ``path:line:``."""

    path: Path
    messages: list[str] = field(default_factory=list)
    #: Worth a look but not blocking (e.g. a NOS not in the snapshot yet).
    warnings: list[str] = field(default_factory=list)

    def where(self, line: int | None) -> str:
        return f"{self.path}:{line}" if line is not None else str(self.path)

    def add(self, line: int | None, message: str) -> None:
        self.messages.append(f"{self.where(line)}: {message}")

    def warn(self, line: int | None, message: str) -> None:
        self.warnings.append(f"{self.where(line)}: {message}")

    def raise_if_any(self) -> None:
        if self.messages:
            raise MappingError("\n".join(self.messages))


def _cells(line: str) -> list[str]:
    """The fields of one line; an unbalanced quote is an error, not a multi-line field."""
    if line.count('"') % 2:
        raise csv.Error("unbalanced double quote")
    if any(ord(ch) < 32 and ch != "\t" for ch in line):
        raise csv.Error("it contains an invisible control character")
    return next(csv.reader([line], strict=True), [])


def read_rows(path: Path, columns: Sequence[str], problems: Problems) -> list[Row]:
    """Rows of ``path`` keyed by ``columns`` (the exact header), cells stripped.

    Raises ``MappingError`` at once for an unreadable file or a wrong header; rows with the
    wrong number of fields are added to ``problems`` and skipped, so the caller reports
    them together with the problems it finds in the other rows.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(None, f"cannot read the file ({exc})")
        problems.raise_if_any()
    return parse_rows(text, columns, problems)


def _numbered(text: str) -> list[tuple[int, str]]:
    return [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def header_of(text: str) -> tuple[int, tuple[str, ...]] | None:
    """The line number and stripped names of the header (the first line that is not a
    comment), ``()`` for a line that is not CSV; None when there is no such line. For a
    file whose optional columns the caller checks before ``parse_rows``."""
    numbered = _numbered(text)
    if not numbered:
        return None
    try:
        return numbered[0][0], tuple(h.strip() for h in _cells(numbered[0][1]))
    except csv.Error:
        return numbered[0][0], ()


def parse_rows(text: str, columns: Sequence[str], problems: Problems) -> list[Row]:
    """``read_rows`` on the text of a file already read (the caller also hashes it)."""
    numbered = _numbered(text)
    if not numbered:
        problems.add(None, f"no header line; the first line must be {','.join(columns)}")
        problems.raise_if_any()
    # One line at a time: a stray quote must not swallow the lines after it.
    try:
        header = tuple(h.strip() for h in _cells(numbered[0][1]))
    except csv.Error:
        header = ()
    if header != tuple(columns):
        hint = " (separated by commas, not semicolons)" if ";" in numbered[0][1] else ""
        problems.add(numbered[0][0], f"the header must be exactly {','.join(columns)}{hint}")
        problems.raise_if_any()
    rows: list[Row] = []
    for line_no, line in numbered[1:]:
        try:
            cells = _cells(line)
        except csv.Error as exc:
            problems.add(line_no, f"this line cannot be read as CSV ({exc})")
            continue
        if len(cells) != len(columns):
            hint = ' (a decimal comma needs quotes: "47,5")' if len(cells) > len(columns) else ""
            problems.add(
                line_no,
                f"expected {len(columns)} fields ({','.join(columns)}), found {len(cells)}{hint}",
            )
            continue
        rows.append(Row(line_no, {c: v.strip() for c, v in zip(columns, cells, strict=True)}))
    return rows
