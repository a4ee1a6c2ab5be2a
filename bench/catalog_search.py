"""Search latency of the result catalog at 50,000 results, on SQLite and on PostGIS.

Builds the demo results (``catalog.demo``: generated through the same code as ``yuanxian seed demo``, inserted
with ``bulk_insert_results``, which writes the rows ``create_result`` writes) into an SQLite file and a PostGIS
database, kept between runs (a file under ``--cache-dir``, a database named for the size and seed) and built
again when the schema, the size or the seed changes, or with ``--rebuild``; then times ``catalog.search.search``
(relevance sort, page 1 of 20) and ``catalog.search.facet_counts`` for the same random queries: crop names of two
characters (玉米, 大豆), longer phrases, single characters and empty text, each with 0–3 random facet filters.

    .venv/bin/python bench/catalog_search.py                  # 50,000 results, both engines
    .venv/bin/python bench/catalog_search.py --quick --engines sqlite

The last line is one JSON object: ``search_p95_ms`` and ``facets_p95_ms`` keyed by engine, with p50s, sizes
and build times. On a shared, loaded machine the wall times wait for the CPU; each query's CPU time (this thread's,
plus the PostgreSQL backend's from ``/proc/PID/schedstat`` when the server is local) is reported beside them
(``*_cpu_p95_ms``), with the load average: the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.access import SYSTEM, Actor, Grant  # noqa: E402
from catalog.audit import act_as  # noqa: E402
from catalog.db import make_engine  # noqa: E402
from catalog.demo import BulkReference, DemoClock, DemoGenerator, Places, bulk_insert_results  # noqa: E402
from catalog.migrate import heads, upgrade  # noqa: E402
from catalog.reference import load_reference  # noqa: E402
from catalog.results import ResultCode, ResultRegion  # noqa: E402
from catalog.search import FACETS, SearchQuery, facet_counts, search  # noqa: E402

LOCAL_POSTGIS = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEXTS = ["玉米", "大豆", "水稻", "小麦", "油菜", "蔬菜", "柑橘", "生猪", "茶叶", "棉花",  # two-character crop names
         "耐密高产", "化肥减量增效", "绿色高产高效栽培", "循环水养殖", "快速检测试剂盒", "热泵干燥机",
         "黄淮海", "稻", "麦", "茶", "猪", "虾", "", "", "zl2019"]


def backend_cpu_s(pid: int | None) -> float:
    """CPU seconds a local process (a PostgreSQL backend) has run, in nanosecond steps; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _backend_pid(session: Session) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="yx-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def _tag(count: int, seed: int) -> str:
    return f"{','.join(sorted(heads()))}:{count}:{seed}"


