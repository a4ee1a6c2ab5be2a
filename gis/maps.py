"""SVG maps that work offline: a county or province with its plots, and per-county choropleths.

Input geometries are WGS-84 degrees, (lon, lat).  Regional maps use a transverse Mercator projection centred
on the region; national maps use an Albers equal-area conic (standard parallels 25°N/47°N, central meridian
105°E), draw the national boundary lines (``data/cn_boundary_lines.geojson``) and a 南海诸岛 inset, and carry
the note that a published map needs an approval number (审图号).  Output is a standalone ``<svg>`` string
(no external files, fonts or scripts) to embed in HTML pages or reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.regions import DATA_DIR, read_geojson_gz

PALETTE = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c", "#00441b", "#002910")
NO_DATA = "#e5e5e5"
FONT = "font-family=\"'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif\""
APPROVAL_NOTE = "注：公开出版或展示的地图须经审核并标注审图号（本图未经审核，仅供内部工作使用）"
APPROVAL_NOTE_EN = "Published maps need an approval number (审图号); this map is for internal use only."
NATIONAL_PROJ = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m"
MAIN_MAP_BOX = (72.0, 17.0, 136.0, 54.5)  # lon/lat extent of a national map's main frame
SCS_INSET_BOX = (106.5, 2.5, 123.5, 24.5)  # 南海诸岛 inset extent


@dataclass(frozen=True)
class MapPlot:
    """A plot to draw: id, boundary (lon/lat degrees), optional label."""

    id: str
    geometry: BaseGeometry
    label: str | None = None


@lru_cache(maxsize=1)
def _counties() -> tuple[NDArray[np.object_], list[str | None], list[str], list[str]]:
    feats = read_geojson_gz(DATA_DIR / "counties.geojson.gz")
    return (
        np.array([shape(f["geometry"]) for f in feats], dtype=object),
        [f["properties"].get("adcode") for f in feats],
        [f["properties"].get("province_adcode", "") for f in feats],
        [f["properties"].get("name", "") for f in feats],
    )


@lru_cache(maxsize=1)
def _provinces() -> tuple[NDArray[np.object_], list[str], list[str]]:
    feats = read_geojson_gz(DATA_DIR / "provinces.geojson.gz")
    return (
        np.array([shape(f["geometry"]) for f in feats], dtype=object),
        [f["properties"]["adcode"] for f in feats],
        [f["properties"].get("name", "") for f in feats],
    )


@lru_cache(maxsize=1)
def _boundary_lines() -> NDArray[np.object_]:
    feats = read_geojson_gz(DATA_DIR / "cn_boundary_lines.geojson")
    return np.array([shape(f["geometry"]) for f in feats], dtype=object)


class _Frame:
    """Projects lon/lat geometries to metres, then fits them into a pixel box (y down)."""

    def __init__(
        self, proj: str, extent_lonlat: BaseGeometry, box: tuple[float, float, float, float]
    ) -> None:
        self._tr = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
        x0, y0, x1, y1 = self.to_metres(extent_lonlat).bounds
        bx, by, bw, bh = box
        self.scale = min(bw / max(x1 - x0, 1e-9), bh / max(y1 - y0, 1e-9))  # px per metre
        self.ox = bx + (bw - (x1 - x0) * self.scale) / 2 - x0 * self.scale
        self.oy = by + (bh - (y1 - y0) * self.scale) / 2 + y1 * self.scale

    def to_metres(self, geom: Any) -> Any:
        return shapely.transform(geom, lambda xy: np.column_stack(self._tr.transform(xy[:, 0], xy[:, 1])))

    def to_pixels(self, geom: Any) -> Any:
        s, ox, oy = self.scale, self.ox, self.oy
        return shapely.transform(self.to_metres(geom), lambda xy: np.column_stack(
            [ox + xy[:, 0] * s, oy - xy[:, 1] * s]))


def _path_d(geom: BaseGeometry) -> str:
    """SVG path data for polygons (rings closed with Z) and lines, 1 decimal pixel precision."""
    out: list[str] = []
    for part in shapely.get_parts(np.asarray([geom], dtype=object)):
        if isinstance(part, shapely.Polygon):
            rings = [part.exterior, *part.interiors]
            closed = True
        elif isinstance(part, shapely.LineString | shapely.LinearRing):
            rings = [part]
            closed = False
        else:
            continue
        for ring in rings:
            xy = np.round(np.asarray(ring.coords)[:, :2], 1)
            if len(xy) < 2:
                continue
            pts = " ".join(f"{x:g},{y:g}" for x, y in xy)
            out.append(f"M{pts}{'Z' if closed else ''}")
    return "".join(out)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    polys = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon) and not p.is_empty]
    return shapely.MultiPolygon(polys) if polys else shapely.Polygon()


def _simplify_px(geoms: NDArray[np.object_], tol_px: float = 0.6) -> NDArray[np.object_]:
    """Simplify pixel-space polygons as a coverage (shared borders stay shared); per geometry on failure."""
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    try:
        return np.asarray(shapely.coverage_simplify(geoms, tol_px), dtype=object)
    except shapely.errors.GEOSException:
        return np.asarray(shapely.simplify(geoms, tol_px, preserve_topology=True), dtype=object)


def _nice_length(max_m: float) -> float:
    exp = 10 ** math.floor(math.log10(max_m))
    return max(m * exp for m in (1, 2, 5) if m * exp <= max_m)


def _scale_bar(frame: _Frame, x: float, y: float, max_px: float) -> str:
    metres = _nice_length(max_px / frame.scale)
    px = metres * frame.scale
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    return (f'<g class="scale-bar"><rect x="{x:.1f}" y="{y:.1f}" width="{px:.1f}" height="4" fill="#333"/>'
            f'<text x="{x:.1f}" y="{y - 4:.1f}" font-size="11" {FONT}>0</text>'
            f'<text x="{x + px:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="end" {FONT}>'
            f"{label}</text></g>")


def _north_arrow(x: float, y: float) -> str:
    return (f'<g class="north-arrow"><path d="M{x},{y} l6,18 l-6,-5 l-6,5 Z" fill="#333"/>'
            f'<text x="{x}" y="{y - 3}" font-size="11" text-anchor="middle" {FONT}>N</text></g>')


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>"
            f'<rect width="{width}" height="{height}" fill="#fff"/>'
            f'<text x="{width / 2:.0f}" y="24" font-size="16" text-anchor="middle" {FONT}>'
            f"{escape(title)}</text>"
            + "".join(body) + "</svg>")


def _local_proj(geom: BaseGeometry) -> str:
    c = geom.centroid
    return f"+proj=tmerc +lat_0={c.y:.6f} +lon_0={c.x:.6f} +k=1 +datum=WGS84 +units=m"


def render_region_map(
    boundary: BaseGeometry,
    plots: Sequence[MapPlot],
    *,
    title: str = "",
    inner_boundaries: Sequence[BaseGeometry] = (),
    width: int = 800,
    height: int = 600,
) -> str:
    """A county or province (``boundary``, lon/lat) with its ``plots`` outlined and filled, optional inner
    borders (e.g. the counties of a province), a scale bar and a north arrow."""
    frame = _Frame(_local_proj(boundary), boundary, (20, 40, width - 40, height - 80))
    body = [f'<path class="region" d="{_path_d(frame.to_pixels(boundary))}" fill="#f7f7f2" '
            f'stroke="#555" stroke-width="1.2" fill-rule="evenodd"/>']
    for inner in inner_boundaries:
        body.append(f'<path class="inner" d="{_path_d(frame.to_pixels(inner.boundary))}" fill="none" '
                    f'stroke="#aaa" stroke-width="0.6"/>')
    for plot in plots:
        px = frame.to_pixels(plot.geometry)
        if px.length < 3:  # too small to see at this scale: draw a marker
            c = px.centroid
            shape_svg = f'<circle cx="{c.x:.1f}" cy="{c.y:.1f}" r="3" fill="#d95f02" stroke="#7a3500"/>'
        else:
            shape_svg = (f'<path d="{_path_d(px)}" fill="#d95f02" fill-opacity="0.6" stroke="#7a3500" '
                         f'stroke-width="0.8" fill-rule="evenodd"/>')
        body.append(f'<g class="plot" data-id="{escape(plot.id)}">'
                    f"<title>{escape(plot.label or plot.id)}</title>"
                    f"{shape_svg}</g>")
    body.append(_scale_bar(frame, 24, height - 24, width / 4))
    body.append(_north_arrow(width - 30, 44))
    return _svg(width, height, title, body)


def render_county_map(code: str, plots: Sequence[MapPlot], *, title: str | None = None, **kw: Any) -> str:
    """Map of one county (current 6-digit code) with plots; raises KeyError when it has no polygon."""
    geoms, codes, _, names = _counties()
    idx = [i for i, c in enumerate(codes) if c == code]
    if not idx:
        raise KeyError(code)
    boundary = shapely.union_all(geoms[idx])
    return render_region_map(boundary, plots, title=title if title is not None else names[idx[0]], **kw)


def render_province_map(
    province: str, plots: Sequence[MapPlot], *, title: str | None = None, **kw: Any
) -> str:
    """Map of one province (6-digit code, e.g. ``"410000"``) with its county borders and plots."""
    pgeoms, pcodes, pnames = _provinces()
    if province not in pcodes:
        raise KeyError(province)
    i = pcodes.index(province)
    geoms, _, provs, _ = _counties()
    inner = [g for g, p in zip(geoms, provs, strict=True) if p == province]
    return render_region_map(pgeoms[i], plots, title=title if title is not None else pnames[i],
                             inner_boundaries=inner, **kw)


def class_breaks(values: Sequence[float], classes: int = 5) -> list[float]:
    """Upper bounds of ``classes`` quantile classes (the last is the maximum); duplicates removed."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return []
    qs = np.quantile(arr, np.linspace(0, 1, classes + 1)[1:])
    return sorted({float(q) for q in qs})


