"""Build the shipped boundary files in ``gis/data`` from the raw boundaries in ``shared/data``.

Run ``python -m gis.simplify [--source DIR] [--tolerance DEG]``.  Coordinates stay EPSG:4490 ≈ WGS-84 degrees,
(lon, lat) order.  Steps:

1. read the 2,891 county polygons; repair the invalid 659006 with ``make_valid``; remove the one overlap
   between neighbours (320703/371103) so the counties form a valid polygonal coverage;
2. ``shapely.coverage_simplify`` (Visvalingam–Whyatt on shared edges: neighbours keep one common border, no
   gaps or overlaps) with ``tolerance`` degrees, then round to 5 decimals (≈1 m);
3. map every source code to a current GB/T 2260 county code (``county_code_map.csv``): current codes stay,
   retired codes follow ``cn_admin_code_changes.csv`` to their successors, codes outside the table → none;
4. provinces are the coverage union of the simplified counties (so province and county borders agree);
5. write ``counties.geojson.gz``, ``provinces.geojson.gz``, ``cn_boundary_lines.geojson``,
   ``county_code_map.csv``, ``county_labels.csv`` and the figures in ``README.md``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.area import geodesic_areas

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_TOLERANCE = 0.003
DECIMALS = 5


def _round(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, DECIMALS))


def _polygonal(geom: BaseGeometry) -> shapely.MultiPolygon:
    return shapely.MultiPolygon([p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)])


def _feature_collection(features: Iterable[dict[str, Any]]) -> bytes:
    doc = {"type": "FeatureCollection", "features": list(features)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _feature(props: dict[str, Any], geom: BaseGeometry) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))}


def _write_gz(path: Path, payload: bytes) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    path.write_bytes(buf.getvalue())


def current_county_codes(divisions_csv: Path) -> dict[str, dict[str, str]]:
    """Rows of the current division list that a county-level service covers (county_equivalent = 1)."""
    with divisions_csv.open(encoding="utf-8") as fh:
        return {r["adcode"]: r for r in csv.DictReader(fh) if r["county_equivalent"] == "1"}


def successor_map(changes_csv: Path, current: set[str]) -> dict[str, tuple[str, str]]:
    """Retired code → (current successor, note) following code changes from the newest backwards."""
    direct: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    with changes_csv.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            old, new = r["old_adcode"], r["new_adcode"]
            if old and new and old != new:
                direct[old].append((int(r["year"]), new, f"{r['year']} {r['type']} {r['doc_no']}".strip()))
    out: dict[str, tuple[str, str]] = {}
    for old in direct:
        code, note, seen = old, "", {old}
        while code not in current and direct.get(code):
            _, nxt, why = max(direct[code])
            if nxt in seen:
                break
            seen.add(nxt)
            code, note = nxt, why
        if code in current and code != old:
            out[old] = (code, note)
    return out


def build(source: Path, out_dir: Path, tolerance: float) -> dict[str, Any]:
    """Write the shipped files; return the figures recorded in README.md."""
    raw_path = source / "cn_county_boundaries.geojson"
    raw = json.loads(raw_path.read_text(encoding="utf-8"))
    props = [f["properties"] for f in raw["features"]]
    codes = [p["adcode"] for p in props]
    geoms = np.array([shape(f["geometry"]) for f in raw["features"]], dtype=object)
    invalid = [codes[i] for i in np.nonzero(~shapely.is_valid(geoms))[0]]
    for i in np.nonzero(~shapely.is_valid(geoms))[0]:
        geoms[i] = shapely.make_valid(geoms[i])
    # the one overlap between neighbours goes to the first feature of the pair
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="overlaps")
    overlaps = []
    for i, j in zip(left, right, strict=True):
        if i < j:
            overlaps.append((codes[i], codes[j]))
            geoms[j] = shapely.make_valid(shapely.difference(geoms[j], geoms[i]))
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    simplified = _round(shapely.coverage_simplify(geoms, tolerance))
    simplified = np.array([g if g.is_valid else shapely.make_valid(g) for g in simplified], dtype=object)

    divisions = current_county_codes(source / "cn_admin_divisions.csv")
    successors = successor_map(source / "cn_admin_code_changes.csv", set(divisions))
    code_rows = []
    current_codes: list[str | None] = []
    for p in props:
        src = p["adcode"]
        if src in divisions:
            cur: str | None = src
            rule = "current"
        elif src in successors:
            cur, why = successors[src]
            rule = f"successor ({why})"
        else:
            cur, rule = None, "outside the GB/T 2260 county table"
        current_codes.append(cur)
        code_rows.append({"source_adcode": src, "source_name": p["name"], "adcode": cur or "",
                          "name": divisions[cur]["name"] if cur else "", "rule": rule})

    features = [
        _feature({"adcode": cur, "source_adcode": p["adcode"], "name": p["name"],
                  "province_adcode": p["province_adcode"]}, g)
        for p, cur, g in zip(props, current_codes, simplified, strict=True)
    ]
    counties_path = out_dir / "counties.geojson.gz"
    counties_bytes = _feature_collection(features)
    _write_gz(counties_path, counties_bytes)

    by_province: dict[str, list[int]] = defaultdict(list)
    for n, p in enumerate(props):
        by_province[p["province_adcode"]].append(n)
    with (source / "cn_admin_divisions.csv").open(encoding="utf-8") as fh:
        province_names = {r["adcode"]: r["name"] for r in csv.DictReader(fh) if r["level"] == "province"}
    province_features = []
    for code in sorted(by_province):
        union = shapely.coverage_union_all(simplified[by_province[code]])
        province_features.append(_feature({"adcode": code, "name": province_names.get(code, "")}, union))
    provinces_path = out_dir / "provinces.geojson.gz"
    _write_gz(provinces_path, _feature_collection(province_features))

    lines = json.loads((source / "cn_boundary_lines.geojson").read_text(encoding="utf-8"))
    line_geoms = _round(np.array([shape(f["geometry"]) for f in lines["features"]], dtype=object))
    lines_path = out_dir / "cn_boundary_lines.geojson"
    lines_path.write_bytes(_feature_collection(
        _feature(f["properties"], g) for f, g in zip(lines["features"], line_geoms, strict=True)))

    with (out_dir / "county_code_map.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["source_adcode", "source_name", "adcode", "name", "rule"])
        writer.writeheader()
        writer.writerows(sorted(code_rows, key=lambda r: r["source_adcode"]))
    with (out_dir / "county_labels.csv").open("w", encoding="utf-8", newline="") as fh:
        label_writer = csv.writer(fh)
        label_writer.writerow(["adcode", "name", "label_lng", "label_lat", "has_polygon"])
        for code, r in sorted(divisions.items()):
            label_writer.writerow([code, r["name"], r["label_lng"], r["label_lat"], r["has_polygon"]])

    # figures
    before = geodesic_areas(geoms)
    after = geodesic_areas(simplified)
    rel = np.abs(after - before) / before
    worst = np.argsort(-rel)[:5]
    poly_of: dict[str, list[BaseGeometry]] = defaultdict(list)
    for cur, g in zip(current_codes, simplified, strict=True):
        if cur:
            poly_of[cur].append(g)
    label_fail = []
    labelled = 0
    for code, r in sorted(divisions.items()):
        if not r["label_lng"]:
            continue
        labelled += 1
        pt = shapely.Point(float(r["label_lng"]), float(r["label_lat"]))
        if not any(g.covers(pt) for g in poly_of.get(code, [])):
            label_fail.append(code)
    return {
        "tolerance": tolerance,
        "invalid_fixed": invalid,
        "overlaps_removed": overlaps,
        "counties": len(features),
        "vertices_before": int(shapely.get_num_coordinates(geoms).sum()),
        "vertices_after": int(shapely.get_num_coordinates(simplified).sum()),
        "raw_bytes": raw_path.stat().st_size,
        "counties_json_bytes": len(counties_bytes),
        "counties_gz_bytes": counties_path.stat().st_size,
        "provinces_gz_bytes": provinces_path.stat().st_size,
        "lines_bytes": lines_path.stat().st_size,
        "coverage_valid": bool(shapely.coverage_is_valid(simplified)),
        "max_area_change": [(codes[i], props[i]["name"], float(rel[i])) for i in worst],
        "median_area_change": float(np.median(rel)),
        "labelled": labelled,
        "label_fail": label_fail,
        "unmapped": [(r["source_adcode"], r["source_name"]) for r in code_rows if not r["adcode"]],
        "successors": [(r["source_adcode"], r["adcode"], r["rule"]) for r in code_rows
                       if r["rule"].startswith("successor")],
        "no_polygon": sorted(set(divisions) - set(poly_of)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    args = parser.parse_args(argv)
    figures = build(args.source, args.out, args.tolerance)
    print(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
