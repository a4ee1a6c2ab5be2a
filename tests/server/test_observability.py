"""Observability: /healthz, /readyz (database, schema at the head, Redis), request ids in headers, error bodies and
log lines, Prometheus metrics at /metrics (requests, sync pushes, uploads; several processes) and who may read them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import create_user, issue_token
from catalog.audit import act_as
from catalog.migrate import alembic_config
from tests.server.test_cli_serve import free_port
from tests.sync.helpers import mutation, plot_fields

PROTO = {"X-Yuanxian-Protocol": "1", "X-Yuanxian-Schema": "1"}


def make_app(url: str, tmp_path: Path, **config: Any):  # type: ignore[no-untyped-def]
    from server import create_app

    return create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"),
                       "SECRET_KEY": "test", **config})


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when it is not there yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def scrape(client, **kw) -> str:  # type: ignore[no-untyped-def]
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200, resp.data[:300]
    assert resp.headers["Content-Type"].startswith("text/plain")
    return str(resp.get_data(as_text=True))


# --- health and readiness ----------------------------------------------------------------------------------------


def test_healthz__answers_without_the_database(client, tmp_path):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    broken = make_app(f"sqlite:///{tmp_path}/no/such/dir/x.db", tmp_path)
    assert broken.test_client().get("/healthz").status_code == 200


def test_readyz__migrated_database__ready_at_the_head(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "ready" and body["checks"]["database"] == {"ok": True}
    schema = body["checks"]["schema"]
    assert schema["ok"] and schema["revision"] == schema["head"] and schema["head"]
    assert "redis" not in body["checks"]  # none configured


def test_readyz__schema_behind_the_code__503_says_upgrade(app, client, db_url):
    command.stamp(alembic_config(db_url), "0001", purge=True)  # the database says it is at the first revision
    resp = client.get("/readyz")
    assert resp.status_code == 503
    err = resp.get_json()["error"]
    assert err["code"] == "not_ready" and "yuanxian db upgrade" in err["message"]["en"]
    assert "yuanxian db upgrade" in err["message"]["zh"]
    schema = err["details"]["checks"]["schema"]
    assert schema["ok"] is False and schema["revision"] == ["0001"] and schema["head"] != ["0001"]
    assert schema["message"]["zh"] and schema["message"]["en"]


def test_readyz__empty_database__503_not_migrated(tmp_path):
    client = make_app(f"sqlite:///{tmp_path}/empty.db", tmp_path).test_client()
    err = client.get("/readyz").get_json()["error"]
    assert err["status"] == 503 and err["details"]["checks"]["schema"]["revision"] == []
    assert "not migrated" in err["message"]["en"] and "尚未迁移" in err["message"]["zh"]


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/no/such/dir/x.db",
                                 "postgresql+psycopg://postgres@127.0.0.1:{port}/nothing"])
def test_readyz__database_does_not_answer__503_and_a_logged_warning(tmp_path, caplog, url):
    app = make_app(url.format(tmp=tmp_path, port=free_port()), tmp_path)
    with caplog.at_level(logging.WARNING, logger="server.probes"):
        resp = app.test_client().get("/readyz", headers={"X-Request-ID": "probe-42"})
    assert resp.status_code == 503
    err = resp.get_json()["error"]
    assert err["details"]["checks"]["database"]["ok"] is False
    assert "does not answer" in err["message"]["en"] and "数据库无法连接" in err["message"]["zh"]
    warned = [r for r in caplog.records if r.name == "server.probes"]
    assert warned and all(getattr(r, "request_id", None) == "probe-42" for r in warned)  # the request's id


def redis_up() -> None:
    """Redis on 127.0.0.1:6379, started here when it is down (skips only when redis-server is not installed)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        client.ping()
        return
    except redis.RedisError:
        pass
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    subprocess.run(["redis-server", "--daemonize", "yes", "--port", "6379", "--save", "", "--appendonly", "no"],
                   check=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.2)


def test_readyz__redis_configured__checked(sqlite_url, tmp_path):
    redis_up()
    ok = make_app(sqlite_url, tmp_path, REDIS_URL="redis://127.0.0.1:6379/0").test_client().get("/readyz")
    assert ok.status_code == 200 and ok.get_json()["checks"]["redis"] == {"ok": True}
    # The limiter's storage counts as the Redis to check (server.config puts REDIS_URL there).
    down = make_app(sqlite_url, tmp_path, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    resp = down.test_client().get("/readyz")
    assert resp.status_code == 503
    err = resp.get_json()["error"]
    assert err["details"]["checks"]["redis"]["ok"] is False and err["details"]["checks"]["database"]["ok"]
    assert "Redis does not answer" in err["message"]["en"] and "Redis 无法连接" in err["message"]["zh"]


# --- request ids and logs ----------------------------------------------------------------------------------------


def test_request_id__sane_one_echoed__others_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "kit-7f3a.2:1"}).headers["X-Request-ID"] == "kit-7f3a.2:1"
    made = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(made) == 3 and all(len(r) == 32 for r in made)
    for bad in ("has space", "x" * 200, "<script>", "-leading-dash"):
        got = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert got != bad and len(got) == 32