def _class_of(value: float | None, breaks: Sequence[float]) -> int | None:
    if value is None or not math.isfinite(value):
        return None
    for k, b in enumerate(breaks):
        if value <= b:
            return k
    return len(breaks) - 1


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")


def _legend(x: float, y: float, breaks: Sequence[float], low: float, unit: str) -> str:
    rows = [f'<g class="legend"><text x="{x}" y="{y}" font-size="12" {FONT}>{escape(unit)}</text>']
    lo = low
    for k, b in enumerate(breaks):
        yy = y + 8 + k * 18
        rows.append(f'<rect x="{x}" y="{yy}" width="16" height="12" fill="{PALETTE[k % len(PALETTE)]}" '
                    f'stroke="#777" stroke-width="0.5"/>'
                    f'<text x="{x + 22}" y="{yy + 10}" font-size="11" {FONT}>{_fmt(lo)} – {_fmt(b)}</text>')
        lo = b
    yy = y + 8 + len(breaks) * 18
    rows.append(f'<rect x="{x}" y="{yy}" width="16" height="12" fill="{NO_DATA}" stroke="#777" '
                f'stroke-width="0.5"/>'
                f'<text x="{x + 22}" y="{yy + 10}" font-size="11" {FONT}>无数据 no data</text></g>')
    return "".join(rows)


