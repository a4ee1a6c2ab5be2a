"""Field kit sync over a slow, lossy link: a county's first sync, a day's push, push throughput and integrity.

Everything is the project's own code: the server is ``server.create_app`` served over real HTTP by gunicorn as
production serves it (``server.production``: ``--workers`` gthread workers of 4 threads on one listening socket of
127.0.0.1; werkzeug processes instead with ``--profile``, which profiles each request in its thread); the kits
are ``fieldkit.store.Store`` files written with ``fieldkit.records`` and synced by ``sync.client.SyncClient``
through ``sync.transport.HttpTransport``. The server's data comes from ``catalog.demo`` (results, inserted with
``bulk_insert_results`` and logged for sync with ``ensure_backfilled``, as ``yuanxian sync backfill`` does),
``catalog.demo_plots.seed_plots`` (other counties' plots) and ``catalog.field_rules`` (the county's plots and yields,
written as its agent, as every path writes them).

Runs, on each engine (SQLite, and PostGIS in a scratch database made and dropped here):

- **first sync**: a freshly enrolled kit of county 410184 (新郑市) pulls its scope — at least ``--listed`` results
  listed for it (the published national list and 河南's local list), code lists, sites, and the ``--plots`` plots and
  ``--yields`` yields already on the server for the county;
- **day's push**: the same kit records ``--day-plots`` plots, ``--day-yields`` yields and ``--photos`` photos of
  ``--photo-kb`` KB (real JPEGs with EXIF, padded with random bytes: incompressible, as photos are), then syncs:
  the photos go up through the resumable content-addressed upload (HEAD, then PATCH chunks of 128 KiB);

both through **the link**: an HTTP proxy on 127.0.0.1 between kit and server, 64 kbit/s each way, 600 ms round
trip, one request per connection (the proxy closes every connection, so each request also pays a TCP handshake),
and 5 % of connections cut — half of the cuts while the request goes up (the server never sees it), half while the
answer comes down (the server has committed; the kit must not apply it twice). The proxy forwards at loopback
speed and keeps a **virtual clock** instead of sleeping: per request 1 RTT (handshake) + RTT/2 + bytes up ÷
bandwidth + RTT/2 + bytes down ÷ bandwidth (a cut connection: the part carried until the cut, then RTT/2 for the
reset to come back); the kit's retries back off through the transport's own ``Backoff`` with a sleep that
advances the virtual clock. A kit's time on the link is its real time on loopback (server, database and kit work,
all real) plus what the link and the backoff would have made it wait. TCP slow start, packet headers and silent
drops (a cut noticed only at the read timeout) are not modelled: the figures are for a link that resets a cut.
**check**: the day's kit then records a few plots and yields and a photo (no photo with ``--quick``) twice, and
syncs each time with the same planned cuts (``CHECK_PLAN``): once through the proxy sleeping for real (latencies
slept, the answer paced to the kit at the link's rate, real backoff sleeps), once on the virtual clock; both times
are printed with their parts (work on loopback, link, backoff).

Counted bytes are those the proxy reads from and writes to the kit's socket: HTTP heads and bodies as sent (gzip
bodies compressed), retries and the part of a cut request or answer that crossed the link included.
``wire_to_gzip_ratio`` is the wire bytes of the JSON requests (pull and push, both ways) over the gzip size
(level 6, as ``gzip(1)``) of the JSON of the records they carried (each pulled record and each pushed mutation's
record once); photo bytes are reported apart (``photo_overhead``: wire bytes of the upload over the photo bytes).

**throughput** (PostGIS only): ``--kits`` kits of as many 河南 counties, each with ``--kit-mutations`` mutations in
its outbox (plots and yields, 1 : 3 as in a day's push), push at once to the server on loopback without the link,
in batches of ``--batch``; ``push_mutations_per_s`` is all mutations over the wall time from the start to the last
answer. The kits run as threads of this process, on the same cores as the server: the table gives the CPU time
per mutation of the server processes, of their PostgreSQL backends and of the kits, and the load average before
the run (other work on the machine takes its share of the cores), and the busy time of all the machine's cores
over the run (``/proc/stat``), which also holds the kernel's share and whatever else runs.

**integrity**: after the runs, the server is counted against what the kits intended: ``lost`` (a record a kit made
that the server lacks, a photo whose file it lacks) and ``duplicated`` (a record inserted twice, or more rows in
the county than were seeded plus pushed), both summed over engines and runs; ``first_sync_missing``: scope records
the kit lacks after its first sync.

    .venv/bin/python bench/sync_bench.py                  # full size, SQLite and PostGIS (5 minutes or so)
    .venv/bin/python bench/sync_bench.py --quick          # small sizes; the link runs on the first engine only
    .venv/bin/python bench/sync_bench.py --engines sqlite --no-throughput
    .venv/bin/python bench/sync_bench.py --engines postgis --no-link     # the throughput run alone
    .venv/bin/python bench/sync_bench.py --engines postgis --no-link --profile /tmp/prof  # where the CPU goes

``--profile DIR`` writes cProfile statistics timed in thread CPU time (``pstats``-readable): ``server-PID.prof``
per server process (every request summed) and ``kit-N.prof`` per kit's push; profiling slows everything down.

The server processes load the county index (``gis.county_index``, 1–2 s) when they start, as each would on its
first plot; that is not counted as a sync's time.

Goals (the issue): ratio under 1.3, first sync under 10 minutes on the link, at least 1,000 mutations a second.
The last line is one JSON object: ``wire_to_gzip_ratio``, ``first_sync_s``, ``push_s``, ``requests``,
``bytes_up``, ``bytes_down`` (first sync and day's push together) of the first engine (SQLite by default), the same
per engine in ``by_engine``, ``lost``, ``duplicated``, ``push_mutations_per_s`` (null without PostGIS) and
``check`` (the virtual and the real clock of the same short sync) and ``machine`` (``bench/machine.py``: how fast this
machine is).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.catalog_search import postgis_database  # noqa: E402  (a scratch PostGIS database, dropped after)
from bench.machine import reference  # noqa: E402

LOCAL_POSTGIS = "postgresql+psycopg://postgres@127.0.0.1:5432/yuanxian_test"
COUNTY = "410184"  # 新郑市: not one of catalog.demo_plots' counties, so its plots are only the ones seeded here
PASSWORD = "bench-sync-password-1"
PHOTO_TIME = "2026:09:20 10:15:00"  # in the day's season (2026 autumn grain)


# --- databases -------------------------------------------------------------------------------------------------


@contextmanager
def sqlite_database(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'server.db'}"


def postgis_answers(admin_url: str) -> str | None:
    """None if a PostgreSQL server with PostGIS answers at ``admin_url``, else why not."""
    from catalog.db import make_engine

    try:
        engine = make_engine(admin_url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            ok = conn.execute(text("select 1 from pg_available_extensions where name = 'postgis'")).scalar()
        engine.dispose()
    except Exception as exc:  # no server: PostGIS runs are skipped
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None if ok else "PostGIS is not available on that server"


def settle(url: str, timeout: float = 120.0) -> None:
    """PostgreSQL: wait until every transaction open now in the cluster has ended, so the pull horizon has passed
    what was committed (other databases' transactions hold it back too). No-op on SQLite."""
    if not url.startswith("postgresql"):
        return
    from catalog.db import make_engine

    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        target = conn.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))
        deadline = time.monotonic() + timeout
        while conn.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")) < target:
            if time.monotonic() > deadline:
                print("warning: a transaction stays open in the PostgreSQL cluster; pulls lag behind it",
                      file=sys.stderr)
                break
            time.sleep(0.05)
    engine.dispose()