def _built(url: str, tag: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT tag FROM bench_meta")) == tag
    except Exception:  # noqa: BLE001 - no database, no table: not built
        return False
    finally:
        engine.dispose()


def _mark_built(url: str, tag: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_meta (tag VARCHAR(200))"))
        conn.execute(text("INSERT INTO bench_meta VALUES (:t)"), {"t": tag})
    engine.dispose()


def cached_database(engine_name: str, admin_url: str, cache_dir: Path, count: int, seed: int, rebuild: bool
                    ) -> tuple[str, bool]:
    """(url, already built) of the kept database of ``count`` results for ``engine_name``; emptied when stale."""
    tag = _tag(count, seed)
    if engine_name == "sqlite":
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"search_{count}_{seed}.db"
        url = f"sqlite:///{path}"
        if not rebuild and _built(url, tag):
            return url, True
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return url, False
    admin = make_url(admin_url)
    name = f"yx_bench_search_{count}_{seed}"
    url = admin.set(database=name).render_as_string(hide_password=False)
    if not rebuild and _built(url, tag):
        return url, True
    return new_postgis_database(admin_url, name), False


def new_postgis_database(admin_url: str, name: str) -> str:
    """An empty PostGIS database ``name`` on the server of ``admin_url`` (dropped first if it exists); its URL."""
    admin = make_url(admin_url)
    engine = make_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    url = admin.set(database=name).render_as_string(hide_password=False)
    scratch = make_engine(url, isolation_level="AUTOCOMMIT")
    with scratch.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    scratch.dispose()
    return url


@contextmanager
def postgis_database(admin_url: str) -> Iterator[str]:
    admin = make_url(admin_url)
    name = f"yx_bench_{uuid.uuid4().hex[:10]}"
    engine = make_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        scratch = make_engine(url, isolation_level="AUTOCOMMIT")
        with scratch.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        scratch.dispose()
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        engine.dispose()


def build(url: str, count: int, seed: int) -> dict[str, float]:
    """Migrate, load reference data, insert ``count`` demo results, analyse. Returns timings in seconds."""
    t0 = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        load_reference(s)
    t1 = time.perf_counter()
    with Session(engine) as s, s.begin():
        items = list(DemoGenerator(seed, Places.load(s)).results(count))
        t2 = time.perf_counter()
        bulk_insert_results(s, items, BulkReference.load(s), DemoClock(seed))
    t3 = time.perf_counter()
    engine.dispose()
    # Fresh statistics and visibility map, as autovacuum would give a live database (index-only scans need it).
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return {"migrate_reference_s": t1 - t0, "generate_s": t2 - t1, "insert_s": t3 - t2,
            "analyze_s": time.perf_counter() - t3}


def make_queries(url: str, n: int, seed: int) -> list[SearchQuery]:
    """``n`` queries: a text from TEXTS and 0–3 facet filters drawn from values present in the data."""
    rng = random.Random(f"{seed}:queries")
    engine = make_engine(url)
    values: dict[str, list[str]] = {}
    with Session(engine) as s:
        for dim, code in s.execute(select(ResultCode.dimension, ResultCode.code).distinct()
                                   .order_by(ResultCode.dimension, ResultCode.code)):
            values.setdefault(dim, []).append(code)
        values["province"] = list(s.scalars(select(ResultRegion.province_code).distinct()
                                            .order_by(ResultRegion.province_code)))
    engine.dispose()
    values |= {"trl": [str(i) for i in range(3, 10)], "source": ["national", "local"],
               "form": ["variety", "procedure", "equipment", "product", "software", "standard"],
               "state": ["published", "reviewed", "submitted", "draft", "withdrawn"]}
    facets = [f for f in FACETS if values.get(f)]
    out = []
    for _ in range(n):
        filters = {f: rng.sample(values[f], k=min(len(values[f]), rng.choice([1, 1, 2])))
                   for f in rng.sample(facets, k=rng.randint(0, 3))}
        # Timed as a ministry officer: every result past draft is readable, the broadest scope a user has.
        out.append(SearchQuery(q=rng.choice(TEXTS), filters=filters, sort="relevance", page=1, per_page=20,
                               actor=OFFICER))
    return out


OFFICER = Actor("bench", user_id="bench", grants=(Grant("ministry_officer"),))


def measure(url: str, queries: list[SearchQuery], warmup: int) -> dict[str, Any]:
    engine = make_engine(url)
    search_ms: list[float] = []
    facets_ms: list[float] = []
    search_cpu: list[float] = []
    facets_cpu: list[float] = []
    totals: list[int] = []

    def cpu(pid: int | None) -> float:
        return time.thread_time() + backend_cpu_s(pid)

    for i, query in enumerate(queries):
        with Session(engine) as s:  # a session per request, as the app has
            pid = _backend_pid(s)
            c0, t0 = cpu(pid), time.perf_counter()
            page = search(s, query)
            t1, c1 = time.perf_counter(), cpu(pid)
        with Session(engine) as s:
            pid = _backend_pid(s)
            c2, t2 = cpu(pid), time.perf_counter()
            facet_counts(s, query)
            t3, c3 = time.perf_counter(), cpu(pid)
        if i >= warmup:
            search_ms.append((t1 - t0) * 1000)
            facets_ms.append((t3 - t2) * 1000)
            search_cpu.append((c1 - c0) * 1000)
            facets_cpu.append((c3 - c2) * 1000)
            totals.append(page.total)
    engine.dispose()
    slowest = sorted(zip(facets_ms, search_ms, queries[warmup:], strict=True), key=lambda x: -x[0] - x[1])[:3]
    return {
        "search_p50_ms": statistics.median(search_ms), "search_p95_ms": percentile(search_ms, 95),
        "facets_p50_ms": statistics.median(facets_ms), "facets_p95_ms": percentile(facets_ms, 95),
        "search_cpu_p95_ms": percentile(search_cpu, 95), "facets_cpu_p95_ms": percentile(facets_cpu, 95),
        "median_hits": statistics.median(totals),
        "slowest": [{"q": q.q, "filters": q.filters, "search_ms": round(sm, 1), "facets_ms": round(fm, 1)}
                    for fm, sm, q in slowest],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true", help="2,000 results and 60 queries: a smoke run in seconds")
    ap.add_argument("--engines", default="sqlite,postgis")
    ap.add_argument("--postgis-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGIS)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "yuanxian-bench")
    ap.add_argument("--rebuild", action="store_true", help="build the databases again even if kept")
    args = ap.parse_args(argv)
    count, n_queries = (2000, 60) if args.quick else (args.results, args.queries)
    warmup = max(5, n_queries // 10)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    report: dict[str, dict[str, Any]] = {}
    for name in engines:
        url, kept = cached_database(name, args.postgis_url, args.cache_dir, count, args.seed, args.rebuild)
        built: dict[str, float] = {}
        if not kept:
            print(f"[{name}] building {count} results …", file=sys.stderr, flush=True)
            built = build(url, count, args.seed)
            _mark_built(url, _tag(count, args.seed))
        queries = make_queries(url, n_queries + warmup, args.seed)
        print(f"[{name}] timing {n_queries} queries{' (kept database)' if kept else ''} …", file=sys.stderr, flush=True)
        report[name] = {"built": built, **measure(url, queries, warmup)}

    print(f"\n{count} results, {n_queries} queries (+{warmup} warm-up), relevance sort, page 1 of 20")
    print(f"{'engine':<8} {'search p50':>11} {'search p95':>11} {'facets p50':>11} {'facets p95':>11} "
          f"{'hits p50':>9} {'insert s':>9} {'CPU p95 search/facets':>22}")
    for name, r in report.items():
        print(f"{name:<8} {r['search_p50_ms']:>9.1f}ms {r['search_p95_ms']:>9.1f}ms {r['facets_p50_ms']:>9.1f}ms "
              f"{r['facets_p95_ms']:>9.1f}ms {r['median_hits']:>9.0f} {r['built'].get('insert_s', 0.0):>9.1f} "
              f"{r['search_cpu_p95_ms']:>11.1f}/{r['facets_cpu_p95_ms']:.1f}ms")
    load = os.getloadavg()[0]
    print(f"load average {load:.2f}; CPU: this process and, on PostGIS, its server backend")
    for name, r in report.items():
        for slow in r["slowest"]:
            print(f"  slowest on {name}: {slow}")
    summary = {
        "results": count, "queries": n_queries,
        "search_p95_ms": {k: round(v["search_p95_ms"], 2) for k, v in report.items()},
        "facets_p95_ms": {k: round(v["facets_p95_ms"], 2) for k, v in report.items()},
        "search_p50_ms": {k: round(v["search_p50_ms"], 2) for k, v in report.items()},
        "facets_p50_ms": {k: round(v["facets_p50_ms"], 2) for k, v in report.items()},
        "search_cpu_p95_ms": {k: round(v["search_cpu_p95_ms"], 2) for k, v in report.items()},
        "facets_cpu_p95_ms": {k: round(v["facets_cpu_p95_ms"], 2) for k, v in report.items()},
        "load_avg": round(load, 2),
        "build_s": {k: {m: round(s, 1) for m, s in v["built"].items()} for k, v in report.items()},
    }
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