def render_choropleth(
    values: Mapping[str, float],
    *,
    province: str | None = None,
    title: str = "",
    unit: str = "",
    breaks: Sequence[float] | None = None,
    classes: int = 5,
    width: int = 960,
    height: int = 720,
) -> str:
    """Counties coloured by ``values`` (current 6-digit county code → figure) with a class-break legend
    (quantiles unless ``breaks``, upper bounds ascending, are given) and a scale bar.

    ``province`` (6-digit code) limits the map to one province; without it the map is national: Albers
    projection, province borders, national boundary lines, the 南海诸岛 inset and the 审图号 note.
    """
    geoms, codes, provs, names = _counties()
    if province is not None:
        sel = np.array([p == province for p in provs])
        if not sel.any():
            raise KeyError(province)
        extent = shapely.union_all(geoms[sel])
        frame = _Frame(_local_proj(extent), extent, (20, 40, width - 220, height - 80))
        clip_box: tuple[float, float, float, float] | None = None
    else:
        sel = np.ones(len(geoms), dtype=bool)
        clip_box = MAIN_MAP_BOX
        frame = _Frame(NATIONAL_PROJ, shapely.box(73.5, 17.5, 135.1, 53.6), (20, 40, width - 40, height - 80))
    brk = list(breaks) if breaks is not None else class_breaks(list(values.values()), classes)
    low = min(values.values()) if values else 0.0
    chosen = geoms[sel]
    if clip_box is not None:
        chosen = shapely.clip_by_rect(chosen, *clip_box)
    px = _simplify_px(np.asarray(frame.to_pixels(chosen), dtype=object))
    sel_codes = [c for c, s in zip(codes, sel, strict=True) if s]
    sel_names = [n for n, s in zip(names, sel, strict=True) if s]
    body = ['<g class="counties" stroke="#fff" stroke-width="0.2" fill-rule="evenodd">']
    for g, code, name in zip(px, sel_codes, sel_names, strict=True):
        if g.is_empty:
            continue
        value = values.get(code) if code else None
        k = _class_of(value, brk)
        fill = NO_DATA if k is None else PALETTE[k % len(PALETTE)]
        tip = f"{name} {code or ''}" + (f": {_fmt(value)} {unit}" if value is not None else "")
        body.append(f'<path d="{_path_d(g)}" fill="{fill}" data-code="{code or ""}">'
                    f"<title>{escape(tip)}</title></path>")
    body.append("</g>")
    if province is None:
        body.extend(_national_overlays(frame, width, height))
        body.append(_legend(40, height - 200, brk, low, unit))
    else:
        body.append(_legend(width - 190, 70, brk, low, unit))
    body.append(_scale_bar(frame, width / 2 - 60, height - 24, width / 6))
    body.append(_north_arrow(width - 30, 44))
    return _svg(width, height, title, body)


