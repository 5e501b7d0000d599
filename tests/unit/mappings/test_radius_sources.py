"""Where ``mappings/departement_radius.csv`` comes from: the official ANS table imported by
``scripts/import_radius_table.py`` (the density-derived comparison is in
``test_radius_density.py``)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from types import ModuleType

import pytest

from gateway.geo.communes import load_communes
from gateway.geo.earth import haversine_km
from gateway.mappings.radius import COLUMNS, DEFAULT_RADIUS_FILE, RadiusTable, load_radius_table
from tests.unit.mappings import load_script

OFFICIAL_NAME = "SAS_Rayons_zones_de_recherche_2025.csv"  # read in place, never copied
ANS_HEADER = (
    "code,label,territory name,region,area,countyRadius,barycentreCityLat,barycentreCityLon,"
    "cityDefaultRadius,enlargementValue"
)
HEADER = ",".join(COLUMNS)
OVERSEAS_KEPT = {"971", "972", "973", "974", "976"}  # where the 2025 table has zeros
DATE = "2026-01-02"
_TEXT = {"code", "label", "territory name", "region"}  # the ANS table's non-numeric columns


@pytest.fixture(scope="module")
def importer() -> ModuleType:
    return load_script("import_radius_table")


@pytest.fixture(scope="module")
def shipped() -> RadiusTable:
    return load_radius_table(DEFAULT_RADIUS_FILE)


@pytest.fixture
def official_file(reference_dir: Path) -> Path:
    path = reference_dir / "sas" / OFFICIAL_NAME
    if not path.is_file():
        pytest.skip(f"official SAS table not available ({path} is absent)")
    return path


def _shipped_text() -> str:
    return DEFAULT_RADIUS_FILE.read_text(encoding="utf-8")


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# The shipped file against the official table ------------------------------------------------


def test_the_shipped_file_is_what_the_import_script_makes(
    importer: ModuleType, official_file: Path
) -> None:
    text = _shipped_text()
    imported = re.search(r"^#   imported: (\S+)$", text, re.MULTILINE)
    assert imported is not None, "the header has no import date"
    known = load_communes().departement_codes
    built = importer.build_text(official_file, DEFAULT_RADIUS_FILE, imported.group(1), known)
    assert built == text, "re-run scripts/import_radius_table.py and commit the result"


def test_every_official_figure_is_shipped(shipped: RadiusTable, official_file: Path) -> None:
    """Parsed here without the script, so a bug in it cannot hide in both."""
    with official_file.open(encoding="utf-8", newline="") as raw:
        rows = list(csv.DictReader(raw))
    zeros = set()
    for row in rows:
        code = {"20A": "2A", "20B": "2B"}.get(row["code"], row["code"].zfill(2))
        ours = shipped.get(code)
        assert ours is not None, code
        assert ours.name == row["label"]
        figure = {k: float(v.replace(",", ".")) for k, v in row.items() if k not in _TEXT}
        if figure["cityDefaultRadius"]:
            assert ours.default_radius_km == figure["cityDefaultRadius"], code
            assert ours.enlargement_km == figure["enlargementValue"], code
        if figure["countyRadius"]:
            assert ours.county_radius_km == figure["countyRadius"], code
        if figure["barycentreCityLat"] or figure["barycentreCityLon"]:
            assert ours.barycentre_lat == figure["barycentreCityLat"], code
            assert ours.barycentre_lon == figure["barycentreCityLon"], code
        if not (figure["cityDefaultRadius"] and figure["countyRadius"]):
            zeros.add(code)
    assert len(rows) == len(shipped)
    assert zeros == OVERSEAS_KEPT  # the rows the next test checks: no zero got through


def test_rows_the_official_table_leaves_at_0_keep_usable_figures(
    importer: ModuleType, shipped: RadiusTable
) -> None:
    lines = _shipped_text().splitlines()
    comments = dict(importer.KEPT_COMMENT.findall("\n".join(lines)))
    assert set(comments) == OVERSEAS_KEPT
    communes = load_communes()
    for code in OVERSEAS_KEPT:
        row, departement = shipped.get(code), communes.departement(code)
        assert row is not None
        assert departement is not None
        assert min(row.default_radius_km, row.enlargement_km, row.county_radius_km) >= 1
        # The kept barycentre is the commune reference's, not the official (0, 0).
        where = haversine_km(
            row.barycentre_lat, row.barycentre_lon, departement.lat, departement.lon
        )
        assert where < 1.0, code
        assert lines[row.line - 2] == f"# {code} {comments[code]}"  # just above its row
        assert comments[code].startswith(f"{row.name}: ")
    for code in ("973", "976"):  # nothing official: every figure kept
        assert ": every figure is 0 in the official table" in comments[code]
    assert ": county radius and barycentre are 0 in the official" in comments["971"]


def test_the_header_names_the_source_and_its_licence() -> None:
    header = "\n".join(line for line in _shipped_text().splitlines() if line.startswith("#"))
    assert f"source:   {OFFICIAL_NAME}" in header
    assert "Agence du Numérique en Santé (ANS)" in header
    assert "licence:  MIT" in header
    assert "Copyright (c) 2022 Github de l'Agence du Numérique en Santé (ANS)" in header
    assert "Permission is hereby granted, free of charge" in header
    assert re.search(r"^#   imported: \d{4}-\d{2}-\d{2}$", header, re.MULTILINE)
    assert re.search(r"^#   sha256:   [0-9a-f]{64}$", header, re.MULTILINE)


def test_the_header_copyright_is_the_licence_file_s(reference_dir: Path) -> None:
    licence = reference_dir / "sas" / "LICENSE-IG-SAS"
    if not licence.is_file():
        pytest.skip(f"{licence} is absent")
    text = licence.read_text(encoding="utf-8")
    (copyright_line,) = [line for line in text.splitlines() if line.startswith("Copyright")]
    assert text.startswith("MIT License")
    assert copyright_line in _shipped_text()


# The import script on small tables -----------------------------------------------------------

ALPES = '4,Alpes-de-Haute-Provence,SAS-04,PACA,6996,118,"44,10611111","6,243888889",50,25'
CORSICA = '20A,Corse-du-Sud,SAS-20A,Corse,4022,109,"41,86361111","8,988055556",30,15'
GUADELOUPE = "971,Guadeloupe,SAS-971,Guadeloupe,0,0,0,0,10,5"
MAYOTTE = "976,Mayotte,SAS-976,Mayotte,0,0,0,0,0,0"
KEEP = (
    HEADER,
    "04,Alpes (old),20,10,100,44.1,6.2",
    "971,Guadeloupe,20,10,57,16.19758,-61.53991",
    "976,Mayotte,50,25,27,-12.82076,45.14744",
)


def test_codes_lose_nothing_and_decimal_commas_become_points(
    importer: ModuleType, tmp_path: Path
) -> None:
    rows = importer.read_official(_write(tmp_path / "ans.csv", ANS_HEADER, ALPES, CORSICA))
    assert [(r.departement, r.name) for r in rows] == [
        ("04", "Alpes-de-Haute-Provence"),
        ("2A", "Corse-du-Sud"),
    ]
    assert dict(rows[0].values) == {
        "default_radius_km": "50",
        "enlargement_km": "25",
        "county_radius_km": "118",
        "barycentre_lat": "44.10611111",
        "barycentre_lon": "6.243888889",
    }


def test_zero_figures_are_kept_from_the_previous_table(
    importer: ModuleType, tmp_path: Path
) -> None:
    source = _write(tmp_path / "ans.csv", ANS_HEADER, MAYOTTE, GUADELOUPE, ALPES)
    known = frozenset({"04", "971", "976"})
    text = importer.build_text(source, _write(tmp_path / "keep.csv", *KEEP), DATE, known)
    table = load_radius_table(_write(tmp_path / "out.csv", text), known)
    alpes, guadeloupe, mayotte = (table.get(c) for c in ("04", "971", "976"))
    assert alpes is not None
    assert guadeloupe is not None
    assert mayotte is not None
    assert (alpes.name, alpes.default_radius_km, alpes.county_radius_km) == (
        "Alpes-de-Haute-Provence",
        50,
        118,
    )
    # Guadeloupe: the official radius, the kept county radius and barycentre.
    assert (guadeloupe.default_radius_km, guadeloupe.enlargement_km) == (10, 5)
    assert (guadeloupe.county_radius_km, guadeloupe.barycentre_lat) == (57, 16.19758)
    assert (mayotte.default_radius_km, mayotte.county_radius_km) == (50, 27)
    lines = text.splitlines()
    assert lines[guadeloupe.line - 2].startswith("# 971 Guadeloupe: county radius and barycentre")
    assert lines[mayotte.line - 2].startswith("# 976 Mayotte: every figure is 0")
    assert not lines[alpes.line - 2].startswith("# 04")
    assert f"#   imported: {DATE}" in lines


def test_a_departement_the_official_table_lacks_is_kept_whole(
    importer: ModuleType, tmp_path: Path
) -> None:
    source = _write(tmp_path / "ans.csv", ANS_HEADER, ALPES)
    known = frozenset({"04", "976"})
    text = importer.build_text(source, _write(tmp_path / "keep.csv", *KEEP), DATE, known)
    assert "# 976 Mayotte: not in the official table; kept from the previous table" in text
    assert "\n976,Mayotte,50,25,27,-12.82076,45.14744\n" in text


@pytest.mark.parametrize(
    ("rows", "known", "message"),
    [
        ((MAYOTTE,), {"976"}, "976: no official default_radius_km"),  # nothing to keep
        (("971,Guadeloupe,SAS-971,G,0,abc,0,0,10,5",), {"971"}, "ans.csv:2: 'abc' is not a"),
        (("971,Guadeloupe,SAS,G,0,57,0,0,10,0",), {"971"}, "ans.csv:2: default_radius_km"),
        (("99,Nowhere,SAS-99,X,1,1,1,1,5,3",), {"04"}, "not in the commune reference: 99"),
    ],
)
def test_what_cannot_be_imported_is_refused(
    importer: ModuleType, tmp_path: Path, rows: tuple[str, ...], known: set[str], message: str
) -> None:
    source = _write(tmp_path / "ans.csv", ANS_HEADER, *rows)
    keep = _write(tmp_path / "keep.csv", HEADER, "04,Alpes,20,10,100,44.1,6.2")
    with pytest.raises(ValueError, match=re.escape(message)):
        importer.build_text(source, keep, DATE, frozenset(known))


def test_the_command_keeps_the_file_when_the_import_fails(
    importer: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _write(tmp_path / "out.csv", "untouched")
    good = _write(tmp_path / "good.csv", ANS_HEADER, ALPES)
    bad = _write(tmp_path / "bad.csv", ANS_HEADER, ALPES, "99,Nowhere,SAS-99,X,1,1,1,1,5,3")
    options = ["--out", str(out), "--keep-from", str(DEFAULT_RADIUS_FILE), "--date", DATE]
    assert importer.main([str(bad), *options]) == 1
    assert "not in the commune reference: 99" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "untouched\n"
    assert importer.main([str(good), *options]) == 0
    table = load_radius_table(out, load_communes().departement_codes)
    alpes = table.get("04")
    assert alpes is not None
    assert alpes.barycentre_lon == 6.243888889
    assert len(table) == len(load_communes().departement_codes)  # the others kept whole