# --- geometry and records ----------------------------------------------------------------------------------------


def field_polygon(rng: random.Random, lon: float, lat: float, mu: float, vertices: int) -> shapely.Polygon:
    """A walked field of ``mu`` 亩 around (lon, lat) WGS-84: a rotated rectangle (long side 1.5–2.5× the short one)
    traced by ``vertices`` GNSS points with ±0.5 m noise, coordinates to 7 decimals (1 cm). Metres to degrees by
    the local scale of the ellipsoid (plenty for a field of a few hundred metres)."""
    from gis.area import M2_PER_MU

    ratio = rng.uniform(1.5, 2.5)
    short = math.sqrt(mu * M2_PER_MU / ratio)
    long_ = short * ratio
    angle = rng.uniform(0, math.pi)
    cos, sin = math.cos(angle), math.sin(angle)
    m_per_deg_lat = 111_132.954 - 559.822 * math.cos(2 * math.radians(lat))
    m_per_deg_lon = 111_412.84 * math.cos(math.radians(lat))
    corners = [(-long_ / 2, -short / 2), (long_ / 2, -short / 2), (long_ / 2, short / 2), (-long_ / 2, short / 2)]
    per_side = max(1, vertices // 4)
    pts = []
    for k in range(4):
        (x0, y0), (x1, y1) = corners[k], corners[(k + 1) % 4]
        for j in range(per_side):
            t = j / per_side
            x, y = x0 + (x1 - x0) * t + rng.uniform(-0.5, 0.5), y0 + (y1 - y0) * t + rng.uniform(-0.5, 0.5)
            pts.append((round(lon + (x * cos - y * sin) / m_per_deg_lon, 7),
                        round(lat + (x * sin + y * cos) / m_per_deg_lat, 7)))
    return shapely.Polygon(pts)


def county_cells(county: str, label: tuple[float, float], count: int) -> list[tuple[float, float]]:
    """``count`` centres of 230 m × 220 m grid cells inside ``county`` (``gis`` county lookup), nearest the label
    point first; a field of up to 25 亩 in a cell overlaps no other."""
    import gis

    lon0, lat0 = label
    ring = 40  # a fixed grid (±9 km), so that a longer list starts with the shorter one
    cand = [(lon0 + i * 0.0025, lat0 + j * 0.002) for i in range(-ring, ring + 1) for j in range(-ring, ring + 1)]
    codes = gis.county_index().lookup_many(cand)
    inside = [p for p, code in zip(cand, codes, strict=True) if code == county]
    inside.sort(key=lambda p: ((p[0] - lon0) ** 2 + (p[1] - lat0) ** 2, p))
    if len(inside) < count:
        raise ValueError(f"county {county} has room for {len(inside)} plots near its label point, not {count}")
    return inside[:count]


def harvest_samples(rng: random.Random, target: float, standard: float, points: int) -> list[dict[str, float]]:
    """实收测产 points whose standard-moisture weight over their area gives ``target`` kg/亩 (± 5 % per point)."""
    out = []
    for _ in range(points):
        area = round(rng.uniform(0.8, 1.5), 2)
        moisture, impurity = round(rng.uniform(0.20, 0.28), 3), round(rng.uniform(0.002, 0.02), 3)
        fresh = target * rng.uniform(0.95, 1.05) * area * (1 - standard) / ((1 - impurity) * (1 - moisture))
        out.append({"area_mu": area, "fresh_kg": round(fresh, 1), "moisture": moisture, "impurity": impurity})
    return out


def theoretical_samples(rng: random.Random, target: float) -> list[dict[str, float]]:
    """理论测产 of maize: ears per 亩, grains per ear and the thousand-grain weight that give ``target``."""
    ears, grains = rng.uniform(4200, 5200), rng.uniform(480, 560)
    return [{"ears_per_mu": round(ears), "grains_per_ear": round(grains, 1),
             "thousand_grain_g": round(target / (ears * grains * 1e-6 * 0.85), 1)} for _ in range(3)]


def photo_bytes(rng: random.Random, size: int, lon: float, lat: float) -> bytes:
    """A JPEG with EXIF time and GPS position, padded with random bytes to ``size`` (readers stop at its end)."""
    from PIL import Image
    from PIL.ExifTags import IFD

    img = Image.frombytes("RGB", (160, 120), rng.randbytes(160 * 120 * 3))
    exif = Image.Exif()
    exif[0x0132] = PHOTO_TIME
    exif.get_ifd(IFD.Exif)[0x9003] = PHOTO_TIME

    def dms(v: float) -> tuple[float, float, float]:
        d, rest = int(v), (v - int(v)) * 60
        return (float(d), float(int(rest)), round((rest - int(rest)) * 60, 2))

    gps = exif.get_ifd(IFD.GPSInfo)
    gps.update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80, exif=exif)
    data = buf.getvalue()
    return data + rng.randbytes(max(0, size - len(data)))


# --- the server's data -------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    results: int = 0
    listed: int = 0
    plots: int = 0
    yields: int = 0
    other_plots: int = 0
    seconds: float = 0.0


def prepare(url: str) -> None:
    from catalog.access import SYSTEM
    from catalog.audit import act_as
    from catalog.db import make_engine
    from catalog.migrate import upgrade
    from catalog.reference import load_reference

    upgrade(url)
    engine = make_engine(url)
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        load_reference(s)
    engine.dispose()