def _national_overlays(frame: _Frame, width: int, height: int) -> list[str]:
    """Province borders, national boundary lines, the 南海诸岛 inset and the approval-number note."""
    pgeoms, _, _ = _provinces()
    lines = _boundary_lines()
    main = shapely.clip_by_rect(pgeoms, *MAIN_MAP_BOX)
    borders = _simplify_px(np.asarray(frame.to_pixels(main), dtype=object), 0.8)
    out = ['<g class="provinces" fill="none" stroke="#666" stroke-width="0.6">']
    out += [f'<path d="{_path_d(g.boundary)}"/>' for g in borders if not g.is_empty]
    out.append("</g>")
    main_lines = frame.to_pixels(shapely.clip_by_rect(lines, *MAIN_MAP_BOX))
    out.append('<g class="boundary-lines" fill="none" stroke="#444" stroke-width="1">')
    out += [f'<path d="{_path_d(g)}"/>' for g in main_lines if not g.is_empty]
    out.append("</g>")
    # 南海诸岛 inset, bottom right
    iw, ih = width * 0.16, height * 0.26
    ix, iy = width - iw - 16, height - ih - 40
    inset = _Frame(NATIONAL_PROJ, shapely.box(*SCS_INSET_BOX), (ix + 4, iy + 4, iw - 8, ih - 20))
    inset_land = inset.to_pixels(shapely.clip_by_rect(pgeoms, *SCS_INSET_BOX))
    land = _simplify_px(np.asarray(inset_land, dtype=object), 0.4)
    out.append(f'<g class="inset" data-name="南海诸岛"><rect x="{ix:.1f}" y="{iy:.1f}" width="{iw:.1f}" '
               f'height="{ih:.1f}" fill="#fff" stroke="#333" stroke-width="0.8"/>')
    out += [f'<path d="{_path_d(g)}" fill="#f2efe6" stroke="#999" stroke-width="0.3"/>' for g in land
            if not g.is_empty]
    out += [f'<path d="{_path_d(g)}" fill="none" stroke="#444" stroke-width="0.8"/>'
            for g in inset.to_pixels(shapely.clip_by_rect(lines, *SCS_INSET_BOX)) if not g.is_empty]
    out.append(f'<text x="{ix + iw - 6:.1f}" y="{iy + ih - 6:.1f}" font-size="11" text-anchor="end" {FONT}>'
               f"南海诸岛</text></g>")
    out.append(f'<text class="approval-note" x="16" y="{height - 8}" font-size="10" fill="#555" {FONT}>'
               f"{escape(APPROVAL_NOTE)} {escape(APPROVAL_NOTE_EN)}</text>")
    return out


# --------------------------------------------------------------------------------------------------- area maps

AREA_LEVELS = ("province", "prefecture", "county")


@dataclass(frozen=True)
class _AreaShapes:
    """The regions of one area map, projected and simplified once: (code, name, SVG path data) each."""

    regions: tuple[tuple[str, str, str], ...]
    overlays: str   # national overlays (borders, boundary lines, inset, note), or ""
    scale_bar: str
    legend_at: tuple[float, float]