def test_request_id__in_the_error_body_and_the_access_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="server.access"):
        resp = client.get("/api/results/no-such-id", headers={"X-Request-ID": "req-abc"})
        page = client.get("/no-such-page", headers={"X-Request-ID": "req-page"})
    assert resp.status_code == 404 and resp.get_json()["error"]["request_id"] == "req-abc"
    assert page.status_code == 404 and "req-page" in page.get_data(as_text=True)  # the HTML error page shows it
    line = next(r for r in caplog.records if r.name == "server.access" and r.request_id == "req-abc")
    assert (line.method, line.path, line.status, line.endpoint) == ("GET", "/api/results/no-such-id", 404,
                                                                     "/api/results/<result_id>")
    assert line.duration_ms >= 0 and line.actor is None


def test_access_log__json_line_on_stdout_with_the_actor(as_role, capsys):
    capsys.readouterr()
    as_role("ministry_officer").get("/api/codelists", headers={"X-Request-ID": "json-line-1"})
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    line = next(x for x in lines if x["request_id"] == "json-line-1")
    assert line["logger"] == "server.access" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"], line["actor"]) == ("GET", "/api/codelists", 200,
                                                                             "u_ministry_officer")
    assert isinstance(line["duration_ms"], float) and line["ts"].endswith("+00:00")


def test_access_log__text_format_for_development(sqlite_url, tmp_path, capsys):
    client = make_app(sqlite_url, tmp_path, LOG_FORMAT="text").test_client()
    try:
        capsys.readouterr()
        client.get("/healthz", headers={"X-Request-ID": "text-line-1"})
        out = capsys.readouterr().out
        assert "INFO server.access [text-line-1] GET /healthz 200" in out and not out.lstrip().startswith("{")
    finally:
        make_app(sqlite_url, tmp_path)  # back to the default (JSON) for the tests after this one


def test_log_settings__wrong_value__refused_in_both_languages(sqlite_url, tmp_path):
    with pytest.raises(ValueError, match="LOG_FORMAT 应为 json 或 text.*LOG_FORMAT must be json or text"):
        make_app(sqlite_url, tmp_path, LOG_FORMAT="xml")
    with pytest.raises(ValueError, match="LOG_LEVEL must be"):
        make_app(sqlite_url, tmp_path, LOG_LEVEL="LOUD")


# --- metrics -----------------------------------------------------------------------------------------------------


def test_metrics__requests_counted_by_method_endpoint_status(app, client):
    rule = app.url_map.bind("localhost").match("/api/codelists/crop", return_rule=True)[0].rule
    labels = {"method": "GET", "endpoint": rule, "status": "200"}
    before = scrape(client)
    for _ in range(3):
        assert client.get("/api/codelists/crop").status_code == 200
    client.get("/api/no/such/path/1")
    client.get("/api/no/such/path/2")
    after = scrape(client)
    assert sample(after, "yuanxian_http_requests_total", **labels) - \
        sample(before, "yuanxian_http_requests_total", **labels) == 3
    assert sample(after, "yuanxian_http_request_duration_seconds_count", **labels) - \
        sample(before, "yuanxian_http_request_duration_seconds_count", **labels) == 3
    unmatched = {"method": "GET", "endpoint": "<unmatched>", "status": "404"}
    assert sample(after, "yuanxian_http_requests_total", **unmatched) - \
        sample(before, "yuanxian_http_requests_total", **unmatched) == 2  # one series for every unknown path


@pytest.fixture
def device(app) -> dict[str, str]:
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        user = create_user(s, "kit_metrics", "correct horse battery", roles=[("agent", "410102")])
        _token, secret = issue_token(s, user, "device", "指标 平板")
    return {"Authorization": f"Bearer {secret}", **PROTO}


