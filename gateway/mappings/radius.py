"""``mappings/departement_radius.csv``: the SAS default search radii per département.

DESIGN.md §2: a search without a radius uses its département's default radius (and its
enlargement step); a département-wide search, the barycentre and the county radius.
The official SAS values, imported from the ANS table by ``scripts/import_radius_table.py``,
adjusted by data stewards (often in a French spreadsheet: decimal commas are accepted).
Every problem of a file is reported at once with its line number (comment and blank lines
count, as in the steward's editor).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from gateway.mappings.csvfile import MappingError, Problems, read_rows
from gateway.settings import DEFAULT_MAPPINGS_DIR

DEFAULT_RADIUS_FILE = DEFAULT_MAPPINGS_DIR / "departement_radius.csv"
COLUMNS = (
    "departement",
    "name",
    "default_radius_km",
    "enlargement_km",
    "county_radius_km",
    "barycentre_lat",
    "barycentre_lon",
)
#: Numeric column -> (lowest, highest, unit shown in messages).
_RANGES: dict[str, tuple[float, float, str]] = {
    "default_radius_km": (1.0, 200.0, " km"),
    "enlargement_km": (1.0, 200.0, " km"),
    "county_radius_km": (1.0, 500.0, " km"),
    "barycentre_lat": (-90.0, 90.0, "°"),
    "barycentre_lon": (-180.0, 180.0, "°"),
}
_NUMBER = re.compile(r"^[+-]?[0-9]+(?:[.,][0-9]+)?$")
_CODE = re.compile(r"^(?:0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$")


@dataclass(frozen=True, slots=True)
class DepartementRadius:
    departement: str
    name: str
    default_radius_km: float
    enlargement_km: float
    county_radius_km: float
    barycentre_lat: float
    barycentre_lon: float
    line: int


def default_radius(
    row: DepartementRadius | None, fallback_km: float, *, county: bool = False
) -> float:
    """The radius a search takes when none is asked: its département's default (the county
    radius for a département-level search), else ``fallback_km`` (no row for it)."""
    if row is None:
        return fallback_km
    return row.county_radius_km if county else row.default_radius_km


class RadiusTable:
    """Immutable table of radii by département code (``"75"``, ``"2A"``, ``"971"``)."""

    __slots__ = ("_by_code",)
    _by_code: Mapping[str, DepartementRadius]

    def __init__(self, rows: Collection[DepartementRadius]) -> None:
        object.__setattr__(self, "_by_code", MappingProxyType({r.departement: r for r in rows}))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("RadiusTable is immutable")

    def get(self, departement: str) -> DepartementRadius | None:
        return self._by_code.get(departement.strip().upper())

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[DepartementRadius]:
        return iter(self._by_code.values())

    def __repr__(self) -> str:
        return f"RadiusTable({len(self)} départements)"


def _number(problems: list[str], where: str, column: str, raw: str) -> float | None:
    """The value of a numeric cell (decimal point or comma), or None after a problem."""
    if not _NUMBER.match(raw):
        shown = f"'{raw}'" if raw else "empty"
        problems.append(f"{where}: {column} is {shown}, not a number (e.g. 20 or 47,5)")
        return None
    value = float(raw.replace(",", "."))
    low, high, unit = _RANGES[column]
    if not low <= value <= high:
        problems.append(f"{where}: {column} is {raw}, not between {low:g} and {high:g}{unit}")
        return None
    return value


def _row(
    problems: list[str],
    where: str,
    line: int,
    cells: dict[str, str],
    known_departements: Collection[str] | None,
) -> DepartementRadius | None:
    problems_before = len(problems)
    code = cells["departement"].upper()
    if not _CODE.match(code):
        problems.append(
            f"{where}: departement '{cells['departement']}' is not a département code "
            "(two digits such as 01 or 75, 2A, 2B, or 971 to 978)"
        )
    elif known_departements is not None and code not in known_departements:
        problems.append(f"{where}: departement '{code}' is not in the commune reference")
    if not cells["name"]:
        problems.append(f"{where}: name is empty")
    numbers: dict[str, float] = {}
    for column in _RANGES:
        value = _number(problems, where, column, cells[column])
        if value is not None:
            numbers[column] = value
    radius, step = numbers.get("default_radius_km"), numbers.get("enlargement_km")
    if radius is not None and step is not None and step > radius:
        problems.append(
            f"{where}: enlargement_km ({cells['enlargement_km']}) is larger than "
            f"default_radius_km ({cells['default_radius_km']}); it must not exceed it"
        )
    if len(problems) != problems_before:
        return None
    return DepartementRadius(
        code,
        cells["name"],
        numbers["default_radius_km"],
        numbers["enlargement_km"],
        numbers["county_radius_km"],
        numbers["barycentre_lat"],
        numbers["barycentre_lon"],
        line,
    )


def load_radius_table(path: Path, known_departements: Collection[str] | None = None) -> RadiusTable:
    """Read and validate ``path``; raise one ``MappingError`` listing every problem.

    ``known_departements``: the codes of the commune reference; when given, any other
    code is refused.
    """
    known = None if known_departements is None else frozenset(known_departements)
    problems = Problems(path)
    found: list[DepartementRadius] = []
    first_line: dict[str, int] = {}
    for row in read_rows(path, COLUMNS, problems):
        where = problems.where(row.line)
        code = row.cells["departement"].upper()
        if code in first_line:
            problems.messages.append(
                f"{where}: departement '{code}' is already listed on line {first_line[code]}"
            )
            continue
        first_line[code] = row.line
        radius = _row(problems.messages, where, row.line, row.cells, known)
        if radius is not None:
            found.append(radius)
    problems.raise_if_any()
    return RadiusTable(found)


if __name__ == "__main__":  # python -m gateway.mappings.radius [FILE]: a steward's check
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RADIUS_FILE
    try:
        print(f"{target}: {len(load_radius_table(target))} départements, no problem found")
    except MappingError as exc:
        sys.exit(str(exc))
