"""Production operation: `config check`, `serve --production` (gunicorn, real processes), ProxyFix behind a
reverse proxy, and the sign-in limit shared through Redis by separate app processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import request, url_for

from server import config as cfg
from server import create_app
from server.cli import main
from tests.redis_server import REDIS_URL, ensure_redis
from tests.server.test_cli_serve import free_port

SETTINGS = ("DATABASE_URL", "SECRET_KEY", "YUANXIAN_ENV", "REDIS_URL", "YUANXIAN_PROXIES", "YUANXIAN_WORKERS",
            "LOG_FORMAT", "LOG_LEVEL", "PROMETHEUS_MULTIPROC_DIR", *cfg.S3_SETTINGS)
GOOD_SECRET = "a" * 24 + uuid.uuid4().hex  # 56 characters
CLI = Path(sys.executable).with_name("yuanxian")


def check(tmp_path: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    """`yuanxian config check ARGS` with exactly these settings (every other one of ours unset)."""
    full: dict[str, str | None] = {name: None for name in SETTINGS}
    full.update(env)
    full["YUANXIAN_INSTANCE"] = str(tmp_path)
    return CliRunner(env=full).invoke(main, ["config", "check", *args])


def test_config_check__several_wrong__a_line_for_each_and_exit_1(tmp_path: Path) -> None:
    result = check(tmp_path, YUANXIAN_ENV="production", DATABASE_URL="mysql://root@db/yx", SECRET_KEY="short",
                   REDIS_URL="http://cache:6379", YUANXIAN_PROXIES="9", YUANXIAN_WORKERS="many",
                   LOG_FORMAT="xml", LOG_LEVEL="loud", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "missing"))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("[错误 / error]")]
    assert sorted(line.split(":")[0].split("] ")[1] for line in errors) == sorted(
        ["DATABASE_URL", "SECRET_KEY", "REDIS_URL", "YUANXIAN_PROXIES", "YUANXIAN_WORKERS", "LOG_FORMAT", "LOG_LEVEL",
         "PROMETHEUS_MULTIPROC_DIR"])
    assert "unsupported driver mysql" in result.output and "不支持的驱动" in result.output
    assert "at least 32 characters, not 5" in result.output
    assert "must be a whole number from 0 to 5, not '9'" in result.output
    assert "8 setting(s) wrong" in result.output


def test_config_check__production_secret__required_and_not_the_default(tmp_path: Path) -> None:
    missing = check(tmp_path, "--production", DATABASE_URL="postgresql+psycopg://yx@db/yx")
    assert missing.exit_code == 1 and "SECRET_KEY: 生产环境必须设置" in missing.output
    default = check(tmp_path, "--production", SECRET_KEY=cfg.DEFAULTS["SECRET_KEY"])
    assert default.exit_code == 1 and "must not be the development default" in default.output
    unparseable = check(tmp_path, DATABASE_URL="not a url")
    assert unparseable.exit_code == 1 and "is not a parseable database URL" in unparseable.output
    odd_mode = check(tmp_path, YUANXIAN_ENV="prod")
    assert odd_mode.exit_code == 1 and "must be production or development, not 'prod'" in odd_mode.output


def test_config_check__good_production__exit_0_with_a_summary(tmp_path: Path) -> None:
    result = check(tmp_path, YUANXIAN_ENV="production", DATABASE_URL="postgresql+psycopg://yx:pw@db/yx",
                   SECRET_KEY=GOOD_SECRET, REDIS_URL="redis://127.0.0.1:6379/0", YUANXIAN_PROXIES="1",
                   YUANXIAN_WORKERS="3", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("配置无误 / configuration OK (生产 / production): "
                                     f"{len(cfg.ENV_SETTINGS)} settings checked, 0 warning(s); workers 3")


def test_config_check__sqlite_in_production__a_warning_not_an_error(tmp_path: Path) -> None:
    result = check(tmp_path, "--production", SECRET_KEY=GOOD_SECRET, YUANXIAN_WORKERS="1",
                   DATABASE_URL=f"sqlite:///{tmp_path}/yx.db")
    assert result.exit_code == 0, result.output
    assert "[注意 / warning] DATABASE_URL: 生产环境应使用 PostgreSQL/PostGIS" in result.output


def test_config_check__development_defaults__ok(tmp_path: Path) -> None:
    result = check(tmp_path)
    assert result.exit_code == 0 and "configuration OK (开发 / development)" in result.output


def test_workers__default_from_cores_capped__or_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YUANXIAN_WORKERS", raising=False)
    assert cfg.workers() == min(2 * (os.cpu_count() or 1) + 1, cfg.WORKERS_CAP)
    monkeypatch.setenv("YUANXIAN_WORKERS", "7")
    assert cfg.workers() == 7


# -- serve --production: gunicorn as a real process ----------------------------------------------------------

def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_serve_production__gunicorn_workers_answer_and_stop_on_sigterm(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "YUANXIAN_INSTANCE": str(tmp_path), "SECRET_KEY": GOOD_SECRET,
           "YUANXIAN_WORKERS": "2"}
    for name in ("REDIS_URL", "YUANXIAN_PROXIES", "YUANXIAN_ENV"):
        env.pop(name, None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(CLI), "serve", "--production", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as resp:
                    page = resp.read().decode()
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 90 s"
                time.sleep(0.3)
        assert "成果目录" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/codelists/crop", timeout=5) as resp:
            assert resp.status == 200
        workers = _children(proc.pid)  # the master is the process we started
        assert len(workers) == 2, log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=GRACE) == 0, log.read_text()
        assert not any(Path(f"/proc/{w}").exists() for w in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    text = log.read_text()
    assert "2 gunicorn workers" in text and "Booting worker" in text
    access = [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"path"' in line]
    assert any(a["method"] == "GET" and a["path"] == "/" and a["status"] == 200 and a.get("request_id")
               for a in access), text  # the app's access log, once per request, on stdout
    assert '"GET / HTTP/1.1"' not in text  # and not gunicorn's second line for the same request


GRACE = 40  # seconds: gunicorn's graceful timeout (30) and a margin


def test_serve_production__bad_config__refuses_with_the_messages(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "YUANXIAN_INSTANCE": str(tmp_path), "SECRET_KEY": "short", "YUANXIAN_PROXIES": "x"}
    env.pop("REDIS_URL", None)
    done = subprocess.run([str(CLI), "serve", "--production", "--port", str(port)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "SECRET_KEY: 太短：至少 32 个字符" in done.stderr and "YUANXIAN_PROXIES" in done.stderr
    assert "configuration wrong: not starting" in done.stderr
    assert "Starting gunicorn" not in done.stdout + done.stderr


# -- behind a reverse proxy ----------------------------------------------------------------------------------

@pytest.fixture
def proxied_app(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("YUANXIAN_PROXIES", "1")
    app = create_app({**cfg.from_environment(), "TESTING": True, "DATABASE_URL": sqlite_url, "SECRET_KEY": "test",
                      "INSTANCE_PATH": str(tmp_path / "instance")})

    @app.get("/_seen")  # what the app sees of the request, after the middleware
    def seen() -> dict[str, str]:
        return {"scheme": request.scheme, "addr": str(request.remote_addr), "host": request.host,
                "url": url_for("seen", _external=True)}

    yield app
    app.extensions["yx_engine"].dispose()


PROXY_HEADERS = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "yx.example.cn"}


def test_proxies_1__client_address_scheme_and_host_from_the_proxy(proxied_app) -> None:  # type: ignore[no-untyped-def]
    seen = proxied_app.test_client().get("/_seen", headers=PROXY_HEADERS,
                                         environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_json()
    assert seen == {"scheme": "https", "addr": "203.0.113.7", "host": "yx.example.cn",
                    "url": "https://yx.example.cn/_seen"}


def test_proxies_1__only_the_last_hop_is_trusted(proxied_app) -> None:  # type: ignore[no-untyped-def]
    forged = {**PROXY_HEADERS, "X-Forwarded-For": "1.2.3.4, 203.0.113.7"}
    seen = proxied_app.test_client().get("/_seen", headers=forged).get_json()
    assert seen["addr"] == "203.0.113.7"


def test_proxies_0__forwarded_headers_ignored(sqlite_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": sqlite_url, "SECRET_KEY": "test",
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    app.add_url_rule("/_seen", "seen", lambda: {"scheme": request.scheme, "addr": request.remote_addr})
    seen = app.test_client().get("/_seen", headers=PROXY_HEADERS).get_json()
    assert seen == {"scheme": "http", "addr": "127.0.0.1"}
    app.extensions["yx_engine"].dispose()


def test_proxies_1__sign_in_limit_counts_per_client_address(proxied_app) -> None:  # type: ignore[no-untyped-def]
    client = proxied_app.test_client()
    body = {"username": f"nobody_{uuid.uuid4().hex[:8]}", "password": "wrong"}

    def attempt(addr: str) -> int:
        return client.post("/api/auth/login", json=body, headers={"X-Forwarded-For": addr}).status_code

    assert [attempt("203.0.113.7") for _ in range(6)] == [401] * 5 + [429]
    assert attempt("198.51.100.9") == 401  # another client behind the same proxy is not locked out


# -- the sign-in limit through Redis, across app processes ---------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Redis at 127.0.0.1:6379, started here when it is down (skip only when redis-server is not installed)."""
    client = ensure_redis(REDIS_URL)
    yield REDIS_URL
    client.close()


