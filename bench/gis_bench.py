"""Benchmarks of gis/: county lookup, overlap detection and geodesic area.

Prints a table and, as its last line, one JSON object:
``{"lookup_100k_s": {"strtree": s, "postgis": s}, "overlap_20k_s": s, "area_100k_s": s, ...}``.
The PostGIS lookup (``catalog.regions.counties_of``) runs in a scratch database made and dropped by the bench on
the server of ``--postgis`` (``null`` when none answers).  ``--quick`` runs small sizes in seconds.  Goal: each
full-size figure under 2 s.

Wall time suffers on a loaded machine; each figure's CPU seconds (this process's, and for PostGIS also the server
backend's, read from ``/proc`` when the server is local) are printed beside it and kept in the JSON under
``cpu_s``, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

import gis
from gis.area import geodesic_areas
from gis.overlaps import PlotRef, find_overlaps


def _timed(fn: Callable[[], Any], repeat: int = 3, backend_pid: int | None = None
           ) -> tuple[float, Any, float]:
    """Best-of-``repeat`` wall seconds, the result, and the CPU seconds of that run (this process plus the
    PostgreSQL backend ``backend_pid`` when its /proc entry is readable)."""
    best, result, best_cpu = float("inf"), None, 0.0
    for _ in range(repeat):
        c0, t0 = time.process_time() + _backend_cpu(backend_pid), time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, best_cpu = wall, time.process_time() + _backend_cpu(backend_pid) - c0
    return best, result, best_cpu


def _backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of process ``pid`` from /proc, 0 when unknown or not on this machine."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def _postgis_lookup(admin_url: str, pts: np.ndarray) -> tuple[float, list[str | None], float] | None:
    """Best-of-3 seconds of ``counties_of`` on ``pts`` in a scratch PostGIS database, its answers and CPU seconds
    (client and server backend), or None if unreachable."""
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
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
            result = _timed(lambda: counties_of(s, pts), backend_pid=pid)
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

    t_load, index, _ = _timed(gis.county_index, repeat=1)
    pts = _random_points_in_china(n_lookup, rng)
    t_lookup, codes, cpu_lookup = _timed(lambda: index.lookup_many(pts))
    answered = sum(c is not None for c in codes)
    postgis = _postgis_lookup(args.postgis, pts)

    # plots of one season packed into 1° x 1° of central Henan (郑州–开封), so that many overlap
    plots = _synthetic_plots(n_overlap, rng, (113.0, 34.0, 114.0, 35.0))
    refs = [PlotRef(str(i), g, "2025-summer") for i, g in enumerate(plots)]
    t_overlap, found, cpu_overlap = _timed(lambda: find_overlaps(refs))

    area_plots = _synthetic_plots(n_area, rng, (100.0, 22.0, 122.0, 45.0))
    t_area, areas, cpu_area = _timed(lambda: geodesic_areas(area_plots))

    rows = [
        ("load county index (once)", "2,891 features", t_load, None),
        (f"county lookup, STRtree, {n_lookup:,} points", f"{answered:,} answered", t_lookup, cpu_lookup),
        *([(f"county lookup, PostGIS, {n_lookup:,} points",
            f"{sum(a != b for a, b in zip(postgis[1], codes, strict=True)):,} differ", postgis[0], postgis[2])]
          if postgis else []),
        (f"overlap detection, {n_overlap:,} plots", f"{len(found):,} pairs", t_overlap, cpu_overlap),
        (f"geodesic area, {n_area:,} plots", f"mean {float(np.mean(areas)) * 15 / 10000:.1f} 亩", t_area, cpu_area),
    ]
    load = os.getloadavg()[0]
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'result':>20}  {'seconds':>8}  {'CPU s':>7}")
    for name, result, secs, cpu in rows:
        print(f"{name:<{width}}  {result:>20}  {secs:>8.3f}  {'' if cpu is None else f'{cpu:7.3f}':>7}")
    print(f"load average {load:.2f}; PostGIS CPU is the client's and its server backend's")
    print(json.dumps({
        "lookup_100k_s": {"strtree": round(t_lookup, 4), "postgis": round(postgis[0], 4) if postgis else None},
        "overlap_20k_s": round(t_overlap, 4),
        "area_100k_s": round(t_area, 4),
        "cpu_s": {"lookup_strtree": round(cpu_lookup, 4), "lookup_postgis": round(postgis[2], 4) if postgis else None,
                  "overlap": round(cpu_overlap, 4), "area": round(cpu_area, 4)},
        "load_avg": round(load, 2),
        "sizes": {"lookup": n_lookup, "overlap": n_overlap, "area": n_area},
        "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