@lru_cache(maxsize=64)
def _area_shapes(level: str, within: str, width: int, height: int) -> _AreaShapes:
    if level == "province":
        pgeoms, pcodes, pnames = _provinces()
        frame = _Frame(NATIONAL_PROJ, shapely.box(73.5, 17.5, 135.1, 53.6), (20, 40, width - 40, height - 80))
        px = _simplify_px(np.asarray(frame.to_pixels(shapely.clip_by_rect(pgeoms, *MAIN_MAP_BOX)), dtype=object),
                          0.8)
        regions = tuple((c, n, _path_d(g)) for c, n, g in zip(pcodes, pnames, px, strict=True) if not g.is_empty)
        parts = _national_overlays(frame, width, height)
        overlays = "".join(parts[parts.index("</g>") + 1:])  # the province borders are the regions here
        return _AreaShapes(regions, overlays, _scale_bar(frame, width / 2 - 60, height - 24, width / 6),
                           (40, height - 200))
    geoms, codes, _, names = _counties()
    sel = [i for i, c in enumerate(codes) if c and c.startswith(within)]
    if not sel:
        raise KeyError(within)
    if level == "prefecture":
        groups: dict[str, list[int]] = {}
        for i in sel:
            groups.setdefault(str(codes[i])[:4] + "00", []).append(i)
        keys = sorted(groups)
        chosen = np.asarray([shapely.union_all(geoms[groups[k]]) for k in keys], dtype=object)
        labels = list(keys)
    else:
        keys = [str(codes[i]) for i in sel]
        chosen = geoms[sel]
        labels = [names[i] for i in sel]
    extent = shapely.union_all(chosen)
    frame = _Frame(_local_proj(extent), extent, (20, 40, width - 220, height - 80))
    px = _simplify_px(np.asarray(frame.to_pixels(chosen), dtype=object))
    regions = tuple((k, n, _path_d(g)) for k, n, g in zip(keys, labels, px, strict=True) if not g.is_empty)
    return _AreaShapes(regions, "", _scale_bar(frame, width / 2 - 60, height - 24, width / 6), (width - 190, 70))


def render_area_choropleth(
    values: Mapping[str, float],
    *,
    level: str,
    within: str = "",
    names: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    title: str = "",
    unit: str = "",
    breaks: Sequence[float] | None = None,
    classes: int = 5,
    width: int = 900,
    height: int = 680,
) -> str:
    """Regions of one level coloured by ``values`` (6-digit division code → figure), with a class-break legend,
    each region a link when ``links`` (code → URL) names it.

    ``level`` ``"province"``: the country's provinces (Albers, national boundary lines, 南海诸岛 inset, 审图号
    note); ``"prefecture"``: the prefectures of the province whose code starts with ``within`` (two digits),
    dissolved from their counties; ``"county"``: the counties whose code starts with ``within`` (2 or 4 digits).
    ``names`` (code → name) labels the regions' tooltips (the map's own names otherwise). The projected shapes
    are cached per level, area and size, so colouring a map again costs only the colours. Raises KeyError when
    no county lies in ``within``.
    """
    if level not in AREA_LEVELS:
        raise ValueError(f"level must be one of {AREA_LEVELS}")
    shapes = _area_shapes(level, within, width, height)
    brk = list(breaks) if breaks is not None else class_breaks(list(values.values()), classes)
    low = min(values.values()) if values else 0.0
    body = ['<g class="regions" stroke="#fff" stroke-width="0.6" fill-rule="evenodd">']
    for code, own_name, d in shapes.regions:
        value = values.get(code)
        k = _class_of(value, brk)
        fill = NO_DATA if k is None else PALETTE[k % len(PALETTE)]
        name = (names or {}).get(code, own_name)
        tip = f"{name} {code}" + (f": {_fmt(value)} {unit}" if value is not None else "：无数据")
        path = (f'<path d="{d}" fill="{fill}" data-code="{code}" data-value="{"" if value is None else value}">'
                f"<title>{escape(tip)}</title></path>")
        href = (links or {}).get(code)
        body.append(f'<a href="{escape(href)}" class="region-link" data-code="{code}">{path}</a>' if href else path)
    body.append("</g>")
    body.append(shapes.overlays)
    body.append(_legend(*shapes.legend_at, brk, low, unit))
    body.append(shapes.scale_bar)
    body.append(_north_arrow(width - 30, 44))
    return _svg(width, height, title, body)