SECOND_APP = """
import json, sys
from server import create_app
app = create_app()  # from the environment, as a deployed app server
status = app.test_client().post("/api/auth/login", json={"username": sys.argv[1], "password": "wrong"}).status_code
print(json.dumps({"status": status, "storage": app.config["RATELIMIT_STORAGE_URI"]}))
"""


def _other_process_attempt(username: str, sqlite_url: str, tmp_path: Path, redis: str | None) -> dict[str, object]:
    env = {**os.environ, "DATABASE_URL": sqlite_url, "YUANXIAN_INSTANCE": str(tmp_path)}
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = redis
    done = subprocess.run([sys.executable, "-c", SECOND_APP, username], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "memory"])
def test_sign_in_limit__failures_on_one_app_count_on_another(
        shared: bool, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    redis = request.getfixturevalue("redis_url") if shared else None
    if redis:
        monkeypatch.setenv("REDIS_URL", redis)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app({**cfg.from_environment(), "TESTING": True, "DATABASE_URL": sqlite_url, "SECRET_KEY": "test",
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    username = f"nobody_{uuid.uuid4().hex[:8]}"
    client = app.test_client()
    statuses = [client.post("/api/auth/login", json={"username": username, "password": "wrong"}).status_code
                for _ in range(5)]
    assert statuses == [401] * 5
    other = _other_process_attempt(username, sqlite_url, tmp_path, redis)
    # Through Redis the second app server refuses the sixth try; with memory storage it knows nothing of them.
    expected = {"status": 429, "storage": redis} if shared else {"status": 401, "storage": "memory://"}
    assert other == expected
    app.extensions["yx_engine"].dispose()


def test_sign_in_limit__redis_down__sign_in_goes_on_counted_in_memory(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    app = create_app({**cfg.from_environment(), "TESTING": True, "DATABASE_URL": sqlite_url, "SECRET_KEY": "test",
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    client = app.test_client()
    body = {"username": f"nobody_{uuid.uuid4().hex[:8]}", "password": "wrong"}
    assert [client.post("/api/auth/login", json=body).status_code for _ in range(6)] == [401] * 5 + [429]
    app.extensions["yx_engine"].dispose()