def seed_server(url: str, *, listed: int, plots: int, yields: int, other_per_county: int, seed: int) -> Seeded:
    """Results until ``listed`` are listed for COUNTY's scope; ``plots`` plots with ``yields`` yields in COUNTY (as
    its agent, through ``catalog.field_rules``); a few demo plots in the demo counties; the change log backfilled."""
    from catalog.access import SYSTEM, Actor, Grant
    from catalog.audit import act_as
    from catalog.changelog import result_scope, scopes_of_counties
    from catalog.db import make_engine
    from catalog.demo import BulkReference, DemoClock, DemoGenerator, Places, bulk_insert_results
    from catalog.demo_plots import seed_plots
    from catalog.divisions import Division
    from catalog.field_rules import apply_plot, apply_yield
    from catalog.sync_server import ensure_backfilled

    t0 = time.perf_counter()
    out = Seeded()
    engine = make_engine(url)
    scopes = set(scopes_of_counties([COUNTY]))
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        generator = DemoGenerator(seed, Places.load(s))
        items = []
        while out.listed < listed:
            for item in generator.results(min(1000, max(50, 2 * (listed - out.listed)))):
                items.append(item)
                d = item.data
                if result_scope(item.final_state, d["source"], d.get("source_province")) in scopes:
                    out.listed += 1
        bulk_insert_results(s, items, BulkReference.load(s), DemoClock(seed))
        out.results = len(items)
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        out.other_plots = seed_plots(s, seed, per_county=other_per_county).plots
    rng = random.Random(f"{seed}:server-plots")
    agent = Actor(f"bench-agent-{COUNTY}", grants=(Grant("agent", COUNTY),), channel="seed")
    namespace = uuid.UUID(int=seed)
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        division = s.get(Division, COUNTY)
        assert division is not None and division.label_lng is not None and division.label_lat is not None
        cells = county_cells(COUNTY, (division.label_lng, division.label_lat), plots)
        per_plot = [yields // plots + (1 if i < yields % plots else 0) for i in range(plots)]
        for i, (lon, lat) in enumerate(cells):
            year = 2024 + i % 3
            variety = rng.choice(["郑单1002", "裕丰303", "登海605"])
            plot = apply_plot(s, agent, {
                "name": f"新郑{'东西南北'[i % 4]}村{variety}示范田{i + 1}", "county_code": COUNTY, "crop": "maize",
                "variety": variety, "season": f"{year}-autumn_grain",
                "farmer_name": rng.choice("王李张刘陈杨赵黄") + rng.choice("建国明华军平红英"),
                "farmer_phone": f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}", "demo_type": "variety",
                "boundary": shapely.to_geojson(field_polygon(rng, lon, lat, rng.uniform(8, 25), 16))},
                record_id=str(uuid.uuid5(namespace, f"plot:{i}"))).record
            out.plots += 1
            target = rng.uniform(580, 780)
            day = dt.date(year, 9, rng.randint(10, 28))
            for k in range(per_plot[i]):
                if k % 4 == 3:
                    data: dict[str, Any] = {"method": "theoretical", "samples": theoretical_samples(rng, target),
                                            "measured_on": day - dt.timedelta(days=20)}
                else:
                    data = {"method": "harvest", "samples": harvest_samples(rng, target, 0.14, 3 + 2 * (k % 2)),
                            "measured_on": day + dt.timedelta(days=k), "level": ("county", "city", "province")[k % 3],
                            "panel": ["县农技推广中心专家组"], "baseline_type": "check_variety",
                            "baseline_kg_per_mu": round(target / rng.uniform(1.03, 1.15), 1)}
                apply_yield(s, agent, {"plot_id": plot.id, **data}, record_id=str(uuid.uuid5(namespace, f"y:{i}:{k}")))
                out.yields += 1
            if i % 100 == 99:
                s.flush()
                s.expunge_all()
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        ensure_backfilled(s)  # what `yuanxian sync backfill` does once after a bulk load
    engine.dispose()
    out.seconds = time.perf_counter() - t0
    return out


def make_agent(url: str, username: str, county: str, device: str | None = None) -> str | None:
    """An agent of ``county``; with ``device``, a device token for it (its secret), as enrolment issues."""
    from catalog.access import operator
    from catalog.accounts import create_user, issue_token
    from catalog.audit import act_as
    from catalog.db import make_engine

    engine = make_engine(url)
    with act_as(Session(engine), operator("bench")) as s, s.begin():
        user = create_user(s, username, PASSWORD, roles=[("agent", county)])
        secret = issue_token(s, user, "device", device)[1] if device else None
    engine.dispose()
    return secret


# --- the server --------------------------------------------------------------------------------------------------