def push(client, headers, *mutations):  # type: ignore[no-untyped-def]
    resp = client.post("/api/sync/push", data=json.dumps({"mutations": list(mutations)}),
                       headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.data[:300]
    return [a for a in resp.get_json()["answers"]]


def test_metrics__sync_push_answers_conflicts_rejections_and_upload_bytes(client, device):
    before = scrape(client)
    rid, first = str(uuid.uuid4()), mutation("plot", str(uuid.uuid4()), plot_fields())
    answers = push(client, device, first, mutation("plot", rid, plot_fields()))
    answers += push(client, device, first)  # a retry: duplicate
    answers += push(client, device, mutation("plot", rid, {"variety": "郑单958"}, base=1))
    answers += push(client, device, mutation("plot", rid, {"variety": "先玉335"}, base=1))  # stale base: conflict
    answers += push(client, device, mutation("plot", str(uuid.uuid4()), plot_fields(county_code="130102")))
    assert [a["status"] for a in answers] == ["applied", "applied", "duplicate", "applied", "conflict", "rejected"]
    data = os.urandom(3000)
    sha = hashlib.sha256(data).hexdigest()
    for _ in range(2):  # the second time the file is known: nothing more stored
        resp = client.patch(f"/api/sync/files/{sha}", data=data,
                            headers={**device, "X-Upload-Offset": "0", "X-Upload-Length": str(len(data))})
        assert resp.status_code == 200 and resp.headers["X-Upload-Complete"] == "1"
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("yuanxian_sync_push_batches_total") == 5
    assert {a: delta("yuanxian_sync_mutations_total", answer=a) for a in ("applied", "duplicate", "conflict",
                                                                        "rejected")} == \
        {"applied": 3, "duplicate": 1, "conflict": 1, "rejected": 1}
    assert delta("yuanxian_sync_conflicts_total") == len(answers[4]["conflict_ids"]) == 1
    assert delta("yuanxian_sync_rejected_mutations_total", code=answers[5]["code"]) == 1
    assert delta("yuanxian_sync_upload_bytes_total") == 3000


def test_metrics__loopback_not_forwarded__or_only_the_token_when_set(sqlite_url, tmp_path):
    open_ = make_app(sqlite_url, tmp_path).test_client()
    assert open_.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    for kw in ({"environ_base": {"REMOTE_ADDR": "10.0.0.9"}}, {"headers": {"X-Forwarded-For": "203.0.113.5"}}):
        resp = open_.get("/metrics", **kw)
        err = resp.get_json()["error"]
        assert resp.status_code == 403 and err["code"] == "metrics_forbidden"
        assert "METRICS_TOKEN" in err["message"]["zh"] and "METRICS_TOKEN" in err["message"]["en"]
    guarded = make_app(sqlite_url, tmp_path, METRICS_TOKEN="s3cret-scrape").test_client()
    remote = {"environ_base": {"REMOTE_ADDR": "10.0.0.9"}}
    assert guarded.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}, **remote).status_code == 200
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}, **remote).status_code == 403
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403  # even locally
    assert guarded.get("/metrics", **remote).status_code == 403
    assert guarded.get("/metrics").status_code == 403  # with a token set, loopback needs it too


# --- real processes ----------------------------------------------------------------------------------------------


def wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not answer within 90 s"
            time.sleep(0.3)


def test_two_processes__one_metrics_dir__metrics_add_up_and_logs_are_json(sqlite_url, tmp_path):
    """Like two gunicorn workers: each process writes its values to PROMETHEUS_MULTIPROC_DIR; /metrics of either
    adds up both. Also, over real HTTP: X-Request-ID, /readyz, one JSON access line per request on stdout."""
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "YUANXIAN_INSTANCE": str(tmp_path),
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "LOG_FORMAT": "json"}
    cli = Path(sys.executable).with_name("yuanxian")
    procs, ports, logs = [], [free_port(), free_port()], [tmp_path / "a.log", tmp_path / "b.log"]
    try:
        for port, log in zip(ports, logs, strict=True):
            with log.open("wb") as out:
                procs.append(subprocess.Popen([str(cli), "serve", "--port", str(port)], env=env, stdout=out,
                                              stderr=subprocess.STDOUT))
        for port, proc, log in zip(ports, procs, logs, strict=True):
            wait_for(f"http://127.0.0.1:{port}/healthz", proc, log)
        for port, n in zip(ports, (2, 3), strict=True):
            for _ in range(n):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/codelists", timeout=5).close()
        req = urllib.request.Request(f"http://127.0.0.1:{ports[0]}/readyz", headers={"X-Request-ID": "real-1"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200 and resp.headers["X-Request-ID"] == "real-1"
            assert json.loads(resp.read())["status"] == "ready"
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        assert sample(text, "yuanxian_http_requests_total", method="GET", endpoint="/api/codelists",
                      status="200") == 5
        assert sample(text, "yuanxian_http_requests_total", endpoint="/healthz") >= 2
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    lines = [json.loads(x) for x in logs[0].read_text().splitlines() if x.startswith("{")]
    assert any(x["request_id"] == "real-1" and x["path"] == "/readyz" and x["status"] == 200 for x in lines)
    assert sum(1 for x in lines if x.get("path") == "/api/codelists") == 2
