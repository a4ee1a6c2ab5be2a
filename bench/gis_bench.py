"""Benchmarks of gis/: county lookup, overlap detection and geodesic area.

Prints a table and, as its last line, one JSON object:
``{"lookup_100k_s": {"strtree": s, "postgis": s}, "overlap_20k_s": s, "area_100k_s": s, ...}``.
The PostGIS lookup (``catalog.regions.counties_of``) runs in a scratch database made and dropped by the bench on
the server of ``--postgis`` (``null`` when none answers).  ``--quick`` runs small sizes in seconds.  Goal: each
full-size figure under 2 s.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

import gis
from gis.area import geodesic_areas
from gis.overlaps import PlotRef, find_overlaps


def _timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _random_points_in_china(n: int, rng: np.random.Generator) -> np.ndarray:
    """n (lon, lat) points drawn uniformly from the country's bounding box, kept if inside a county."""
    index = gis.county_index()
    out: list[np.ndarray] = []
    total = 0
    while total < n:
        cand = np.column_stack([rng.uniform(73.5, 135.1, 2 * n), rng.uniform(18.1, 53.6, 2 * n)])
        hit = np.zeros(len(cand), dtype=bool)
        hit[np.unique(index.tree.query(shapely.points(cand), predicate="intersects")[0])] = True
        out.append(cand[hit])
        total += int(hit.sum())
    return np.concatenate(out)[:n]


def _synthetic_plots(n: int, rng: np.random.Generator, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """n rectangular-ish plots of 2–60 亩 scattered over ``bounds`` (lon/lat), some overlapping."""
    x0, y0, x1, y1 = bounds
    cx, cy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    w = rng.uniform(0.0005, 0.003, n)
    h = rng.uniform(0.0005, 0.002, n)
    return shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _postgis_lookup(admin_url: str, pts: np.ndarray) -> tuple[float, list[str | None]] | None:
    """Best-of-3 seconds of ``counties_of`` on ``pts`` in a scratch PostGIS database, or None if unreachable."""
    from sqlalchemy import make_url, text
    from sqlalchemy.orm import Session

    from catalog.db import make_engine
    from catalog.divisions import load_boundaries, load_divisions
    from catalog.migrate import upgrade
    from catalog.regions import counties_of

    admin = make_url(admin_url)
    name = f"yx_bench_{uuid.uuid4().hex[:10]}"

    def execute(url: Any, stmt: str) -> None:
        engine = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text(stmt))
        finally:
            engine.dispose()

    try:
        execute(admin, f"CREATE DATABASE {name}")
    except Exception as exc:  # no server: the figure is reported as null
        print(f"PostGIS lookup skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return None
    url = admin.set(database=name)
    try:
        execute(url, "CREATE EXTENSION postgis")
        upgrade(url.render_as_string(hide_password=False))
        engine = make_engine(url.render_as_string(hide_password=False))
        with Session(engine) as s, s.begin():
            load_divisions(s)
            load_boundaries(s)
        with Session(engine) as s:
            result = _timed(lambda: counties_of(s, pts))
        engine.dispose()
        return result
    finally:
        execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--postgis", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostGIS server's admin URL, where the bench makes and drops a scratch database")
    args = parser.parse_args(argv)
    n_lookup, n_overlap, n_area = (5_000, 2_000, 5_000) if args.quick else (100_000, 20_000, 100_000)
    rng = np.random.default_rng(20260)

    t_load, index = _timed(gis.county_index, repeat=1)
    pts = _random_points_in_china(n_lookup, rng)
    t_lookup, codes = _timed(lambda: index.lookup_many(pts))
    answered = sum(c is not None for c in codes)
    postgis = _postgis_lookup(args.postgis, pts)

    # plots of one season packed into 1° x 1° of central Henan (郑州–开封), so that many overlap
    plots = _synthetic_plots(n_overlap, rng, (113.0, 34.0, 114.0, 35.0))
    refs = [PlotRef(str(i), g, "2025-summer") for i, g in enumerate(plots)]
    t_overlap, found = _timed(lambda: find_overlaps(refs))

    area_plots = _synthetic_plots(n_area, rng, (100.0, 22.0, 122.0, 45.0))
    t_area, areas = _timed(lambda: geodesic_areas(area_plots))

    rows = [
        ("load county index (once)", "2,891 features", t_load),
        (f"county lookup, STRtree, {n_lookup:,} points", f"{answered:,} answered", t_lookup),
        *([(f"county lookup, PostGIS, {n_lookup:,} points",
            f"{sum(a != b for a, b in zip(postgis[1], codes, strict=True)):,} differ", postgis[0])] if postgis else []),
        (f"overlap detection, {n_overlap:,} plots", f"{len(found):,} pairs", t_overlap),
        (f"geodesic area, {n_area:,} plots", f"mean {float(np.mean(areas)) * 15 / 10000:.1f} 亩", t_area),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'result':>20}  {'seconds':>8}")
    for name, result, secs in rows:
        print(f"{name:<{width}}  {result:>20}  {secs:>8.3f}")
    print(json.dumps({
        "lookup_100k_s": {"strtree": round(t_lookup, 4), "postgis": round(postgis[0], 4) if postgis else None},
        "overlap_20k_s": round(t_overlap, 4),
        "area_100k_s": round(t_area, 4),
        "sizes": {"lookup": n_lookup, "overlap": n_overlap, "area": n_area},
        "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
