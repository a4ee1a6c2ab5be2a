"""Import and export plot boundaries: GeoJSON, KML, GPX, CSV of vertices, and the field kit's GPS walk.

Every reader takes the file content and the ``source_crs`` it was captured in (``"wgs84"``, ``"gcj02"``,
``"bd09"``, ``"cgcs2000"``) and returns ``Feature`` objects whose geometries are WGS-84 degrees, (lon, lat).
KML and GeoJSON are defined as WGS-84 lon/lat; pass another ``source_crs`` only when a tool wrote, say,
GCJ-02 coordinates into them anyway (AMap exports do).  XML is parsed with ``defusedxml``.

Writers take WGS-84 features and produce GeoJSON (RFC 7946), KML 2.2 and CSV with a WKT column (UTF-8 with
a byte-order mark so that Excel on Chinese Windows reads it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np
import shapely
from defusedxml import ElementTree as SafeET
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from gis.area import geodesic_area, m2_to_hectares, m2_to_mu
from gis.crs import check_crs, convert_geometry


class FormatError(ValueError):
    """A file that cannot be read as the format it claims; ``detail`` says where."""

    def __init__(self, fmt: str, detail: str) -> None:
        super().__init__(f"{fmt}: {detail}")
        self.format = fmt
        self.detail = detail


@dataclass
class Feature:
    """A geometry in WGS-84 lon/lat degrees with its attributes."""

    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


def _to_wgs84(features: list[Feature], source_crs: str) -> list[Feature]:
    crs = check_crs(source_crs)
    for f in features:
        f.geometry = convert_geometry(f.geometry, crs, "wgs84")
    return features


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8-sig")
    return data.lstrip("\ufeff")


def _ring_polygon(coords: Sequence[Sequence[float]]) -> Polygon:
    """A polygon from an open or closed vertex sequence (lon, lat)."""
    pts = [tuple(c[:2]) for c in coords]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if len(pts) < 3:
        raise ValueError("fewer than 3 vertices")
    return Polygon(pts)


# ---------------------------------------------------------------- GeoJSON


def read_geojson(data: str | bytes, source_crs: str = "wgs84") -> list[Feature]:
    """Features of a GeoJSON FeatureCollection, Feature or bare geometry, converted to WGS-84."""
    try:
        doc = json.loads(_text(data))
    except json.JSONDecodeError as exc:
        raise FormatError("geojson", str(exc)) from exc
    if not isinstance(doc, dict) or "type" not in doc:
        raise FormatError("geojson", "not a GeoJSON object")
    items: list[Mapping[str, Any]]
    if doc["type"] == "FeatureCollection":
        items = doc.get("features", [])
    elif doc["type"] == "Feature":
        items = [doc]
    else:
        items = [{"type": "Feature", "geometry": doc, "properties": {}}]
    features = []
    for n, item in enumerate(items):
        if not item.get("geometry"):
            continue
        try:
            geom = shape(item["geometry"])
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise FormatError("geojson", f"feature {n}: {exc}") from exc
        fid = item.get("id")
        features.append(Feature(geom, dict(item.get("properties") or {}), None if fid is None else str(fid)))
    return _to_wgs84(features, source_crs)


def write_geojson(features: Iterable[Feature], *, with_area: bool = True) -> str:
    """An RFC 7946 FeatureCollection (WGS-84 lon/lat); adds area_m2/area_mu/area_ha when ``with_area``."""
    out = []
    for f in features:
        props = dict(f.properties)
        if with_area:
            props.update(_area_fields(f.geometry))
        item: dict[str, Any] = {"type": "Feature", "geometry": json.loads(shapely.to_geojson(f.geometry)),
                                "properties": props}
        if f.id is not None:
            item["id"] = f.id
        out.append(item)
    return json.dumps({"type": "FeatureCollection", "features": out}, ensure_ascii=False)


def _area_fields(geom: BaseGeometry) -> dict[str, float]:
    m2 = geodesic_area(geom)
    return {"area_m2": round(m2, 2), "area_mu": round(m2_to_mu(m2), 4),
            "area_ha": round(m2_to_hectares(m2), 6)}


# ---------------------------------------------------------------- KML

KML_NS = "http://www.opengis.net/kml/2.2"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el.iter() if _local(c.tag) == name]


def _kml_coords(el: Element | None) -> list[tuple[float, float]]:
    if el is None or not el.text:
        return []
    pts = []
    for token in el.text.split():
        parts = token.split(",")
        if len(parts) < 2:
            raise FormatError("kml", f"bad coordinate {token!r}")
        pts.append((float(parts[0]), float(parts[1])))
    return pts


def _first(el: Element, name: str) -> Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _kml_geometries(placemark: Element) -> list[BaseGeometry]:
    geoms: list[BaseGeometry] = []
    for poly in _children(placemark, "Polygon"):
        outer = _first(poly, "outerBoundaryIs")
        if outer is None:
            continue
        shell = _kml_coords(_first(outer, "coordinates"))
        holes = [_kml_coords(_first(inner, "coordinates")) for inner in _children(poly, "innerBoundaryIs")]
        geoms.append(Polygon(shell, [h for h in holes if len(h) >= 4]))
    for line in _children(placemark, "LineString"):
        pts = _kml_coords(_first(line, "coordinates"))
        if len(pts) >= 3:  # a walked boundary stored as a line
            geoms.append(_ring_polygon(pts))
    for point in _children(placemark, "Point"):
        pts = _kml_coords(_first(point, "coordinates"))
        if pts:
            geoms.append(Point(pts[0]))
    return geoms


def _parse_xml(data: str | bytes, fmt: str) -> Element:
    try:
        root: Element = SafeET.fromstring(data.encode("utf-8") if isinstance(data, str) else data)
    except Exception as exc:  # defusedxml raises ParseError and its own DTD/entity errors
        raise FormatError(fmt, f"unreadable XML: {exc}") from exc
    return root


def read_kml(data: str | bytes, source_crs: str = "wgs84") -> list[Feature]:
    """Placemarks of a KML document: Polygons (with holes), closed LineStrings as polygons, and Points.

    A Placemark holding several polygons (MultiGeometry) becomes one MultiPolygon feature.
    """
    root = _parse_xml(data, "kml")
    features = []
    for pm in _children(root, "Placemark"):
        geoms = _kml_geometries(pm)
        if not geoms:
            continue
        polys = [g for g in geoms if isinstance(g, Polygon)]
        if len(polys) > 1:
            geom: BaseGeometry = shapely.MultiPolygon(polys)
        else:
            geom = polys[0] if polys else geoms[0]
        props: dict[str, Any] = {}
        for key in ("name", "description"):
            el = next((c for c in pm if _local(c.tag) == key), None)
            if el is not None and el.text:
                props[key] = el.text.strip()
        for data_el in _children(pm, "Data"):
            value = _first(data_el, "value")
            props[data_el.get("name", "")] = value.text if value is not None else None
        for simple in _children(pm, "SimpleData"):
            props[simple.get("name", "")] = simple.text
        features.append(Feature(geom, props, pm.get("id")))
    return _to_wgs84(features, source_crs)


def _kml_ring(coords: Iterable[Sequence[float]]) -> str:
    return " ".join(f"{x:.7f},{y:.7f},0" for x, y, *_ in coords)


def _kml_geometry(geom: BaseGeometry) -> str:
    if isinstance(geom, Polygon):
        inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{_kml_ring(r.coords)}</coordinates>"
                        f"</LinearRing></innerBoundaryIs>" for r in geom.interiors)
        return (f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_kml_ring(geom.exterior.coords)}"
                f"</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>")
    if isinstance(geom, Point):
        return f"<Point><coordinates>{geom.x:.7f},{geom.y:.7f},0</coordinates></Point>"
    if isinstance(geom, shapely.LineString):
        return f"<LineString><coordinates>{_kml_ring(geom.coords)}</coordinates></LineString>"
    parts = getattr(geom, "geoms", None)
    if parts is not None:
        return "<MultiGeometry>" + "".join(_kml_geometry(g) for g in parts) + "</MultiGeometry>"
    raise TypeError(f"cannot write {geom.geom_type} to KML")


def _xml_escape(value: object) -> str:
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def write_kml(features: Iterable[Feature], *, name: str = "plots", name_field: str = "name") -> str:
    """A KML 2.2 document with one Placemark per feature; attributes and areas go into ExtendedData."""
    marks = []
    for f in features:
        props = {**f.properties, **_area_fields(f.geometry)}
        label = props.get(name_field, f.id or "")
        data = "".join(f'<Data name="{_xml_escape(k)}"><value>{_xml_escape(v)}</value></Data>'
                       for k, v in props.items() if v is not None)
        ident = f' id="{_xml_escape(f.id)}"' if f.id is not None else ""
        marks.append(f"<Placemark{ident}><name>{_xml_escape(label)}</name>"
                     f"<ExtendedData>{data}</ExtendedData>{_kml_geometry(f.geometry)}</Placemark>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="{KML_NS}"><Document>'
            f"<name>{_xml_escape(name)}</name>{''.join(marks)}</Document></kml>\n")


# ---------------------------------------------------------------- GPX


def _gpx_points(parent: Element, tag: str) -> list[tuple[float, float]]:
    pts = []
    for el in parent.iter():
        if _local(el.tag) == tag:
            try:
                pts.append((float(el.attrib["lon"]), float(el.attrib["lat"])))
            except (KeyError, ValueError) as exc:
                raise FormatError("gpx", f"{tag} without a numeric lat/lon") from exc
    return pts


def read_gpx(
    data: str | bytes, source_crs: str = "wgs84", *, waypoints_as_boundary: bool = True
) -> list[Feature]:
    """Boundaries from a GPX file: each track (all its segments) and each route becomes a polygon, and the
    waypoints, in file order, become one polygon (when there are 3 or more and ``waypoints_as_boundary``).

    Properties: ``name`` (when the track has one) and ``source`` (``trk``, ``rte`` or ``wpt``).
    """
    root = _parse_xml(data, "gpx")
    features = []
    for kind, point_tag in (("trk", "trkpt"), ("rte", "rtept")):
        for el in root:
            if _local(el.tag) != kind:
                continue
            pts = _gpx_points(el, point_tag)
            name_el = next((c for c in el if _local(c.tag) == "name"), None)
            props: dict[str, Any] = {"source": kind}
            if name_el is not None and name_el.text:
                props["name"] = name_el.text.strip()
            if len(pts) >= 3:
                features.append(Feature(_ring_polygon(pts), props))
    if waypoints_as_boundary:
        wpts = [(float(el.attrib["lon"]), float(el.attrib["lat"])) for el in root if _local(el.tag) == "wpt"]
        if len(wpts) >= 3:
            features.append(Feature(_ring_polygon(wpts), {"source": "wpt"}))
    return _to_wgs84(features, source_crs)


# ---------------------------------------------------------------- CSV

LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
GROUP_NAMES = ("plot_id", "id", "plot", "地块", "地块编号")
ORDER_NAMES = ("seq", "order", "vertex", "序号")


def _column(header: Sequence[str], wanted: str | None, names: Sequence[str]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    if wanted is not None:
        if wanted not in header:
            raise FormatError("csv", f"no column {wanted!r}")
        return wanted
    return next((lowered[n] for n in names if n in lowered), None)


def read_csv_vertices(
    data: str | bytes,
    source_crs: str = "wgs84",
    *,
    lon_column: str | None = None,
    lat_column: str | None = None,
    group_column: str | None = None,
) -> list[Feature]:
    """Polygons from a CSV with one vertex per row: lon/lat columns (found by common names such as
    ``lon``/``lng``/``经度`` unless given), optionally a plot id column (one polygon per id, in first-seen
    order) and a ``seq`` column ordering the vertices.  A UTF-8 BOM is accepted.
    """
    reader = csv.DictReader(io.StringIO(_text(data)))
    header = reader.fieldnames or []
    lon_c = _column(header, lon_column, LON_NAMES)
    lat_c = _column(header, lat_column, LAT_NAMES)
    if lon_c is None or lat_c is None:
        raise FormatError("csv", f"no lon/lat columns in {header}")
    group_c = _column(header, group_column, GROUP_NAMES)
    order_c = _column(header, None, ORDER_NAMES)
    groups: dict[str, list[tuple[float, float, float]]] = {}
    for n, row in enumerate(reader, start=2):
        try:
            x, y = float(row[lon_c]), float(row[lat_c])
            order = float(row[order_c]) if order_c and row.get(order_c) not in (None, "") else float(n)
        except (TypeError, ValueError) as exc:
            raise FormatError("csv", f"line {n}: not a number") from exc
        key = row[group_c] if group_c else ""
        groups.setdefault(key, []).append((order, x, y))
    features = []
    for key, rows in groups.items():
        rows.sort(key=lambda r: r[0])
        try:
            poly = _ring_polygon([(x, y) for _, x, y in rows])
        except ValueError as exc:
            raise FormatError("csv", f"plot {key!r}: {exc}") from exc
        features.append(Feature(poly, {group_c: key} if group_c else {}, key or None))
    return _to_wgs84(features, source_crs)


def write_csv(features: Iterable[Feature], *, columns: Sequence[str] | None = None) -> bytes:
    """CSV bytes (UTF-8 with BOM): id, the attribute ``columns`` (default: all seen), area in m²/亩/ha,
    centroid lon/lat and the geometry as WKT (WGS-84 lon/lat)."""
    items = list(features)
    if columns is None:
        seen: dict[str, None] = {}
        for f in items:
            seen.update(dict.fromkeys(f.properties))
        columns = list(seen)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", *columns, "area_m2", "area_mu", "area_ha", "centroid_lon", "centroid_lat", "wkt"])
    for f in items:
        c = f.geometry.centroid
        area = _area_fields(f.geometry)
        writer.writerow([f.id or "", *(f.properties.get(k, "") for k in columns), area["area_m2"],
                         area["area_mu"], area["area_ha"], f"{c.x:.7f}", f"{c.y:.7f}",
                         shapely.to_wkt(f.geometry, rounding_precision=7)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def read_csv_wkt(data: str | bytes, source_crs: str = "wgs84", *, wkt_column: str = "wkt") -> list[Feature]:
    """Features from a CSV with a WKT column (what ``write_csv`` writes); other columns become properties."""
    reader = csv.DictReader(io.StringIO(_text(data)))
    features = []
    for n, row in enumerate(reader, start=2):
        try:
            geom = shapely.from_wkt(row.pop(wkt_column))
        except (KeyError, shapely.errors.GEOSException) as exc:
            raise FormatError("csv", f"line {n}: no readable {wkt_column}") from exc
        fid = row.pop("id", None) or None
        features.append(Feature(geom, dict(row), fid))
    return _to_wgs84(features, source_crs)


# ---------------------------------------------------------------- field kit GPS walk


@dataclass(frozen=True)
class GpsFix:
    """One fix of a walked boundary: degrees (lon, lat), horizontal accuracy in metres, time (ISO 8601)."""

    lon: float
    lat: float
    accuracy_m: float | None = None
    time: str | None = None


def walk_to_boundary(
    fixes: Iterable[GpsFix | Mapping[str, Any]],
    source_crs: str = "wgs84",
    *,
    max_accuracy_m: float = 15.0,
    max_area_change: float = 0.005,
) -> Feature:
    """The boundary polygon of a field-kit GPS walk.

    Fixes worse than ``max_accuracy_m`` are dropped, the rest (in walking order) form a ring that is
    simplified keeping the area within ``max_area_change``.  Properties record the fix counts and the worst
    accuracy kept.
    """
    from gis.validate import simplify_track

    kept: list[tuple[float, float]] = []
    worst = 0.0
    total = 0
    for fix in fixes:
        f = fix if isinstance(fix, GpsFix) else GpsFix(float(fix["lon"]), float(fix["lat"]),
                                                       fix.get("accuracy_m"), fix.get("time"))
        total += 1
        if f.accuracy_m is not None and f.accuracy_m > max_accuracy_m:
            continue
        worst = max(worst, f.accuracy_m or 0.0)
        kept.append((f.lon, f.lat))
    if len(kept) < 3:
        raise FormatError("walk", f"only {len(kept)} usable fixes of {total}")
    feature = _to_wgs84([Feature(_ring_polygon(kept))], source_crs)[0]
    poly = simplify_track(np.asarray(feature.geometry.exterior.coords), max_area_change=max_area_change)
    return Feature(poly, {"fixes": total, "fixes_used": len(kept), "worst_accuracy_m": worst})
