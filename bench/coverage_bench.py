"""Coverage latency at national size, on SQLite and on PostGIS: the national dashboard's data and a province drill-down.

Builds, once, a database with the real division tree (2,851 county-level units, loaded by the reference data), 500
sites (the shipped lists, topped up with bench parks), 100,000 demo plots spread over every county and two seasons
of 2026 (90 % variety demos, 10 % land-quality core demos with soil samples), 1,000,000 yield measurements (ten per
plot: county self-tests, city, province and ministry re-tests, about two thirds approved), a plan and an extension
report per county and season, intents, needs and events — bulk-inserted (COPY on PostGIS, executemany on SQLite),
not through the ORM. The databases are kept between runs (a file under ``--cache-dir``, a PostGIS database named
for the size) and rebuilt when the schema or the sizes change, or with ``--rebuild``.

Then times, each call in a fresh session as a request would be:

- ``national``: ``catalog.coverage.coverage`` of the country (34 province rows, every site), the progress to the
  national targets (``catalog.targets.progress``), the gaps (``catalog.gaps.gaps``) and the figures of the seasons
  in use (``catalog.coverage_series.season_series``, the charts) — what the national dashboard page computes
  (``server.web.coverage_pages``);
- ``province``: the same for one province (its prefectures and sites), a different province each call.

The figures read each plot's best approved measurement from ``plot_figure`` (``catalog.plot_figures``) and, for a
division, each county's kept totals and implausible yields (``catalog.county_refresh``), which the bulk load fills
once with ``refresh_plot_figures`` (its time, both included, is reported as ``plot_figures_s``).

Besides the wall time, each call's SQL time (summed over the cursor executions, ``sql_*`` in the JSON) is reported:
it is the steadier figure on a shared, loaded machine.

    .venv/bin/python bench/coverage_bench.py                  # 100,000 plots, 1,000,000 measurements, both engines
    .venv/bin/python bench/coverage_bench.py --quick --engines sqlite

The last line is one JSON object: ``national_p95_ms`` and ``province_p95_ms`` keyed by engine (``sqlite``,
``postgis``), with p50s, sizes, build times and ``machine`` (``bench/machine.py``: how fast this machine is).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog_search import LOCAL_POSTGIS, build, new_postgis_database, percentile  # noqa: E402
from bench.machine import reference  # noqa: E402
from catalog.coverage import coverage, resolve_scope  # noqa: E402
from catalog.coverage_series import season_series  # noqa: E402
from catalog.db import make_engine, utcnow  # noqa: E402
from catalog.divisions import Division  # noqa: E402
from catalog.events import Event, EventSite  # noqa: E402
from catalog.field import DemoPlot, SoilSample, YieldMeasurement  # noqa: E402
from catalog.gaps import gaps  # noqa: E402
from catalog.intents import Intent  # noqa: E402
from catalog.migrate import upgrade  # noqa: E402
from catalog.needs import Need  # noqa: E402
from catalog.plot_figures import refresh_plot_figures  # noqa: E402
from catalog.results import Result  # noqa: E402
from catalog.seasons import ExtensionReport, SeasonPlan  # noqa: E402
from catalog.sites import Site, SiteDivision  # noqa: E402
from catalog.targets import progress  # noqa: E402
from gis.area import M2_PER_MU  # noqa: E402
from server.production import settle_heap  # noqa: E402

SEASONS = ("2026-summer_grain", "2026-autumn_grain")
TIMED_SEASON = "2026-autumn_grain"
CROPS = {"2026-summer_grain": (("wheat", 560, 70), ("rapeseed", 190, 30)),
         "2026-autumn_grain": (("maize", 680, 90), ("rice_indica", 520, 60), ("soybean", 210, 35))}
SCENARIOS = ("SC0101", "SC0102", "SC0103", "SC0104")
BASELINES = ("control_plot", "check_variety", "county_average")
LEVEL_PLAN = ("county",) * 6 + ("city",) * 2 + ("province", "ministry")  # ten measurements per plot
APPROVE_P = {"county": 0.75, "city": 0.6, "province": 0.5, "ministry": 0.35}
SCHEMA_TAG = "0008"


def _sizes(quick: bool, plots: int, per_plot: int) -> dict[str, int]:
    if quick:
        return {"plots": 3000, "per_plot": 10, "results": 300, "sites": 500, "intents": 600}
    return {"plots": plots, "per_plot": per_plot, "results": 2000, "sites": 500, "intents": 5000}


# --------------------------------------------------------------------------------------------------- bulk


def bulk(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table``: COPY on PostgreSQL, executemany in chunks on SQLite."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cols = list(rows[0].keys())
        json_cols = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([json.dumps(r[c], ensure_ascii=False) if c in json_cols else r[c] for c in cols])
        return
    for i in range(0, len(rows), 20_000):
        conn.execute(insert(table), rows[i:i + 20_000])


def _synced(now: dt.datetime) -> dict[str, Any]:
    return {"version": 1, "field_versions": {}, "deleted": False, "created_at": now, "updated_at": now,
            "created_by": "bench", "updated_by": "bench"}


def populate(url: str, sizes: dict[str, int], seed: int) -> dict[str, float]:
    """Everything but the reference data and results (which ``bench.catalog_search.build`` loads)."""
    rng = random.Random(f"{seed}:coverage")
    engine = make_engine(url)
    now = utcnow()
    t0 = time.perf_counter()
    with engine.begin() as conn:
        counties = list(conn.scalars(select(Division.code).where(Division.county_equivalent.is_(True),
                                                                 Division.valid_to.is_(None))
                                     .order_by(Division.code)))
        result_ids = list(conn.scalars(select(Result.id).order_by(Result.id)))
        sites = list(conn.execute(select(Site.id, Site.kind, Site.place_code, Site.province_code)
                                  .where(Site.active.is_(True)).order_by(Site.id)))
        # top the shipped lists up to 500 sites with bench parks placed in random counties
        extra = []
        for k in range(max(0, sizes["sites"] - len(sites))):
            county = rng.choice(counties)
            extra.append({"id": f"BENCH{k:04d}", "list_id": "NASTP", "kind": "park", "name": f"测试园区{k}",
                          "province_code": county[:2] + "0000", "place_code": county, "batch": None,
                          "status": "listed", "active": True, "notes": "bench"})
        bulk(conn, Site.__table__, extra)
        bulk(conn, SiteDivision.__table__, [{"site_id": e["id"], "division_code": e["place_code"]} for e in extra])
        sites += [(e["id"], e["kind"], e["place_code"], e["province_code"]) for e in extra]
        parks_by_county: dict[str, list[str]] = {}
        for sid, kind, place, _prov in sites:
            if kind == "park" and place:
                parks_by_county.setdefault(place, []).append(sid)

        plots, soils = [], []
        varieties = [f"品种{v:03d}" for v in range(240)]
        for n in range(sizes["plots"]):
            county = counties[n % len(counties)] if n < len(counties) * 2 else rng.choice(counties)
            season = SEASONS[n % 2]
            crop, _mean, _sd = rng.choice(CROPS[season])
            land = rng.random() < 0.1
            parks = parks_by_county.get(county)
            flags: dict[str, Any] = {}
            if rng.random() < 0.01:
                flags["outside_county"] = {"county_code": rng.choice(counties)}
            if rng.random() < 0.01:
                flags["overlaps"] = [str(uuid.uuid4())]
            plots.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "county_code": county,
                          "site_id": rng.choice(parks) if parks and rng.random() < 0.3 else None,
                          "name": f"示范田{n}", "boundary": None, "source_crs": "wgs84",
                          "area_m2": rng.uniform(10, 200) * M2_PER_MU, "crop": crop,
                          "variety": rng.choice(varieties), "result_id": None,
                          "land_scenario": rng.choice(SCENARIOS) if land else None,
                          "demo_type": "land_quality" if land else "variety", "season": season,
                          "farmer_name": None, "farmer_phone": None, "farmer_id_no": None, "cooperative": None,
                          "control_plot_id": None, "flags": flags, "notes": None, **_synced(now)})
            if land:
                first = rng.randint(4, 8)
                for k, grade in enumerate((first, max(1, first - rng.choice((0, 1, 1, 2))))):
                    soils.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                  "plot_id": plots[-1]["id"], "county_code": county,
                                  "sampled_on": dt.date(2025 + k, 4, 10), "depth_cm": "0-20", "lab": {},
                                  "grade": grade, "grade_scale": "GB/T 33469-2016", **_synced(now)})
        t1 = time.perf_counter()
        bulk(conn, DemoPlot.__table__, plots)
        bulk(conn, SoilSample.__table__, soils)
        t2 = time.perf_counter()

        measured = 0
        batch: list[dict[str, Any]] = []
        crop_stats = {c: (m, sd) for season_crops in CROPS.values() for c, m, sd in season_crops}
        for p in plots:
            mean, sd = crop_stats[p["crop"]]
            harvest_month = 6 if p["season"] == "2026-summer_grain" else 10
            true_yield = rng.gauss(mean, sd)
            baseline = rng.choice(BASELINES)
            approved_below = True
            for k, level in enumerate(LEVEL_PLAN[:sizes["per_plot"]]):
                y = true_yield * rng.uniform(0.97, 1.03) if rng.random() > 0.002 else true_yield * 3  # rare typo
                base = y / rng.uniform(1.02, 1.16)
                state = "approved" if approved_below and rng.random() < APPROVE_P[level] else rng.choice(
                    ("pending", "pending", "rejected"))
                if level != "county":
                    approved_below = approved_below and state == "approved"
                batch.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "plot_id": p["id"],
                              "county_code": p["county_code"], "method": "theoretical" if k == 0 else "harvest",
                              "level": level,
                              "measured_on": dt.date(2026, harvest_month, 1 + (k * 3 + rng.randint(0, 20)) % 28),
                              "crop": p["crop"], "panel": [], "samples": [], "standard_moisture": 0.13,
                              "yield_kg_per_mu": round(y, 1), "baseline_kg_per_mu": round(base, 1),
                              "baseline_type": baseline, "gain_pct": round((y - base) / base * 100, 2), "notes": None,
                              "verifies_id": None, "review_state": state,
                              "reviewed_by": "bench" if state != "pending" else None,
                              "reviewed_at": now if state != "pending" else None, "review_comment": None,
                              **_synced(now)})
            if len(batch) >= 200_000:
                bulk(conn, YieldMeasurement.__table__, batch)
                measured += len(batch)
                batch = []
        bulk(conn, YieldMeasurement.__table__, batch)
        measured += len(batch)
        t3 = time.perf_counter()

        plans, reports = [], []
        for county in counties:
            for season in SEASONS:
                deadline = dt.date(2026, 7, 15) if season == "2026-summer_grain" else dt.date(2026, 11, 15)
                base = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "county_code": county,
                        "season": season, "version": 1, "created_at": now, "updated_at": now, "created_by": "bench",
                        "updated_by": "bench"}
                plans.append({**base, "plots_expected": rng.randint(10, 30),
                              "area_expected_m2": rng.uniform(1000, 4000) * M2_PER_MU, "deadline": deadline,
                              "notes": None})
                reports.append({**base, "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                "kind": rng.choice(("variety_extension", "land_radiated")),
                                "area_m2": rng.uniform(5e4, 3e5) * M2_PER_MU, "crop": None, "land_scenario": None,
                                "evidence": "县农业农村局统计报表", "attachment_sha256": None,
                                "reported_on": deadline})
        bulk(conn, SeasonPlan.__table__, plans)
        bulk(conn, ExtensionReport.__table__, reports)

        site_ids = [s[0] for s in sites]
        intents = []
        for _k in range(sizes["intents"]):
            state = rng.choice(("registered", "contact", "agreement", "landed", "landed", "dropped"))
            intents.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            "site_id": rng.choice(site_ids), "result_id": rng.choice(result_ids), "event_id": None,
                            "province_code": None, "state": state, "mode": None, "plot_id": None,
                            "adopted_area_m2": None, "drop_reason": None, "note": None, "version": 1,
                            "created_at": now, "updated_at": now, "created_by": "bench", "updated_by": "bench"})
        bulk(conn, Intent.__table__, intents)
        needs = [{"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "site_id": sid,
                  "province_code": prov, "title": "需求", "problem": "", "crops": [], "industry_types": [],
                  "scenarios": [], "land_scenarios": [], "season": None, "area_m2": None, "scale_text": None,
                  "contact": None, "state": rng.choice(("open", "matched", "closed")), "matched_result_id": None,
                  "state_comment": None, "version": 1, "created_at": now, "updated_at": now, "created_by": "bench",
                  "updated_by": "bench"} for sid, _k, _pl, prov in sites]
        bulk(conn, Need.__table__, needs)
        events, event_sites = [], []
        for k in range(60):
            prov = rng.choice(counties)[:2] + "0000" if k % 3 else None
            eid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            events.append({"id": eid, "kind": "onsite", "title": f"对接会{k}",
                           "starts_on": dt.date(2026, 3, 1 + k % 28),
                           "ends_on": dt.date(2026, 3, 1 + k % 28), "place_code": None, "address": None,
                           "province_code": prov, "organiser": None, "state": "closed", "description": "",
                           "created_at": now, "updated_at": now, "created_by": "bench", "updated_by": "bench"})
            for sid in rng.sample(site_ids, 8):
                event_sites.append({"event_id": eid, "site_id": sid, "via": "invited", "contact": None, "at": now,
                                    "by": "bench"})
        bulk(conn, Event.__table__, events)
        bulk(conn, EventSite.__table__, event_sites)
        t4 = time.perf_counter()
        refresh_plot_figures(conn)  # the bulk inserts bypass the flush hook that keeps them
        figures_s = time.perf_counter() - t4
        conn.execute(text("CREATE TABLE bench_meta (tag VARCHAR(64))"))
        conn.execute(text("INSERT INTO bench_meta VALUES (:t)"), {"t": _tag(sizes)})
    engine.dispose()
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return {"generate_plots_s": t1 - t0, "insert_plots_s": t2 - t1, "insert_measurements_s": t3 - t2,
            "rest_s": time.perf_counter() - t3 - figures_s, "plot_figures_s": figures_s, "plots": len(plots),
            "measurements": measured}


def analyze(url: str) -> None:
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _tag(sizes: dict[str, int]) -> str:
    return f"{SCHEMA_TAG}:{sizes['plots']}:{sizes['per_plot']}:{sizes['results']}:{sizes['intents']}"


def _cached(url: str, sizes: dict[str, int]) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT tag FROM bench_meta")) == _tag(sizes)
    except Exception:  # noqa: BLE001 - no database, no table: not cached
        return False
    finally:
        engine.dispose()


def sqlite_url(cache_dir: Path, sizes: dict[str, int], rebuild: bool) -> str:
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"coverage_{sizes['plots']}_{sizes['per_plot']}.db"
    url = f"sqlite:///{path}"
    if rebuild or not _cached(url, sizes):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return url


def postgis_url(admin_url: str, sizes: dict[str, int], rebuild: bool) -> str:
    admin = make_url(admin_url)
    name = f"yx_bench_coverage_{sizes['plots']}_{sizes['per_plot']}"
    url = admin.set(database=name).render_as_string(hide_password=False)
    if not rebuild and _cached(url, sizes):
        return url
    return new_postgis_database(admin_url, name)


# --------------------------------------------------------------------------------------------------- timing


def dashboard(session: Session, scope: str) -> tuple[int, int]:
    """What ``server.web.coverage_pages.coverage_page`` computes for a division (a country or a province has no
    plot list): coverage, progress, gaps, and the series over the seasons in use."""
    cov = coverage(session, scope, TIMED_SEASON)
    targets = progress(session, scope, TIMED_SEASON, cov=cov)
    found = gaps(session, scope, TIMED_SEASON, cov=cov)
    series = season_series(session, resolve_scope(session, scope), sorted(SEASONS), cov)
    return len(cov.children) + len(cov.sites) + len(targets) + len(series), len(found.sites) + len(found.flagged)


class SqlClock:
    """Seconds spent in cursor executions on ``engine`` (SQLAlchemy's before/after_cursor_execute events)."""

    def __init__(self, engine: Any) -> None:
        self.total = 0.0
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_a: Any) -> None:
        conn.info["yx_bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, *_a: Any) -> None:
        self.total += time.perf_counter() - conn.info.pop("yx_bench_t0")
        self.statements += 1

    def take(self) -> tuple[float, int]:
        out = (self.total, self.statements)
        self.total, self.statements = 0.0, 0
        return out


def measure(url: str, calls: int, warmup: int, seed: int) -> dict[str, Any]:
    rng = random.Random(f"{seed}:calls")
    engine = make_engine(url)
    with Session(engine) as s:
        provinces = list(s.scalars(select(Division.code).where(Division.level == "province",
                                                               Division.valid_to.is_(None)).order_by(Division.code)))
        counts = {"plots": s.scalar(select(func.count()).select_from(DemoPlot)),
                  "measurements": s.scalar(select(func.count()).select_from(YieldMeasurement)),
                  "counties": s.scalar(select(func.count()).select_from(Division)
                                       .where(Division.county_equivalent.is_(True), Division.valid_to.is_(None))),
                  "sites": s.scalar(select(func.count()).select_from(Site).where(Site.active.is_(True)))}
    national: list[float] = []
    province: list[float] = []
    sql_national: list[float] = []
    sql_province: list[float] = []
    statements = 0
    rows = 0
    clock = SqlClock(engine)
    settle_heap()  # as a production worker does once its app is built (server.production)
    for k in range(calls + warmup):
        with Session(engine) as s:
            clock.take()
            t0 = time.perf_counter()
            rows, _ = dashboard(s, "000000")
            t1 = time.perf_counter()
            sql_n, statements = clock.take()
        with Session(engine) as s:
            t2 = time.perf_counter()
            dashboard(s, rng.choice(provinces))
            t3 = time.perf_counter()
            sql_p, _ = clock.take()
        if k >= warmup:
            national.append((t1 - t0) * 1000)
            province.append((t3 - t2) * 1000)
            sql_national.append(sql_n * 1000)
            sql_province.append(sql_p * 1000)
    engine.dispose()
    return {**counts, "national_rows": rows, "national_statements": statements,
            "national_p50_ms": statistics.median(national), "national_p95_ms": percentile(national, 95),
            "province_p50_ms": statistics.median(province), "province_p95_ms": percentile(province, 95),
            "sql_national_p50_ms": statistics.median(sql_national),
            "sql_national_p95_ms": percentile(sql_national, 95),
            "sql_province_p50_ms": statistics.median(sql_province),
            "sql_province_p95_ms": percentile(sql_province, 95)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--plots", type=int, default=100_000)
    ap.add_argument("--per-plot", type=int, default=10, help="yield measurements per plot (at most 10)")
    ap.add_argument("--quick", action="store_true", help="3,000 plots and 30,000 measurements: a smoke run")
    ap.add_argument("--engines", default="sqlite,postgis")
    ap.add_argument("--postgis-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGIS)
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "yuanxian-bench")
    ap.add_argument("--rebuild", action="store_true", help="build the databases again even if cached")
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    sizes = _sizes(args.quick, args.plots, min(10, args.per_plot))
    calls = 5 if args.quick else args.calls
    warmup = 2
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    report: dict[str, dict[str, Any]] = {}
    for name in engines:
        url = sqlite_url(args.cache_dir, sizes, args.rebuild) if name == "sqlite" else \
            postgis_url(args.postgis_url, sizes, args.rebuild)
        built: dict[str, Any] = {"cached": True}
        if _cached(url, sizes):
            upgrade(url)  # a database cached by an older revision gets the newer migrations (and their data)
            analyze(url)  # … and statistics on what they wrote, as after the bulk load
        else:
            print(f"[{name}] building {sizes['plots']} plots, {sizes['plots'] * sizes['per_plot']} measurements …",
                  file=sys.stderr, flush=True)
            built = {"cached": False, **build(url, sizes["results"], args.seed), **populate(url, sizes, args.seed)}
        print(f"[{name}] timing {calls} national and {calls} province dashboards …", file=sys.stderr, flush=True)
        report[name] = {"built": built, **measure(url, calls, warmup, args.seed)}

    print(f"\n{calls} calls each (+{warmup} warm-up): coverage + progress to the targets + gaps + series, "
          f"season {TIMED_SEASON}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'engine':<8} {'counties':>8} {'sites':>5} {'plots':>8} {'measurements':>12} {'national p50':>13} "
          f"{'national p95':>13} {'province p50':>13} {'province p95':>13} {'SQL nat p50':>12} {'SQL nat p95':>12} "
          f"{'SQL prov p95':>12}")
    for name, r in report.items():
        print(f"{name:<8} {r['counties']:>8} {r['sites']:>5} {r['plots']:>8} {r['measurements']:>12} "
              f"{r['national_p50_ms']:>11.1f}ms {r['national_p95_ms']:>11.1f}ms {r['province_p50_ms']:>11.1f}ms "
              f"{r['province_p95_ms']:>11.1f}ms {r['sql_national_p50_ms']:>10.1f}ms "
              f"{r['sql_national_p95_ms']:>10.1f}ms {r['sql_province_p95_ms']:>10.1f}ms")
    summary = {
        "plots": sizes["plots"], "measurements_per_plot": sizes["per_plot"], "calls": calls,
        "national_p95_ms": {k: round(v["national_p95_ms"], 1) for k, v in report.items()},
        "province_p95_ms": {k: round(v["province_p95_ms"], 1) for k, v in report.items()},
        "national_p50_ms": {k: round(v["national_p50_ms"], 1) for k, v in report.items()},
        "province_p50_ms": {k: round(v["province_p50_ms"], 1) for k, v in report.items()},
        **{f"sql_{x}_ms": {k: round(v[f"sql_{x}_ms"], 1) for k, v in report.items()}
           for x in ("national_p50", "national_p95", "province_p50", "province_p95")},
        "national_statements": {k: v["national_statements"] for k, v in report.items()},
        "load_average": round(os.getloadavg()[0], 1),
        "sizes": {k: {x: v[x] for x in ("counties", "sites", "plots", "measurements")} for k, v in report.items()},
        "built": {k: v["built"] for k, v in report.items()},
        "machine": reference(args.postgis_url if "postgis" in engines else None),  # how fast this machine is
    }
    print(f"machine: {summary['machine']} (bench/machine.py)")
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
