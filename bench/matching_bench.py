"""Matching latency at 50,000 results, on SQLite and on PostGIS.

Builds the demo results the way ``bench/catalog_search.py`` does (``catalog.demo`` generator, ``bulk_insert_results``)
into a fresh SQLite file and a scratch PostGIS database, adds the demo plots with yields (``catalog.demo_plots``,
a few linked to results by ``catalog.demo_needs.link_demo_plots``), and posts one open need for every active site of
the three lists (parks, innovation counties, key assistance counties) with crops, land scenarios and wording drawn
from the need templates of ``catalog.demo_needs``. Then times:

- ``need_to_results``: ``catalog.matching.rank_results`` (top 20 with reasons) for a random need;
- ``result_to_sites``: ``catalog.matching.rank_sites`` (top 20 with reasons) for a random published result,
  against every site's open needs.

Each call gets a fresh session, as a request would; the first calls (which build the per-process index) are
warm-up and reported separately as the index build time.

    .venv/bin/python bench/matching_bench.py                  # 50,000 results, both engines
    .venv/bin/python bench/matching_bench.py --quick --engines sqlite

The last line is one JSON object: ``need_to_results_p95_ms`` and ``result_to_sites_p95_ms`` keyed by engine, with
p50s, sizes and build times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog_search import LOCAL_POSTGIS, build, percentile, postgis_database, sqlite_database  # noqa: E402
from catalog.access import SYSTEM  # noqa: E402
from catalog.audit import act_as  # noqa: E402
from catalog.db import make_engine, utcnow  # noqa: E402
from catalog.demo_needs import NEEDS, link_demo_plots  # noqa: E402
from catalog.demo_plots import seed_plots  # noqa: E402
from catalog.matching import match_index, rank_results, rank_sites  # noqa: E402
from catalog.need_store import M2_PER_MU  # noqa: E402
from catalog.needs import Need  # noqa: E402
from catalog.results import Result  # noqa: E402
from catalog.sites import Site  # noqa: E402

TEMPLATES = [data for needs in NEEDS.values() for data, _steps in needs]


def add_needs(url: str, seed: int) -> dict[str, float]:
    """Demo plots with yields, and one open need per active site (inserted in bulk: the rules are tested
    elsewhere; the bench times reading them)."""
    engine = make_engine(url)
    rng = random.Random(f"{seed}:needs")
    t0 = time.perf_counter()
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        seed_plots(s, seed, per_county=20)
        link_demo_plots(s, seed)
        rows = []
        for site in s.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.id)):
            template = rng.choice(TEMPLATES)
            rows.append({
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{seed}:{site.id}")), "site_id": site.id,
                "province_code": site.province_code, "title": template["title"], "problem": template["problem"],
                "crops": template.get("crops", []), "industry_types": template.get("industry_types", []),
                "scenarios": template.get("scenarios", []), "land_scenarios": template.get("land_scenarios", []),
                "season": template.get("season"), "area_m2": template.get("area_mu", 1000) * M2_PER_MU,
                "scale_text": None, "contact": None, "state": "open", "matched_result_id": None,
                "state_comment": None, "version": 1, "created_at": utcnow(), "updated_at": utcnow(),
                "created_by": "bench", "updated_by": "bench"})
        s.execute(insert(Need), rows)
    engine.dispose()
    return {"plots_needs_s": time.perf_counter() - t0, "needs": len(rows)}


def measure(url: str, n: int, warmup: int, seed: int) -> dict[str, Any]:
    rng = random.Random(f"{seed}:calls")
    engine = make_engine(url)
    with Session(engine) as s:
        need_ids = list(s.scalars(select(Need.id).order_by(Need.id)))
        result_ids = list(s.scalars(select(Result.id).where(Result.state == "published").order_by(Result.id)))
        t0 = time.perf_counter()
        index = match_index(s)
        index_s = time.perf_counter() - t0
    forward: list[float] = []
    backward: list[float] = []
    hits: list[int] = []
    site_hits: list[int] = []
    for k in range(n + warmup):
        with Session(engine) as s:
            t0 = time.perf_counter()
            need = s.get(Need, rng.choice(need_ids))
            assert need is not None
            matches = rank_results(s, need, 20)
            t1 = time.perf_counter()
        with Session(engine) as s:
            t2 = time.perf_counter()
            sites = rank_sites(s, SYSTEM, rng.choice(result_ids), 20)
            t3 = time.perf_counter()
        if k >= warmup:
            forward.append((t1 - t0) * 1000)
            backward.append((t3 - t2) * 1000)
            hits.append(len(matches))
            site_hits.append(len(sites))
    engine.dispose()
    return {"index_build_s": index_s, "published": index.size, "needs": len(need_ids),
            "need_to_results_p50_ms": statistics.median(forward), "need_to_results_p95_ms": percentile(forward, 95),
            "result_to_sites_p50_ms": statistics.median(backward), "result_to_sites_p95_ms": percentile(backward, 95),
            "median_matches": statistics.median(hits), "median_sites": statistics.median(site_hits)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--results", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true", help="2,000 results and 40 calls: a smoke run")
    ap.add_argument("--engines", default="sqlite,postgis")
    ap.add_argument("--postgis-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGIS)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    count, calls = (2000, 40) if args.quick else (args.results, args.calls)
    warmup = max(3, calls // 10)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    report: dict[str, dict[str, Any]] = {}
    for name in engines:
        db = sqlite_database() if name == "sqlite" else postgis_database(args.postgis_url)
        with db as url:
            print(f"[{name}] building {count} results …", file=sys.stderr, flush=True)
            built = build(url, count, args.seed)
            built.update(add_needs(url, args.seed))
            print(f"[{name}] timing {calls} calls each way …", file=sys.stderr, flush=True)
            report[name] = {"built": built, **measure(url, calls, warmup, args.seed)}

    print(f"\n{count} results, {calls} calls each way (+{warmup} warm-up), top 20 with reasons")
    print(f"{'engine':<8} {'published':>9} {'needs':>6} {'need→res p50':>13} {'need→res p95':>13} "
          f"{'res→sites p50':>14} {'res→sites p95':>14} {'index s':>8}")
    for name, r in report.items():
        print(f"{name:<8} {r['published']:>9} {r['needs']:>6} {r['need_to_results_p50_ms']:>11.1f}ms "
              f"{r['need_to_results_p95_ms']:>11.1f}ms {r['result_to_sites_p50_ms']:>12.1f}ms "
              f"{r['result_to_sites_p95_ms']:>12.1f}ms {r['index_build_s']:>8.1f}")
    summary = {
        "results": count, "calls": calls,
        "need_to_results_p95_ms": {k: round(v["need_to_results_p95_ms"], 2) for k, v in report.items()},
        "result_to_sites_p95_ms": {k: round(v["result_to_sites_p95_ms"], 2) for k, v in report.items()},
        "need_to_results_p50_ms": {k: round(v["need_to_results_p50_ms"], 2) for k, v in report.items()},
        "result_to_sites_p50_ms": {k: round(v["result_to_sites_p50_ms"], 2) for k, v in report.items()},
        "index_build_s": {k: round(v["index_build_s"], 2) for k, v in report.items()},
        "published": {k: v["published"] for k, v in report.items()},
        "needs": {k: v["needs"] for k, v in report.items()},
        "build_s": {k: {m: round(s, 1) for m, s in v["built"].items()} for k, v in report.items()},
    }
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
