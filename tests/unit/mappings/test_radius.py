"""``mappings/departement_radius.csv``: the committed file and its validation.

Where its figures come from (the official ANS table, the density-derived comparison) is
tested in ``test_radius_sources.py``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import msgspec
import pytest

from gateway.geo.communes import DATA_FILE, CommuneFile, load_communes
from gateway.mappings.csvfile import MappingError
from gateway.mappings.radius import (
    COLUMNS,
    DEFAULT_RADIUS_FILE,
    DepartementRadius,
    RadiusTable,
    load_radius_table,
)

SAS_SCALE = (5, 10, 20, 30, 40, 50)
HEADER = ",".join(COLUMNS)
PARIS = "75,Paris,5,3,14,48.85659,2.34292"
LOZERE = "48,Lozère,50,25,102,44.51674,3.49995"


@pytest.fixture(scope="module")
def departements() -> frozenset[str]:
    """Every département code of the commune reference."""
    raw = gzip.decompress(DATA_FILE.read_bytes())
    codes = frozenset(d.code for d in msgspec.json.decode(raw, type=CommuneFile).departements)
    index = load_communes()
    assert all(index.departement(code) is not None for code in codes)
    return codes


@pytest.fixture(scope="module")
def table(departements: frozenset[str]) -> RadiusTable:
    return load_radius_table(DEFAULT_RADIUS_FILE, departements)


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "departement_radius.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _problems(path: Path, known: frozenset[str] | None = None) -> list[str]:
    with pytest.raises(MappingError) as caught:
        load_radius_table(path, known)
    return str(caught.value).splitlines()


# The committed file ------------------------------------------------------------------------


def test_the_committed_file_covers_every_departement(
    table: RadiusTable, departements: frozenset[str]
) -> None:
    assert len(departements) >= 96  # metropolitan France, Corsica split in 2A/2B
    assert {"2A", "2B", "971", "972", "974"} <= departements
    assert {row.departement for row in table} == departements
    assert len(table) == len(departements)


def test_paris_has_the_smallest_radius_and_lozere_the_widest(table: RadiusTable) -> None:
    # The SAS's own anchors of its scale, checked even without ../shared (the whole table is
    # compared with the official one in test_radius_sources.py).
    paris, lozere = table.get("75"), table.get("48")
    assert paris is not None
    assert lozere is not None
    assert (paris.default_radius_km, paris.enlargement_km) == (5, 3)
    assert paris.default_radius_km == min(row.default_radius_km for row in table)
    assert (lozere.default_radius_km, lozere.enlargement_km) == (50, 25)
    assert lozere.default_radius_km == max(row.default_radius_km for row in table)
    for inner in ("92", "93", "94"):  # petite couronne
        row = table.get(inner)
        assert row is not None
        assert row.default_radius_km == 5
    assert paris.barycentre_lat == pytest.approx(48.8567, abs=0.01)
    assert paris.barycentre_lon == pytest.approx(2.3422, abs=0.01)
    assert paris.county_radius_km == 14


def test_every_value_is_on_the_sas_scale(table: RadiusTable) -> None:
    for row in table:
        assert row.default_radius_km in SAS_SCALE, row
        assert row.enlargement_km == -(-row.default_radius_km // 2), row


def test_lookup_normalises_the_code_and_the_table_is_immutable(table: RadiusTable) -> None:
    corsica = table.get(" 2a ")
    assert corsica is not None
    assert corsica.departement == "2A"
    assert table.get("99") is None
    with pytest.raises(AttributeError):
        table._by_code = {}


# Validation --------------------------------------------------------------------------------


def test_a_valid_file_loads_with_line_numbers_counting_comments(tmp_path: Path) -> None:
    path = _write(tmp_path, "# comment", "", HEADER, "# another", PARIS, "", LOZERE)
    table = load_radius_table(path, frozenset({"75", "48"}))
    assert [(row.departement, row.line) for row in table] == [("75", 5), ("48", 7)]
    assert table.get("75") == DepartementRadius("75", "Paris", 5.0, 3.0, 14.0, 48.85659, 2.34292, 5)


def test_a_decimal_comma_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, '75,Paris,"7,5",3,"14,2","48,85659","2,34292"')
    row = load_radius_table(path).get("75")
    assert row is not None
    assert (row.default_radius_km, row.county_radius_km) == (7.5, 14.2)
    assert (row.barycentre_lat, row.barycentre_lon) == (48.85659, 2.34292)


def test_an_unquoted_decimal_comma_is_explained(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, "75,Paris,7,5,3,14,48.85659,2.34292")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:2: expected 7 fields")
    assert "quotes" in problem


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("977,Saint-Barthélemy,10,5,10,17.9,-62.8", "'977' is not in the commune reference"),
        ("1,Ain,20,10,107,46.1,5.3", "'1' is not a département code"),
        ("75,Paris,-5,3,14,48.85,2.34", "default_radius_km is -5, not between 1 and 200 km"),
        ("75,Paris,5,3,0,48.85,2.34", "county_radius_km is 0, not between 1 and 500 km"),
        ("75,Paris,5,3,14,95,2.34", "barycentre_lat is 95, not between -90 and 90°"),
        ("75,Paris,five,3,14,48.85,2.34", "default_radius_km is 'five', not a number"),
        ("75,Paris,5,3,14,nan,2.34", "barycentre_lat is 'nan', not a number"),
        ("75,Paris,5,,14,48.85,2.34", "enlargement_km is empty, not a number"),
        ("75,Paris,5,8,14,48.85,2.34", "enlargement_km (8) is larger than default_radius_km (5)"),
        ("75,,5,3,14,48.85,2.34", "name is empty"),
    ],
)
def test_a_broken_row_is_rejected_with_its_line(tmp_path: Path, row: str, expected: str) -> None:
    path = _write(tmp_path, "# comment", HEADER, LOZERE, row)
    (problem,) = _problems(path, frozenset({"01", "48", "75"}))
    assert problem.startswith(f"{path}:4: ")
    assert expected in problem


def test_a_duplicate_departement_names_the_first_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, PARIS, LOZERE, PARIS.replace(",5,3,", ",10,5,"))
    (problem,) = _problems(path)
    assert problem == f"{path}:4: departement '75' is already listed on line 2"


@pytest.mark.parametrize(
    "header",
    [
        HEADER.replace("enlargement_km", "enlargement"),
        HEADER.replace(",barycentre_lon", ""),
        "code,label,area,countyRadius",
    ],
)
def test_a_wrong_header_is_rejected(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path, "# comment", "", header, PARIS)
    (problem,) = _problems(path)
    assert problem == f"{path}:3: the header must be exactly {HEADER}"


def test_a_semicolon_separated_file_is_explained(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER.replace(",", ";"), PARIS.replace(",", ";"))
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:1: the header must be exactly {HEADER}")
    assert "not semicolons" in problem


def test_a_missing_field_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, "75,Paris,5,3,14,48.85659")
    assert _problems(path) == [
        f"{path}:2: expected 7 fields ({HEADER}), found 6",
    ]


def test_an_empty_or_missing_file_is_rejected(tmp_path: Path) -> None:
    empty = _write(tmp_path, "# only comments")
    assert _problems(empty) == [f"{empty}: no header line; the first line must be {HEADER}"]
    (problem,) = _problems(tmp_path / "missing.csv")
    assert problem.startswith(f"{tmp_path / 'missing.csv'}: cannot read the file")


def test_every_problem_of_a_file_is_reported_together(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "# comment",
        HEADER,
        "75,Paris,abc,3,14,48.85,2.34",  # line 3
        LOZERE,
        "977,Saint-Barthélemy,10,5,10,17.9,-62.8",  # line 5
        "48,Lozère,50,60,102,44.5,3.5",  # line 6: duplicate
        "23,Creuse,50,60,-1,44.5,3.5",  # line 7: two problems
    )
    problems = _problems(path, frozenset({"23", "48", "75"}))
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"{path}:3",
        f"{path}:5",
        f"{path}:6",
        f"{path}:7",
        f"{path}:7",
    ]
    assert "county_radius_km is -1" in problems[3]
    assert "enlargement_km (60) is larger" in problems[4]
