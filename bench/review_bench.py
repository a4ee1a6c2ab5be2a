"""Yield review at national size, on SQLite and on PostGIS: each plot's highest approved measurement and the review
queues.

Builds a migrated database with the reference data, then bulk-inserts (executemany, not the ORM: the rules are tested
in tests/catalog/test_review.py; the bench times reading) ``--plots`` demo plots spread over every county-level
division and ten measurements per plot (county self-tests, city, province and ministry re-tests chained by
``verifies_id``; each level approved with some probability only when the one below is, else pending or rejected).
Then times, each call in a fresh session as a request would be:

- ``best_national``: ``catalog.review.best_approved_query`` over every plot, aggregated in SQL to plots per level —
  the window function over all approved measurements;
- ``best_province``: ``catalog.review.best_approved`` (ORM objects) for the plots of one province, given as a select;
- ``queue_province``: a province officer's review queue (``catalog.review.review_queue``: count and first page).

    .venv/bin/python bench/review_bench.py                   # 100,000 plots, 1,000,000 measurements, both engines
    .venv/bin/python bench/review_bench.py --quick --engines sqlite

The last line is one JSON object: ``best_national_p95_ms``, ``best_province_p95_ms`` and ``queue_province_p95_ms``
keyed by engine, with p50s, sizes and build times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog_search import LOCAL_POSTGIS, percentile, postgis_database, sqlite_database  # noqa: E402
from catalog import review  # noqa: E402
from catalog.access import SYSTEM, Actor, Grant  # noqa: E402
from catalog.audit import act_as  # noqa: E402
from catalog.db import make_engine, utcnow  # noqa: E402
from catalog.divisions import Division  # noqa: E402
from catalog.field import DemoPlot, YieldMeasurement  # noqa: E402
from catalog.migrate import upgrade  # noqa: E402
from catalog.reference import load_reference  # noqa: E402

# ten measurements a plot: two county self-tests (harvest, theoretical), one city, two province, ...
LEVEL_PLAN = ("county", "county", "city", "province", "province", "ministry", "county", "province", "county",
              "ministry")
APPROVE_P = {"county": 0.8, "city": 0.7, "province": 0.6, "ministry": 0.5}


def build(url: str, plots: int, seed: int) -> dict[str, float]:
    t0 = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        load_reference(s)
        counties = list(s.scalars(select(Division.code).where(Division.county_equivalent.is_(True),
                                                              Division.valid_to.is_(None))))
    t1 = time.perf_counter()
    rng = random.Random(f"review-bench:{seed}")
    now = utcnow()
    common = {"version": 1, "field_versions": {}, "deleted": False, "created_at": now, "updated_at": now,
              "created_by": "bench", "updated_by": "bench"}
    plot_rows: list[dict[str, Any]] = []
    yield_rows: list[dict[str, Any]] = []
    for i in range(plots):
        pid = str(uuid.UUID(int=rng.getrandbits(128)))
        county = counties[i % len(counties)]
        plot_rows.append({**common, "id": pid, "county_code": county, "name": f"示范田{i}", "source_crs": "wgs84",
                          "area_m2": rng.uniform(10, 200) * 10000 / 15, "crop": "wheat", "demo_type": "variety",
                          "season": "2026-summer_grain", "flags": {}})
        last: dict[str, tuple[str, bool]] = {}
        for k, level in enumerate(LEVEL_PLAN):
            below = {"county": None, "city": "county", "province": "city" if "city" in last else "county",
                     "ministry": "province"}[level]
            verifies, approved_below = (last[below] if below in last else (None, below is None))
            state = "approved" if approved_below and rng.random() < APPROVE_P[level] else rng.choice(
                ("pending", "pending", "rejected"))
            yid = str(uuid.UUID(int=rng.getrandbits(128)))
            value = rng.uniform(450, 700)
            yield_rows.append({**common, "id": yid, "plot_id": pid, "county_code": county,
                               "method": "theoretical" if k == 1 else "harvest", "level": level,
                               "measured_on": dt.date(2026, 6, 1 + k), "crop": "wheat", "panel": [], "samples": [],
                               "standard_moisture": 0.13, "yield_kg_per_mu": round(value, 2),
                               "baseline_kg_per_mu": 500.0, "baseline_type": "county_average",
                               "gain_pct": round((value - 500) / 5, 2), "verifies_id": verifies,
                               "review_state": state, "reviewed_by": "bench" if state != "pending" else None,
                               "reviewed_at": now if state != "pending" else None, "review_comment": None})
            if below is None or below in last:
                last[level] = (yid, state == "approved")
    t2 = time.perf_counter()
    with engine.begin() as conn:
        for table, rows in ((DemoPlot, plot_rows), (YieldMeasurement, yield_rows)):
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[start:start + 20_000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    t3 = time.perf_counter()
    return {"reference_s": t1 - t0, "generate_s": t2 - t1, "insert_s": t3 - t2}


def measure(url: str, calls: int, warmup: int, seed: int) -> dict[str, Any]:
    engine = make_engine(url)
    rng = random.Random(f"review-bench-calls:{seed}")
    with Session(engine) as s:
        provinces = list(s.scalars(select(Division.code).where(Division.level == "province",
                                                               Division.valid_to.is_(None))))
        sizes = {"plots": s.scalar(select(func.count()).select_from(DemoPlot)),
                 "measurements": s.scalar(select(func.count()).select_from(YieldMeasurement))}

    def national(s: Session, _code: str) -> int:
        best = review.best_approved_query().subquery()
        return len(s.execute(select(best.c.level, func.count()).group_by(best.c.level)).all())

    def province(s: Session, code: str) -> int:
        plots = select(DemoPlot.id).where(DemoPlot.county_code.startswith(code[:2]))
        return len(review.best_approved(s, plots))

    def queue(s: Session, code: str) -> int:
        officer = Actor("bench", user_id="bench", grants=(Grant("province_officer", code),))
        return review.review_queue(s, officer, review.QueueFilter(), 1, 50)[1]

    out: dict[str, Any] = dict(sizes)
    for name, fn in (("best_national", national), ("best_province", province), ("queue_province", queue)):
        times: list[float] = []
        for i in range(warmup + calls):
            code = rng.choice(provinces)
            with Session(engine) as s:
                t = time.perf_counter()
                fn(s, code)
                elapsed = (time.perf_counter() - t) * 1000
            if i >= warmup:
                times.append(elapsed)
        out[f"{name}_p50_ms"] = percentile(times, 50)
        out[f"{name}_p95_ms"] = percentile(times, 95)
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--plots", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="2,000 plots (20,000 measurements) and 10 calls")
    ap.add_argument("--engines", default="sqlite,postgis")
    ap.add_argument("--postgis-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGIS)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    plots, calls = (2000, 10) if args.quick else (args.plots, args.calls)
    warmup = 2
    report: dict[str, dict[str, Any]] = {}
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        db = sqlite_database() if name == "sqlite" else postgis_database(args.postgis_url)
        with db as url:
            print(f"[{name}] building {plots} plots, {plots * len(LEVEL_PLAN)} measurements …", file=sys.stderr,
                  flush=True)
            built = build(url, plots, args.seed)
            print(f"[{name}] timing {calls} calls each …", file=sys.stderr, flush=True)
            report[name] = {"built": built, **measure(url, calls, warmup, args.seed)}
    print(f"\n{plots} plots, {plots * len(LEVEL_PLAN)} measurements, {calls} calls each (+{warmup} warm-up)")
    print(f"{'engine':<8} {'national p50':>13} {'national p95':>13} {'province p50':>13} {'province p95':>13} "
          f"{'queue p50':>10} {'queue p95':>10} {'insert s':>9}")
    for name, r in report.items():
        print(f"{name:<8} {r['best_national_p50_ms']:>11.1f}ms {r['best_national_p95_ms']:>11.1f}ms "
              f"{r['best_province_p50_ms']:>11.1f}ms {r['best_province_p95_ms']:>11.1f}ms "
              f"{r['queue_province_p50_ms']:>8.1f}ms {r['queue_province_p95_ms']:>8.1f}ms "
              f"{r['built']['insert_s']:>9.1f}")
    summary: dict[str, Any] = {"plots": plots, "measurements": plots * len(LEVEL_PLAN), "calls": calls}
    for key in ("best_national", "best_province", "queue_province"):
        for stat in ("p95", "p50"):
            summary[f"{key}_{stat}_ms"] = {k: round(v[f"{key}_{stat}_ms"], 1) for k, v in report.items()}
    summary["build_s"] = {k: {m: round(s, 1) for m, s in v["built"].items()} for k, v in report.items()}
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
