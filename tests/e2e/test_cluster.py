"""Several app servers (issue 8): two `yuanxian serve --production` processes (gunicorn, two workers each) on one
PostGIS database, Redis and an S3-compatible object storage (moto's server), behind a round-robin proxy that also
cuts connections. Two field kits sync plots, yields and photos through it; consecutive requests, the chunks of one
upload among them, land on different servers.

At the end the server holds exactly the kits' records and photos (each photo's bytes in the bucket under its
SHA-256, nothing else there, nothing on the app servers' disks), nothing twice; failed sign-ins spread over both
servers trip the limit at the same count as on one; a session signed in on one server is known to the other.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fk_kits import Kit, check_converged, check_union
from fk_proxy import FaultProxy
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import create_user, issue_token
from catalog.audit import act_as
from catalog.db import make_engine
from catalog.field import Photo
from server.storage import s3_client
from sync.client import SyncClient
from sync.transport import Backoff, HttpTransport, Unreachable
from tests.e2e.test_sync_faults import _server_view
from tests.redis_server import ensure_redis, own_db
from tests.server.test_cli_serve import free_port
from tests.sync.helpers import settle

pytestmark = pytest.mark.postgis

CLI = Path(sys.executable).with_name("yuanxian")
REDIS_URL = f"redis://127.0.0.1:6379/{own_db()}"  # a database of its own (per xdist worker), flushed before/after
SECRET = "cluster-" + uuid.uuid4().hex + uuid.uuid4().hex
PASSWORD = "correct horse battery"
ROUNDS = 8
CUTS = ("drop_before", "drop_after", "drop_mid")
CHUNK = 128 * 1024  # what the kits send (sync.client.CHUNK)


@pytest.fixture
def redis_db() -> Iterator[Any]:
    client = ensure_redis(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"app server on {port} not ready within 90 s:\n{log.read_text()}"
        time.sleep(0.5)


@pytest.fixture
def cluster(postgis_url: str, redis_db: Any, s3_settings: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two app servers (their own instance folders, nothing shared on disk), their ports and logs."""
    engine = make_engine(postgis_url)
    with act_as(Session(engine), operator("test")) as s, s.begin():
        for name in ("cluster_a", "cluster_b"):
            create_user(s, name, PASSWORD, roles=[("agent", "410102")])
        holder = create_user(s, "cluster_holder", PASSWORD, roles=[("result_holder", "河南农业大学")])
        _token, holder_secret = issue_token(s, holder, "api", "cluster test")
    servers: list[tuple[int, subprocess.Popen[bytes], Path]] = []
    try:
        for n in range(2):
            home = tmp_path / f"server{n}"
            (home / "metrics").mkdir(parents=True)
            env = {**os.environ, "YUANXIAN_ENV": "production", "DATABASE_URL": postgis_url, "SECRET_KEY": SECRET,
                   "REDIS_URL": REDIS_URL, "YUANXIAN_INSTANCE": str(home), "YUANXIAN_WORKERS": "2",
                   "PROMETHEUS_MULTIPROC_DIR": str(home / "metrics"), **s3_settings}
            for name in ("YUANXIAN_PROXIES", "LOG_FORMAT"):
                env.pop(name, None)
            port, log = free_port(), home / "serve.log"
            with log.open("wb") as out:
                proc = subprocess.Popen([str(CLI), "serve", "--production", "--host", "127.0.0.1", "--port",
                                         str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
            servers.append((port, proc, log))
        for port, proc, log in servers:
            _wait_ready(port, proc, log)
        yield {"ports": [p for p, _, _ in servers], "logs": [log for _, _, log in servers], "engine": engine,
               "homes": [tmp_path / f"server{n}" for n in range(2)], "s3": s3_settings,
               "holder": {"Authorization": f"Bearer {holder_secret}"}}
    finally:
        for _, proc, _ in servers:
            proc.send_signal(signal.SIGTERM)
        for _, proc, log in servers:
            try:
                assert proc.wait(timeout=45) == 0, log.read_text()[-3000:]
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
        engine.dispose()


def _photo(path: Path, rng: random.Random) -> Path:
    """A JPEG of noise, about 70 KiB to 1.5 MiB: most take several 128 KiB chunks."""
    side = rng.choice([160, 420, 640, 860])
    Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(buf := io.BytesIO(), "JPEG",
                                                                             quality=95)
    path.write_bytes(buf.getvalue())
    return path


def _work(kit: Kit, rng: random.Random, n: int, shots: Path, anchored: set[str]) -> None:
    """Offline work: plots, yields, photos, edits of shared fields (to clash), deletions of plots that hold none
    of this kit's yields and photos (``anchored``: a record of a plot deleted before it was sent is refused)."""
    plots = kit.live("plot")
    for i in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.3 or not plots:
            plots.append(kit.add_plot(f"{kit.name}-{n}-{rng.randrange(10**6)}", rng.randrange(2500)))
        elif roll < 0.45:
            anchored.add(plot := rng.choice(plots))
            kit.add_yield(plot)
        elif roll < 0.7:
            anchored.add(plot := rng.choice(plots))
            kit.add_photo(plot, _photo(shots / f"{kit.name}-{n}-{i}.jpg", rng))
        elif roll < 0.92:
            field = rng.choice(["name", "notes"])
            kit.edit("plot", rng.choice(plots), **{field: f"{field}-{rng.randrange(4)}"})
        else:
            victim = rng.choice(plots)
            if victim not in anchored and kit.delete("plot", victim):
                plots.remove(victim)


def _transport(url: str, token: str, seed: int) -> HttpTransport:
    return HttpTransport(url, token=token, timeout=(3.0, 20.0),
                         backoff=Backoff(base=0.001, cap=0.01, attempts=3, rng=random.Random(seed)))


def _enrol(url: str, username: str) -> str:
    r = requests.post(f"{url}/api/devices", json={"username": username, "password": PASSWORD, "name": username},
                      timeout=20)
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def _sign_in(port: int, username: str, password: str = "wrong") -> int:
    r = requests.post(f"http://127.0.0.1:{port}/api/auth/login", json={"username": username, "password": password},
                      timeout=20)
    r.close()
    return r.status_code


def test_cluster__two_app_servers_behind_a_cutting_round_robin__server_holds_exactly_the_kits_work(
        cluster: dict[str, Any], tmp_path: Path) -> None:
    a, b = cluster["ports"]
    proxy = FaultProxy([a, b], seed=8, rate=0.0, faults=CUTS)
    rng = random.Random(8)
    shots = tmp_path / "shots"
    shots.mkdir()
    kits: list[Kit] = []
    try:
        kits = [Kit.make(name, tmp_path, _transport(proxy.url, _enrol(proxy.url, user), seed))
                for seed, (name, user) in enumerate((("甲", "cluster_a"), ("乙", "cluster_b")))]
        proxy.rate = 0.3
        cut, anchored = 0, set[str]()
        for n in range(ROUNDS):
            for k in kits:
                _work(k, rng, n, shots, anchored)
                try:
                    SyncClient(k.transport, k.store, batch=rng.choice([2, 5, 50])).sync()
                except Unreachable:
                    cut += 1
        proxy.rate = 0.0
        for _ in range(3):
            with Session(cluster["engine"]) as s:
                settle(s)  # the pull horizon passes every push before the kits' next round
            for k in kits:
                k.sync()
    finally:
        proxy.close()
        for k in kits:
            k.transport.close()  # type: ignore[attr-defined]
    assert all(proxy.seen[f] > 0 for f in CUTS), proxy.seen
    assert cut > 0
    assert proxy.upstreams[a] > 20 and proxy.upstreams[b] > 20, proxy.upstreams

    # Records: exactly the union of the kits' intent, nothing lost, nothing twice, every kit converged.
    recs, deleted, history, conflicts = _server_view(cluster["engine"])
    check_union(kits, recs, deleted, history, conflicts)
    check_converged(kits, recs, deleted)

    # Photos: the kits' records, once each; their bytes in the bucket under their SHA-256, and nothing else.
    intended = {rid: ps for k in kits for rid, ps in k.photos.items()}
    assert len(intended) >= 4, "the workload should have taken some photos"
    with Session(cluster["engine"]) as s:
        held = {p.id: (p.plot_id, p.sha256) for p in s.scalars(select(Photo).where(Photo.deleted.is_(False)))}
    assert held == intended
    settings = cluster["s3"]
    s3 = s3_client(settings)
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings["S3_BUCKET"])
        stored = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
        shas = {sha for _plot, sha in intended.values()}
        assert stored == sorted(settings["S3_PREFIX"] + sha for sha in shas)  # no partial upload left behind
        for sha in shas:
            body = s3.get_object(Bucket=settings["S3_BUCKET"], Key=settings["S3_PREFIX"] + sha)["Body"]
            try:
                assert hashlib.sha256(body.read()).hexdigest() == sha
            finally:
                body.close()
    finally:
        s3.close()
    for home in cluster["homes"]:
        assert not (home / "files").exists(), f"{home}: attachments on an app server's disk"
    # The chunks of one upload went to both servers: each resumed from the offset the other left in the bucket.
    patched = [{a["path"].rsplit("/", 1)[1] for a in _access(log) if a.get("method") == "PATCH"
                and a["path"].startswith("/api/sync/files/")} for log in cluster["logs"]]
    multi = {sha for k in kits for sha in shas if (k.store.path.parent / f"{k.name}-files" / sha).exists()
             and (k.store.path.parent / f"{k.name}-files" / sha).stat().st_size > CHUNK}
    assert multi and len(patched[0] & patched[1] & multi) >= max(1, len(multi) // 2), (patched, multi)
    print(f"cluster: {len(recs)} records, {len(intended)} photos ({len(shas)} files, {len(multi)} of several chunks), "
          f"requests per server {dict(proxy.upstreams)}, connections {dict(proxy.seen)}, {cut} syncs cut")


def _access(log: Path) -> list[dict[str, Any]]:
    """The app's JSON access lines in a server's log."""
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{") and '"path"' in line:
            out.append(json.loads(line))
    return out


def test_cluster__sign_in_limit_sessions_and_caches_shared_by_both_servers(cluster: dict[str, Any],
                                                                          redis_db: Any) -> None:
    a, b = cluster["ports"]
    one = [_sign_in(a, "nobody_one") for _ in range(6)]
    spread = [_sign_in((a, b)[i % 2], "nobody_spread") for i in range(6)]
    assert one == spread == [401] * 5 + [429]
    assert _sign_in(a, "nobody_spread") == _sign_in(b, "nobody_spread") == 429
    proxy = FaultProxy([a, b])
    try:
        through = [_sign_in(proxy.port, "nobody_proxied") for _ in range(6)]
    finally:
        proxy.close()
    assert through == [401] * 5 + [429]
    assert proxy.upstreams == {a: 3, b: 3}
    assert redis_db.dbsize() > 0  # the counts live in Redis (REDIS_URL's db), not in any worker
    assert _sign_in(b, "nobody_other") == 401  # another username is not locked out

    # A web session signed in on one server is good on the other (signed cookie, one SECRET_KEY).
    with requests.Session() as web:
        web.trust_env = False
        login = web.post(f"http://127.0.0.1:{a}/api/auth/login", json={"username": "cluster_a", "password": PASSWORD},
                         timeout=20)
        assert login.status_code == 200, login.text
        cookie = web.cookies.get("session")
        assert cookie
    me = requests.get(f"http://127.0.0.1:{b}/api/auth/me", cookies={"session": cookie}, timeout=20)
    assert me.status_code == 200 and me.json()["username"] == "cluster_a"

    # Each worker's result index is rebuilt when another server has changed the results (a version in the
    # database): a result made on one server is found on the other at once, and so is its new name.
    def names(port: int) -> list[str]:
        r = requests.get(f"http://127.0.0.1:{port}/api/results", params={"q": "集群验证"},
                         headers=cluster["holder"], timeout=20)
        assert r.status_code == 200, r.text
        return [item["name"] for item in r.json()["items"]]

    assert [names(p) for p in (a, b, a, b)] == [[]] * 4  # every worker has built its index by now
    made = requests.post(f"http://127.0.0.1:{a}/api/results", headers=cluster["holder"], timeout=20, json={
        "name": "集群验证玉米新品种", "summary": "两台服务器", "institutions": ["河南农业大学"],
        "tech_fields": ["TF01"], "industry_types": ["IT0103"], "crops": ["maize"]})
    assert made.status_code == 201, made.text
    assert [names(p) for p in (b, a, b, a)] == [["集群验证玉米新品种"]] * 4
    renamed = requests.patch(f"http://127.0.0.1:{b}/api/results/{made.json()['id']}", headers=cluster["holder"],
                             json={"name": "集群验证小麦新品种", "version": made.json()["version"]}, timeout=20)
    assert renamed.status_code == 200, renamed.text
    assert [names(p) for p in (a, b, a, b)] == [["集群验证小麦新品种"]] * 4