def serve_worker(argv: list[str]) -> None:
    """One server process: ``create_app`` on the inherited listening socket, werkzeug threaded."""
    import logging

    from werkzeug.serving import make_server

    from server import create_app

    ap = argparse.ArgumentParser()
    ap.add_argument("--fd", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--instance", required=True)
    ap.add_argument("--profile", help="write the cProfile statistics of every request here on SIGTERM")
    args = ap.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import gis

    gis.county_index()  # loaded once per process (1–2 s) on the first plot it checks: not a sync's cost
    app = create_app({"DATABASE_URL": args.db, "INSTANCE_PATH": args.instance, "SECRET_KEY": uuid.uuid4().hex})
    from server.production import settle_heap

    settle_heap()  # as a production worker does once its app is built
    wsgi: Any = app
    if args.profile:
        wsgi = _profiled(app, Path(args.profile) / f"server-{os.getpid()}.prof")
    make_server("127.0.0.1", 0, wsgi, threaded=True, fd=args.fd).serve_forever()


def serve_gunicorn(argv: list[str]) -> None:
    """The production server (``server.production``: gunicorn, its gthread workers and settings) on the
    inherited listening socket, each worker's app built as ``serve_worker`` builds it."""
    from server.production import Gunicorn, options, settle_heap

    ap = argparse.ArgumentParser()
    ap.add_argument("--fd", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--instance", required=True)
    ap.add_argument("--workers", type=int, required=True)
    args = ap.parse_args(argv)

    class BenchGunicorn(Gunicorn):
        def load(self) -> Any:
            import gis
            from server import create_app

            gis.county_index()  # as serve_worker: not a sync's cost
            app = create_app({"DATABASE_URL": args.db, "INSTANCE_PATH": args.instance, "SECRET_KEY": secret})
            settle_heap()
            return app

    secret = uuid.uuid4().hex
    BenchGunicorn({**options(f"fd://{args.fd}", args.workers), "loglevel": "warning"}).run()


def _profiled(app: Any, out: Path) -> Any:
    """``app`` with each request profiled in its own thread (cProfile sees one thread), all summed into ``out``
    when the process is told to stop."""
    import cProfile
    import pstats
    import signal

    lock = threading.Lock()
    total: list[pstats.Stats] = []

    def wsgi(environ: Any, start_response: Any) -> Any:
        prof = cProfile.Profile(time.thread_time)  # CPU of this thread, not the time it waits for others
        body = prof.runcall(lambda: list(app(environ, start_response)))
        with lock:
            if total:
                total[0].add(prof)
            else:
                total.append(pstats.Stats(prof))
        return body

    def stop(_sig: int, _frame: Any) -> None:
        with lock:
            if total:
                total[0].dump_stats(out)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    return wsgi


def machine_busy_s() -> float | None:
    """CPU seconds all cores of this machine spent busy so far (Linux ``/proc/stat``: all but idle and iowait),
    None if unreadable: what the server, its database, the kits and anything else running took together."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux ``/proc``), None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def pg_backends_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of the PostgreSQL backends serving ``url``'s database (a local server), by pid."""
    from catalog.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        pids = list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND pid <> pg_backend_pid()")))
    engine.dispose()
    return {pid: cpu for pid in pids if (cpu := proc_cpu_s(pid)) is not None}


class Servers:
    """``workers`` server processes accepting on one socket of 127.0.0.1: gunicorn's workers, or with ``profile``
    as many werkzeug processes (the kernel spreads the connections)."""

    def __init__(self, db_url: str, instance: Path, workers: int, profile: Path | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        fd = self.sock.fileno()
        os.set_inheritable(fd, True)
        self.log = instance / "server.log"
        instance.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        common = ["--fd", str(fd), "--db", db_url, "--instance", str(instance)]
        me = [sys.executable, str(Path(__file__).resolve())]
        with self.log.open("ab") as log:
            if profile:  # werkzeug processes: each request is profiled in the thread that serves it
                self.procs = [subprocess.Popen([*me, "--serve-worker", *common, "--profile", str(profile)],
                                               pass_fds=(fd,), stdout=log, stderr=log) for _ in range(workers)]
            else:  # gunicorn, as production serves (``server.production``)
                self.procs = [subprocess.Popen([*me, "--serve-gunicorn", *common, "--workers", str(workers)],
                                               pass_fds=(fd,), stdout=log, stderr=log)]
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(self.url + "/api/sync/pull", timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    self.close()
                    raise RuntimeError(f"the server did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.1)

    def cpu_s(self) -> float:
        """User + system CPU seconds of the server processes so far (a gunicorn master and its workers)."""
        pids = {p.pid for p in self.procs}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) in pids:
                    pids.add(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        return sum(proc_cpu_s(pid) or 0.0 for pid in pids)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.sock.close()


# --- the link ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkSpec:
    up_bps: float = 64_000.0     # bits per second, kit to server
    down_bps: float = 64_000.0   # server to kit
    rtt_s: float = 0.6
    cut_rate: float = 0.05


@dataclass
class Traffic:
    requests: int = 0
    cuts: int = 0
    up: int = 0
    down: int = 0
    kinds: dict[str, list[int]] = field(default_factory=dict)  # kind -> [requests, bytes up, bytes down]

    def add(self, kind: str, up: int, down: int, cut: bool) -> None:
        self.requests += 1
        self.cuts += cut
        self.up += up
        self.down += down
        k = self.kinds.setdefault(kind, [0, 0, 0])
        k[0] += 1
        k[1] += up
        k[2] += down

    def wire(self, *kinds: str) -> int:
        return sum(self.kinds.get(k, [0, 0, 0])[1] + self.kinds.get(k, [0, 0, 0])[2] for k in kinds)


def _read_request(conn: socket.socket) -> tuple[bytes, bytes, bytes] | None:
    """(head as received, body, the head to forward with ``Connection: close``), or None if the kit went away."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    lines = head.split(b"\r\n")
    kept = [lines[0]]
    for line in lines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"content-length":
            length = int(line.split(b":", 1)[1])
        if name not in (b"connection", b"keep-alive"):
            kept.append(line)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n", body, b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n"


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    out = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return lines[0], out


def _json_body(headers: dict[str, str], body: bytes) -> Any:
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body) if body else None


class Link:
    """The simulated link: an HTTP proxy on 127.0.0.1 in front of the server, one request per connection.

    Virtual (default): forwards at loopback speed and adds what the link would cost to ``owed`` (seconds).
    Real: sleeps those latencies and paces the bytes to the kit at the link's rate instead.
    Cut decisions come from ``random.Random(seed)`` in connection order, or from ``plan`` (connection number →
    (cut going up, fraction carried)) when given.
    """

    def __init__(self, target_port: int, spec: LinkSpec, seed: str, *, real: bool = False,
                 plan: dict[int, tuple[bool, float]] | None = None) -> None:
        self.target_port, self.spec, self.real, self.plan = target_port, spec, real, plan
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.connections = 0
        self.owed = 0.0   # virtual: what the link would have made the kit wait
        self.slept = 0.0  # real: what it did (as planned; time.sleep may overshoot by a little)
        self.traffic = Traffic()
        self.pulled: dict[tuple[Any, ...], Any] = {}  # what the records of the answers were, once each
        self.pushed: dict[str, Any] = {}
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = False
        self.thread = threading.Thread(target=self._serve, name="link", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._stop = True
        with suppress(OSError):
            socket.create_connection(self.sock.getsockname(), timeout=1).close()  # wakes accept()
        self.thread.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self._stop:
                conn.close()
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _wait(self, seconds: float) -> None:
        with self.lock:
            if self.real:
                self.slept += seconds
            else:
                self.owed += seconds
        if self.real:
            time.sleep(seconds)

    def _send(self, conn: socket.socket, data: bytes) -> None:
        """``data`` to the kit at the downlink's rate."""
        if not self.real:
            self._wait(len(data) * 8 / self.spec.down_bps)
            conn.sendall(data)
            return
        with self.lock:
            self.slept += len(data) * 8 / self.spec.down_bps
        start = time.monotonic()
        for i in range(0, len(data), 1024):
            piece = data[i:i + 1024]
            time.sleep(max(0.0, start + (i + len(piece)) * 8 / self.spec.down_bps - time.monotonic()))
            conn.sendall(piece)

    def _handle(self, conn: socket.socket) -> None:
        spec = self.spec
        with conn:
            try:
                got = _read_request(conn)
                if got is None:
                    return
                head, body, forward = got
                request_line, req_headers = _headers(head)
                path = request_line.split(" ")[1] if " " in request_line else ""
                kind = ("pull" if path.startswith("/api/sync/pull") else "push" if path.startswith("/api/sync/push")
                        else "file" if path.startswith("/api/sync/files/") else "other")
                with self.lock:
                    n, self.connections = self.connections, self.connections + 1
                    cut = self.rng.random() < spec.cut_rate
                    cut_up, frac = self.rng.random() < 0.5, self.rng.random()
                    if self.plan is not None:
                        cut, (cut_up, frac) = n in self.plan, self.plan.get(n, (False, 0.0))
                up = len(head) + len(body)
                self._wait(spec.rtt_s)  # the TCP handshake
                if cut and cut_up:
                    sent = int(frac * up)
                    self._wait(sent * 8 / spec.up_bps + spec.rtt_s / 2)  # part of it, then the reset comes back
                    with self.lock:
                        self.traffic.add(kind, sent, 0, True)
                    return
                self._wait(spec.rtt_s / 2 + up * 8 / spec.up_bps)
                with socket.create_connection(("127.0.0.1", self.target_port), timeout=120) as server:
                    server.sendall(forward + body)
                    parts = []
                    while chunk := server.recv(65536):
                        parts.append(chunk)
                answer = b"".join(parts)
                a_head, sep, a_body = answer.partition(b"\r\n\r\n")
                lines = [ln for ln in a_head.split(b"\r\n") if ln.split(b":", 1)[0].strip().lower() != b"connection"]
                answer = b"\r\n".join([*lines, b"Connection: close"]) + sep + a_body
                if kind == "push":
                    self._note_push(req_headers, body)
                self._wait(spec.rtt_s / 2)
                if cut:
                    sent = int(frac * len(answer))
                    self._send(conn, answer[:sent])
                    with self.lock:
                        self.traffic.add(kind, up, sent, True)
                    return
                self._send(conn, answer)
                with self.lock:
                    self.traffic.add(kind, up, len(answer), False)
                status, headers = _headers(a_head + b"\r\n")
                if kind == "pull" and " 200 " in status + " ":
                    self._note_pull(headers, a_body)
            except OSError:
                return

    def _note_pull(self, headers: dict[str, str], body: bytes) -> None:
        page = _json_body(headers, body)
        with self.lock:
            for c in page.get("changes", []):
                self.pulled[(c["type"], c["id"], c["op"], c.get("version"))] = c.get("record") or {
                    "type": c["type"], "id": c["id"], "op": c["op"]}

    def _note_push(self, headers: dict[str, str], body: bytes) -> None:
        doc = _json_body(headers, body)
        with self.lock:
            for m in (doc or {}).get("mutations", []):
                self.pushed[m["mutation_id"]] = {"type": m["type"], "id": m["id"], **(m.get("fields") or {})}

    def records_gzip(self) -> tuple[int, int]:
        """(records carried, gzip size of their JSON)."""
        records = list(self.pulled.values()) + list(self.pushed.values())
        doc = json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return len(records), len(gzip.compress(doc, compresslevel=6))


class Sleeper:
    """The transport's backoff sleep: real, or owed to the virtual clock."""

    def __init__(self, real: bool) -> None:
        self.real, self.total = real, 0.0

    def __call__(self, seconds: float) -> None:
        self.total += seconds
        if self.real:
            time.sleep(seconds)


# --- kits --------------------------------------------------------------------------------------------------------


@dataclass
class KitWork:
    """What a kit recorded and means the server to hold."""

    records: dict[str, str] = field(default_factory=dict)  # id -> type
    photos: dict[str, int] = field(default_factory=dict)   # sha256 -> size


def new_store(path: Path, server: str, token: str, username: str, county: str) -> Any:
    from fieldkit.store import Store

    store = Store(path)
    store.set_meta(server=server, token=token, username=username, county=county)
    return store


def enrol(server_url: str, username: str, device: str) -> str:
    """Enrol a device as ``fieldkit login`` does (``POST /api/devices`` with the agent's password): its secret."""
    from sync.transport import HttpTransport

    transport = HttpTransport(server_url)
    try:
        answer = transport.request("POST", "/api/devices", json={"username": username, "password": PASSWORD,
                                                                 "name": device}, sync=False).json()
    finally:
        transport.close()
    return str(answer["secret"])


def record_day(store: Any, files: Path, cells: list[tuple[float, float]], *, plots: int, yields: int, photos: int,
               photo_size: int, seed: str, county: str, author: str) -> KitWork:
    """A day's field work on the kit, in one local transaction per record as the command line writes them."""
    from fieldkit import records

    rng = random.Random(seed)
    work = KitWork()
    plot_ids: list[tuple[str, float, float]] = []
    src = files.parent / "camera"
    src.mkdir(parents=True, exist_ok=True)
    with store.session() as s:
        for i in range(plots):
            lon, lat = cells[i]
            p = records.create(s, "plot", {
                "name": f"{author}示范田{i + 1}", "crop": "maize", "season": "2026-autumn_grain", "county_code": county,
                "variety": rng.choice(["郑单1002", "裕丰303"]), "farmer_name": rng.choice("王李张刘") + "建国",
                "demo_type": "variety", "boundary": field_polygon(rng, lon, lat, rng.uniform(8, 25), 24),
                "notes": "东至机耕路，西至排灌渠"}, author=author)
            plot_ids.append((p.id, lon, lat))
            work.records[p.id] = "plot"
        for i in range(yields):
            pid = plot_ids[i % plots][0]
            target = rng.uniform(580, 780)
            if i // plots % 3 == 2:
                data: dict[str, Any] = {"method": "theoretical", "samples": theoretical_samples(rng, target)}
            else:
                data = {"method": "harvest", "samples": harvest_samples(rng, target, 0.14, 3),
                        "level": ("county", "city")[i // plots % 2], "panel": ["县农技推广中心专家组"]}
            y = records.create(s, "yield", {"plot_id": pid, "measured_on": "2026-09-20", **data},
                               author=author)
            work.records[y.id] = "yield"
    for i in range(photos):
        pid, lon, lat = plot_ids[i % plots]
        data = photo_bytes(rng, photo_size, lon, lat)
        path = src / f"IMG_{i:04d}.jpg"
        path.write_bytes(data)
        with store.session() as s:
            photo = records.add_photo(s, files, pid, path, caption="长势", author=author)
        work.records[photo.id] = "photo"
        work.photos[hashlib.sha256(data).hexdigest()] = len(data)
    shutil.rmtree(src)
    return work


# --- runs over the link --------------------------------------------------------------------------------------------


@dataclass
class LinkRun:
    virtual_s: float           # the kit's time on the link (real mode: its wall time)
    loopback_s: float          # the run's real time less what it slept: server, database and kit work
    link_s: float              # what the link cost (owed or slept)
    backoff_s: float
    requests: int
    cuts: int
    bytes_up: int
    bytes_down: int
    json_wire: int
    records: int
    records_gzip: int
    ratio: float | None
    photo_bytes: int
    photo_wire: int
    syncs: int                 # sync() calls (a sync that ended Unreachable is run again)
    answers: dict[str, int]
    pulled: int
    kinds: dict[str, list[int]]


def sync_over_link(store: Any, token: str, server_port: int, spec: LinkSpec, seed: str, *, real: bool = False,
                   photo_total: int = 0, plan: dict[int, tuple[bool, float]] | None = None) -> LinkRun:
    """``fieldkit sync`` through the link (run again after a sync that ends ``Unreachable``, as an agent would).

    Virtual: the time is the run's real time plus what the link and the backoff owe; real: the wall time."""
    from sync.client import SyncClient
    from sync.transport import Backoff, HttpTransport, Unreachable

    link = Link(server_port, spec, f"{seed}:link", real=real, plan=plan)
    sleeper = Sleeper(real)
    transport = HttpTransport(link.url, token=token, backoff=Backoff(sleep=sleeper, rng=random.Random(f"{seed}:bo")))
    answers: Counter[str] = Counter()
    pulled = syncs = 0
    t0 = time.perf_counter()
    try:
        while True:
            syncs += 1
            try:
                report = SyncClient(transport, store).sync()
            except Unreachable:
                if syncs > 20:
                    raise
                continue  # as an agent would: sync again
            answers.update(report.answers)
            pulled += report.pulled
            break
        elapsed = time.perf_counter() - t0
    finally:
        transport.close()
        link.close()
    t = link.traffic
    n_records, gz = link.records_gzip()
    json_wire = t.wire("pull", "push")
    waited = link.slept + sleeper.total if real else 0.0
    return LinkRun(virtual_s=elapsed if real else elapsed + link.owed + sleeper.total, loopback_s=elapsed - waited,
                   link_s=link.slept if real else link.owed, backoff_s=sleeper.total,
                   requests=t.requests, cuts=t.cuts, bytes_up=t.up, bytes_down=t.down,
                   json_wire=json_wire, records=n_records, records_gzip=gz,
                   ratio=json_wire / gz if gz else None, photo_bytes=photo_total, photo_wire=t.wire("file"),
                   syncs=syncs, answers=dict(answers), pulled=pulled, kinds=t.kinds)


# --- integrity ----------------------------------------------------------------------------------------------------


def server_counts(url: str, county: str) -> dict[str, int]:
    from catalog.db import make_engine
    from catalog.field import SYNCED_MODELS

    engine = make_engine(url)
    with Session(engine) as s:
        out = {t: int(s.scalar(select(func.count()).select_from(m).where(  # type: ignore[attr-defined]
            m.county_code == county)) or 0) for t, m in SYNCED_MODELS.items()}  # type: ignore[attr-defined]
    engine.dispose()
    return out


def integrity(url: str, files_dir: Path, works: list[KitWork], expected: dict[str, dict[str, int]],
              stores: list[Any]) -> dict[str, int]:
    """``lost``: intended records the server lacks (or holds deleted), photos whose file it lacks or holds wrong;
    ``duplicated``: records inserted more than once (the audit log), and rows beyond ``expected`` per county and type;
    ``unsent``: mutations and files still waiting in the kits."""
    from catalog.audit import AuditEntry
    from catalog.db import make_engine
    from catalog.field import SYNCED_MODELS

    engine = make_engine(url)
    lost = duplicated = 0
    with Session(engine) as s:
        for work in works:
            by_type: dict[str, list[str]] = {}
            for rid, t in work.records.items():
                by_type.setdefault(t, []).append(rid)
            for t, ids in by_type.items():
                model = SYNCED_MODELS[t]
                table = model.__tablename__  # type: ignore[attr-defined]
                present: set[str] = set()
                inserts: Counter[str] = Counter()
                for start in range(0, len(ids), 500):
                    part = ids[start:start + 500]
                    present |= set(s.scalars(select(model.id).where(  # type: ignore[attr-defined]
                        model.id.in_(part), model.deleted.is_(False))))  # type: ignore[attr-defined]
                    inserts.update(s.scalars(select(AuditEntry.entity_id).where(
                        AuditEntry.entity == table, AuditEntry.action == "insert", AuditEntry.entity_id.in_(part))))
                lost += len(set(ids) - present)
                duplicated += sum(n - 1 for n in inserts.values() if n > 1)
            for sha, size in work.photos.items():
                path = files_dir / sha[:2] / sha
                if not path.exists() or path.stat().st_size != size or \
                        hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                    lost += 1
    engine.dispose()
    for county, want in expected.items():
        have = server_counts(url, county)
        duplicated += sum(max(0, have.get(t, 0) - n) for t, n in want.items())
    unsent = sum(len(st.outbox()) + len(st.pending_files()) for st in stores)
    return {"lost": lost, "duplicated": duplicated, "unsent": unsent}


def scope_missing(url: str, store: Any) -> int:
    """Records of COUNTY's scope on the server (results listed, code lists, sites, plots, yields) the kit lacks."""
    from catalog.changelog import ChangeLog, scopes_of_counties
    from catalog.db import make_engine
    from catalog.field import SYNCED_MODELS
    from fieldkit.store import Listing

    engine = make_engine(url)
    with Session(engine) as s:
        wanted = {(t, rid) for t, rid in s.execute(select(ChangeLog.type, ChangeLog.record_id).where(
            ChangeLog.scope.in_(scopes_of_counties([COUNTY])), ChangeLog.op == "upsert"))}
    engine.dispose()
    have: set[tuple[str, str]] = set()
    with store.session() as s:
        have |= {(t, rid) for t, rid in s.execute(select(Listing.type, Listing.record_id))}
        for t, model in SYNCED_MODELS.items():
            have |= {(t, rid) for rid in s.scalars(select(model.id))}  # type: ignore[attr-defined]
    return len(wanted - have)


# --- throughput --------------------------------------------------------------------------------------------------


def throughput(url: str, servers: Servers, tmp: Path, *, kits: int, per_kit: int, batch: int, seed: int,
               profile: Path | None = None) -> dict[str, Any]:
    """``kits`` kits of as many counties push ``per_kit`` mutations each at once, on loopback."""
    from catalog.db import make_engine
    from catalog.demo_plots import COUNTIES
    from catalog.divisions import Division
    from sync.client import SyncClient
    from sync.transport import HttpTransport

    engine = make_engine(url)
    taken = {c.code for c in COUNTIES} | {COUNTY}
    with Session(engine) as s:
        divisions = [d for d in s.scalars(select(Division).where(
            Division.province_code == "410000", Division.county_equivalent.is_(True), Division.valid_to.is_(None),
            Division.has_polygon.is_(True), Division.label_lng.is_not(None)).order_by(Division.code))
            if d.code not in taken][:kits]
        labels = {d.code: (float(d.label_lng), float(d.label_lat)) for d in divisions}  # type: ignore[arg-type]
    engine.dispose()
    t0 = time.perf_counter()
    plots = max(1, per_kit // 4)
    stores, works, tokens = [], [], []
    for n, code in enumerate(labels):
        token = make_agent(url, f"bench_tp_{n}", code, f"平板 {n}")
        assert token is not None
        store = new_store(tmp / f"tp{n}" / "fieldkit.db", servers.url, token, f"bench_tp_{n}", code)
        work = record_day(store, tmp / f"tp{n}" / "files", county_cells(code, labels[code], plots), plots=plots,
                          yields=per_kit - plots, photos=0, photo_size=0, seed=f"{seed}:tp:{n}", county=code,
                          author=f"bench_tp_{n}")
        stores.append(store)
        works.append(work)
        tokens.append(token)
    build_s = time.perf_counter() - t0
    start = threading.Barrier(len(stores) + 1)
    done: list[tuple[float, int, dict[str, int]]] = [(0.0, 0, {})] * len(stores)
    errors: list[BaseException] = []

    def push(i: int) -> None:
        transport = HttpTransport(servers.url, token=tokens[i], timeout=(10.0, 300.0))
        try:
            client = SyncClient(transport, stores[i], batch=batch)
            start.wait()
            if profile:
                import cProfile

                prof = cProfile.Profile(time.thread_time)
                report = prof.runcall(client.push)
                prof.dump_stats(profile / f"kit-{i}.prof")
            else:
                report = client.push()
            done[i] = (time.perf_counter(), report.pushed, report.answers)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        finally:
            transport.close()

    threads = [threading.Thread(target=push, args=(i,), name=f"kit-{i}") for i in range(len(stores))]
    for th in threads:
        th.start()
    load = os.getloadavg()[0]  # other work on the machine shares its cores
    cpu0, pg0, kit0 = servers.cpu_s(), pg_backends_cpu(url), time.process_time()
    busy0 = machine_busy_s()
    start.wait()
    t_start = time.perf_counter()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    wall = max(d[0] for d in done) - t_start
    cpu, kit_cpu = servers.cpu_s() - cpu0, time.process_time() - kit0
    busy1 = machine_busy_s()
    busy = busy1 - busy0 if busy0 is not None and busy1 is not None else None
    pg1 = pg_backends_cpu(url)
    pg_cpu = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items()) if pg1 else None
    pushed = sum(d[1] for d in done)
    answers: Counter[str] = Counter()
    for d in done:
        answers.update(d[2])
    expected = {code: dict(Counter(works[n].records.values())) for n, code in enumerate(labels)}
    checked = integrity(url, Path("/nonexistent"), works, expected, stores)
    for st in stores:
        st.close()
    per = (lambda v: 1000 * v / pushed if pushed and v is not None else None)  # noqa: E731
    return {"kits": len(stores), "mutations": pushed, "batch": batch, "wall_s": wall,
            "push_mutations_per_s": pushed / wall if wall else None, "workers": servers.workers,
            "app_cpu_ms_per_mutation": per(cpu), "db_cpu_ms_per_mutation": per(pg_cpu),
            "kits_cpu_ms_per_mutation": per(kit_cpu), "machine_cpu_ms_per_mutation": per(busy),
            "cores": os.cpu_count(), "load_before": load, "build_s": build_s,
            "answers": dict(answers), **checked}


# --- one engine --------------------------------------------------------------------------------------------------


@dataclass
class Sizes:
    listed: int
    plots: int
    yields: int
    day_plots: int
    day_yields: int
    photos: int
    photo_size: int
    kits: int
    kit_mutations: int
    batch: int
    other_per_county: int     # catalog.demo_plots plots in each of its demo counties (not COUNTY)
    check_plots: int
    check_photo_size: int


def run_engine(name: str, url: str, tmp: Path, sizes: Sizes, spec: LinkSpec, args: argparse.Namespace,
               *, do_link: bool, do_check: bool, do_throughput: bool) -> dict[str, Any]:
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{name} {time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    out: dict[str, Any] = {}
    log("migrating, loading reference data …")
    prepare(url)
    instance = tmp / "instance"
    if do_link:
        log(f"seeding ≥{sizes.listed:,} listed results, {sizes.plots} plots, {sizes.yields} yields in {COUNTY} …")
        seeded = seed_server(url, listed=sizes.listed, plots=sizes.plots, yields=sizes.yields,
                             other_per_county=sizes.other_per_county, seed=args.seed)
        out["seeded"] = asdict(seeded)
        make_agent(url, "bench_agent", COUNTY)
    profile = Path(args.profile).resolve() if args.profile else None
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
    servers = Servers(url, instance, args.workers, profile)
    stores: list[Any] = []
    try:
        if do_link:
            settle(url)
            token = enrol(servers.url, "bench_agent", "新郑 平板 1")
            store = new_store(tmp / "kit" / "fieldkit.db", servers.url, token, "bench_agent", COUNTY)
            stores.append(store)
            log("first sync over the link …")
            first = sync_over_link(store, token, servers.port, spec, f"{args.seed}:first")
            out["first_sync"] = asdict(first)
            out["first_sync_missing"] = scope_missing(url, store)
            log(f"recording a day's work ({sizes.day_plots} plots, {sizes.day_yields} yields, {sizes.photos} "
                "photos) …")
            cells = county_cells(COUNTY, _label(url), sizes.plots + sizes.day_plots + 2 * sizes.check_plots)
            work = record_day(store, tmp / "kit" / "files", cells[sizes.plots:], plots=sizes.day_plots,
                              yields=sizes.day_yields, photos=sizes.photos, photo_size=sizes.photo_size,
                              seed=f"{args.seed}:day", county=COUNTY, author="bench_agent")
            log("day's push over the link …")
            push = sync_over_link(store, token, servers.port, spec, f"{args.seed}:push",
                                  photo_total=sum(work.photos.values()))
            out["push"] = asdict(push)
            works = [work]
            if do_check:
                log("checking the virtual clock against a real-time run …")
                out["check"], check_works = clock_check(url, store, token, servers, tmp, spec, args.seed,
                                                        cells[sizes.plots + sizes.day_plots:], sizes)
                works += check_works
            intended = Counter({"plot": seeded.plots, "yield": seeded.yields})
            intended.update(t for w in works for t in w.records.values())
            out["integrity"] = integrity(url, instance / "files", works, {COUNTY: dict(intended)}, stores)
        if do_throughput:
            log(f"throughput: {sizes.kits} kits × {sizes.kit_mutations} mutations, batches of {sizes.batch} …")
            out["throughput"] = throughput(url, servers, tmp / "tp", kits=sizes.kits, per_kit=sizes.kit_mutations,
                                           batch=sizes.batch, seed=args.seed, profile=profile)
    finally:
        for st in stores:
            st.close()
        servers.close()
    log("done")
    return out


def _label(url: str) -> tuple[float, float]:
    from catalog.db import make_engine
    from catalog.divisions import Division

    engine = make_engine(url)
    with Session(engine) as s:
        d = s.get(Division, COUNTY)
        assert d is not None and d.label_lng is not None and d.label_lat is not None
        label = (d.label_lng, d.label_lat)
    engine.dispose()
    return label


# Connection number -> (cut going up, fraction carried). Full size: the photo's chunk cut halfway down (the server
# holds it; the retry gets 409 and resumes from the server's offset), then that HEAD cut halfway up. Quick: the
# push cut halfway down (the server has applied it; the retry is answered "duplicate").
CHECK_PLAN = {1: (False, 0.5), 3: (True, 0.5)}
CHECK_PLAN_QUICK = {1: (False, 0.5)}


def clock_check(url: str, store: Any, token: str, servers: Servers, tmp: Path, spec: LinkSpec, seed: int,
                cells: list[tuple[float, float]], sizes: Sizes) -> tuple[dict[str, Any], list[KitWork]]:
    """The same short sync twice — the kit, at the current cursor, records a few plots and yields (and a photo),
    then syncs with the same cuts — through the link sleeping for real, then on the virtual clock."""
    runs: dict[str, LinkRun] = {}
    works = []
    plan = CHECK_PLAN if sizes.check_photo_size else CHECK_PLAN_QUICK
    for n, mode in enumerate(("real", "virtual")):
        part = cells[n * sizes.check_plots:(n + 1) * sizes.check_plots]
        works.append(record_day(store, tmp / "kit" / "files", part, plots=sizes.check_plots,
                                yields=2 * sizes.check_plots, photos=1 if sizes.check_photo_size else 0,
                                photo_size=sizes.check_photo_size, seed=f"{seed}:check:{n}", county=COUNTY,
                                author="bench_agent"))
        settle(url)
        runs[mode] = sync_over_link(store, token, servers.port, spec, f"{seed}:check", real=mode == "real",
                                    plan=plan)
    real, virtual = runs["real"], runs["virtual"]
    return ({"real_s": real.virtual_s, "virtual_s": virtual.virtual_s,
             "diff_pct": 100 * (virtual.virtual_s - real.virtual_s) / real.virtual_s,
             "parts": {mode: {"work_s": r.loopback_s, "link_s": r.link_s, "backoff_s": r.backoff_s}
                       for mode, r in runs.items()},
             "requests": [real.requests, virtual.requests], "cuts": [real.cuts, virtual.cuts],
             "bytes": [real.bytes_up + real.bytes_down, virtual.bytes_up + virtual.bytes_down]}, works)


# --- report ----------------------------------------------------------------------------------------------------


def _kb(n: float) -> str:
    return f"{n / 1024:,.0f} KiB"


def _mmss(s: float) -> str:
    return f"{int(s // 60)}:{s % 60:04.1f}"


def report(results: dict[str, dict[str, Any]], spec: LinkSpec) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=190)
    linked = {e: r for e, r in results.items() if "first_sync" in r}
    if linked:
        t = Table(title=f"Sync over {spec.up_bps / 1000:g}/{spec.down_bps / 1000:g} kbit/s, {spec.rtt_s * 1000:g} "
                        f"ms RTT, {spec.cut_rate:.0%} of connections cut (time on the virtual clock)")
        for col in ("engine", "run", "requests", "cuts", "bytes up", "bytes down", "records", "gzip of records",
                    "JSON on wire", "wire/gzip", "photos on wire/size", "time", "loopback s"):
            t.add_column(col, justify="left" if col in ("engine", "run") else "right")
        for engine, r in linked.items():
            for key, label in (("first_sync", "first sync"), ("push", "day's push")):
                run = r[key]
                overhead = f"{run['photo_wire'] / run['photo_bytes']:.3f}" if run["photo_bytes"] else "—"
                t.add_row(engine, label, f"{run['requests']:,}", f"{run['cuts']}", f"{run['bytes_up']:,}",
                          f"{run['bytes_down']:,}", f"{run['records']:,}", f"{run['records_gzip']:,}",
                          f"{run['json_wire']:,}", f"{run['ratio']:.3f}" if run["ratio"] else "—", overhead,
                          _mmss(run["virtual_s"]), f"{run['loopback_s']:.1f}")
        console.print(t)
    for engine, r in linked.items():
        s = r["seeded"]
        console.print(f"[{engine}] server: {s['results']:,} results ({s['listed']:,} listed for {COUNTY}), "
                      f"{s['plots']} plots and {s['yields']} yields in {COUNTY}, {s['other_plots']} demo plots "
                      f"elsewhere (seeded in {s['seconds']:.0f} s). First sync: {r['first_sync']['pulled']:,} "
                      f"changes, {r['first_sync_missing']} scope records missing. Day's push: answers "
                      f"{r['push']['answers']}, {r['push']['pulled']:,} changes pulled after it (on PostgreSQL a "
                      f"long transaction elsewhere in the cluster delays them). Integrity: {r['integrity']}")
        if "check" in r:
            c = r["check"]
            p = c["parts"]
            console.print(f"[{engine}] clock check, the same short sync twice ({c['requests'][0]} requests, "
                          f"{c['cuts'][0]} cut): real {c['real_s']:.2f} s (work {p['real']['work_s']:.2f} + "
                          f"link {p['real']['link_s']:.2f} + backoff {p['real']['backoff_s']:.2f}), virtual "
                          f"{c['virtual_s']:.2f} s (work {p['virtual']['work_s']:.2f} + link "
                          f"{p['virtual']['link_s']:.2f} + backoff {p['virtual']['backoff_s']:.2f}): "
                          f"{c['diff_pct']:+.1f} %")
    tps = {e: r["throughput"] for e, r in results.items() if "throughput" in r}
    if tps:
        t = Table(title="Push throughput on loopback, no link (CPU ms per mutation: server processes, their "
                        "PostgreSQL backends, the kits, and every core of the machine together)")
        for col in ("engine", "kits", "mutations", "batch", "server procs", "load avg", "wall s", "mutations/s",
                    "server CPU", "PostgreSQL CPU", "kits CPU", "machine CPU", "answers", "lost", "duplicated",
                    "unsent"):
            t.add_column(col, justify="left" if col == "engine" else "right")
        for engine, tp in tps.items():
            def ms(v: float | None) -> str:
                return "—" if v is None else f"{v:.2f}"

            t.add_row(engine, f"{tp['kits']}", f"{tp['mutations']:,}", f"{tp['batch']}", f"{tp['workers']}",
                      f"{tp['load_before']:.1f}", f"{tp['wall_s']:.1f}", f"{tp['push_mutations_per_s']:,.0f}",
                      ms(tp["app_cpu_ms_per_mutation"]),
                      ms(tp["db_cpu_ms_per_mutation"]), ms(tp["kits_cpu_ms_per_mutation"]),
                      ms(tp["machine_cpu_ms_per_mutation"]),
                      ", ".join(f"{k} {v}" for k, v in tp["answers"].items()), f"{tp['lost']}",
                      f"{tp['duplicated']}", f"{tp['unsent']}")
        console.print(t)


def figures(r: dict[str, Any]) -> dict[str, Any]:
    first, push = r["first_sync"], r["push"]
    gz = first["records_gzip"] + push["records_gzip"]
    return {"wire_to_gzip_ratio": round((first["json_wire"] + push["json_wire"]) / gz, 4) if gz else None,
            "first_sync_ratio": round(first["ratio"], 4) if first["ratio"] else None,
            "push_ratio": round(push["ratio"], 4) if push["ratio"] else None,
            "photo_overhead": round(push["photo_wire"] / push["photo_bytes"], 4) if push["photo_bytes"] else None,
            "first_sync_s": round(first["virtual_s"], 1), "push_s": round(push["virtual_s"], 1),
            "requests": first["requests"] + push["requests"], "cuts": first["cuts"] + push["cuts"],
            "bytes_up": first["bytes_up"] + push["bytes_up"], "bytes_down": first["bytes_down"] + push["bytes_down"],
            "push_pulled_back": push["pulled"], "first_sync_missing": r["first_sync_missing"]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-worker"]:
        serve_worker(argv[1:])
        return {}
    if argv[:1] == ["--serve-gunicorn"]:
        serve_gunicorn(argv[1:])
        return {}
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run in seconds")
    ap.add_argument("--engines", default="sqlite,postgis")
    ap.add_argument("--postgis-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGIS,
                    help="a PostGIS server's URL; the bench makes and drops its own database there")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="server processes")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--listed", type=int, default=3000, help="results listed for the county's scope (at least)")
    ap.add_argument("--plots", type=int, default=500, help="plots already on the server for the county")
    ap.add_argument("--yields", type=int, default=2000, help="yields already on the server for the county")
    ap.add_argument("--day-plots", type=int, default=200)
    ap.add_argument("--day-yields", type=int, default=600)
    ap.add_argument("--photos", type=int, default=50)
    ap.add_argument("--photo-kb", type=int, default=300, help="KiB per photo")
    ap.add_argument("--check-photo-kb", type=int, default=24, help="KiB of the clock check's photo (none if 0)")
    ap.add_argument("--kits", type=int, default=20, help="concurrent kits of the throughput run")
    ap.add_argument("--kit-mutations", type=int, default=500, help="mutations per kit in the throughput run")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--kbit", type=float, default=64.0, help="link bandwidth each way, kbit/s")
    ap.add_argument("--rtt-ms", type=float, default=600.0)
    ap.add_argument("--cut-rate", type=float, default=0.05)
    ap.add_argument("--no-check", action="store_true", help="skip the real-time check of the virtual clock")
    ap.add_argument("--no-throughput", action="store_true")
    ap.add_argument("--no-link", action="store_true", help="skip the runs over the link (and the check)")
    ap.add_argument("--profile", help="a folder for cProfile statistics of the server processes (server-PID.prof) "
                    "and of each kit's push (kit-N.prof); profiling slows everything down")
    args = ap.parse_args(argv)
    if args.quick:
        sizes = Sizes(300, 50, 200, 20, 60, 5, args.photo_kb * 1024, args.kits, 20, args.batch, 1, 1, 0)
    else:
        sizes = Sizes(args.listed, args.plots, args.yields, args.day_plots, args.day_yields, args.photos,
                      args.photo_kb * 1024, args.kits, args.kit_mutations, args.batch, 6, 3,
                      args.check_photo_kb * 1024)
    spec = LinkSpec(args.kbit * 1000, args.kbit * 1000, args.rtt_ms / 1000, args.cut_rate)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    notes: list[str] = []
    if "postgis" in engines and (why := postgis_answers(args.postgis_url)):
        notes.append(f"PostGIS skipped: {why}")
        engines.remove("postgis")
    results: dict[str, dict[str, Any]] = {}
    for n, name in enumerate(engines):
        with tempfile.TemporaryDirectory(prefix="yx-sync-bench-") as tmp_name:
            tmp = Path(tmp_name)
            db = sqlite_database(tmp) if name == "sqlite" else postgis_database(args.postgis_url)
            with db as url:
                do_link = (n == 0 or not args.quick) and not args.no_link
                results[name] = run_engine(name, url, tmp, sizes, spec, args, do_link=do_link,
                                           do_check=do_link and n == 0 and not args.no_check,
                                           do_throughput=name == "postgis" and not args.no_throughput)
    for note in notes:
        print(note)
    report(results, spec)
    by_engine = {name: figures(r) for name, r in results.items() if "first_sync" in r}
    first = next(iter(by_engine.values()), {})
    tp = results.get("postgis", {}).get("throughput")
    checked = [r["integrity"] for r in results.values() if "integrity" in r] + ([tp] if tp else [])
    lost, duplicated = sum(c["lost"] for c in checked), sum(c["duplicated"] for c in checked)
    check = next((r["check"] for r in results.values() if "check" in r), None)
    summary = {
        **{k: first.get(k) for k in ("wire_to_gzip_ratio", "first_sync_s", "push_s", "requests", "bytes_up",
                                     "bytes_down")},
        "lost": lost, "duplicated": duplicated,
        "push_mutations_per_s": round(tp["push_mutations_per_s"], 1) if tp and tp["push_mutations_per_s"] else None,
        "engine": next(iter(by_engine), None), "by_engine": by_engine,
        "throughput": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in tp.items()} if tp else None,
        "check": {k: check[k] if k not in ("real_s", "virtual_s", "diff_pct") else round(check[k], 2)
                  for k in ("real_s", "virtual_s", "diff_pct", "requests", "cuts")} if check else None,
        "link": {"kbit_s": args.kbit, "rtt_ms": args.rtt_ms, "cut_rate": args.cut_rate},
        "sizes": asdict(sizes), "quick": args.quick,
        "machine": reference(args.postgis_url if "postgis" in engines else None),  # how fast this machine is
    }
    print(f"machine: {summary['machine']} (bench/machine.py)")
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
