"""``mappings/lrm_authorities.csv``: the LRM/SAMU authorities allowed as INT_L01 ``origin``."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.mappings.csvfile import Problems, read_rows

COLUMNS = ("code", "label", "departement", "active", "test")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_FLAGS = {"yes": True, "no": False}


@dataclass(frozen=True, slots=True)
class Authority:
    code: str
    label: str
    departement: str
    active: bool
    test: bool
    line: int


class AuthorityList:
    """Immutable list of authorities by ``origin`` code (exact, case-sensitive)."""

    def __init__(self, authorities: Collection[Authority]) -> None:
        self._by_code = {a.code: a for a in authorities}

    def get(self, code: str) -> Authority | None:
        return self._by_code.get(code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Authority]:
        return iter(self._by_code.values())


def _flag(problems: Problems, line: int, column: str, value: str) -> bool:
    flag = _FLAGS.get(value.lower())
    if flag is None:
        problems.add(line, f"{column} must be yes or no, found '{value}'")
        return False
    return flag


def load_authorities(
    path: Path, known_departements: Collection[str] | None = None
) -> AuthorityList:
    """Validate every row (all problems reported at once, with line numbers)."""
    problems = Problems(path)
    found: dict[str, Authority] = {}
    for row in read_rows(path, COLUMNS, problems):
        code, label, departement = row.cells["code"], row.cells["label"], row.cells["departement"]
        if not _CODE.match(code):
            problems.add(
                row.line,
                f"code '{code}' must be 1 to 64 letters, digits, '-', '_' or '.', "
                "starting with a letter or digit",
            )
        if not label:
            problems.add(row.line, f"label is empty for '{code}'")
        if known_departements is not None and departement.upper() not in known_departements:
            problems.add(row.line, f"departement '{departement}' is not a known département code")
        active = _flag(problems, row.line, "active", row.cells["active"])
        test = _flag(problems, row.line, "test", row.cells["test"])
        if code in found:
            problems.add(row.line, f"code '{code}' is already listed on line {found[code].line}")
            continue
        found[code] = Authority(code, label, departement.upper(), active, test, row.line)
    problems.raise_if_any()
    return AuthorityList(found.values())
