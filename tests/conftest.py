"""Real databases for every test: a fresh SQLite file, and a fresh PostGIS database, per test.

Each engine gets one migrated template with the reference data (code lists, divisions, sites) loaded once
per run; a test gets a copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
PostGIS comes from ``TEST_DATABASE_URL`` or a local server; when neither answers the PostGIS tests skip,
unless ``REQUIRE_POSTGIS=1`` (CI), which turns that skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from catalog.access import SYSTEM, operator
from catalog.accounts import create_user, issue_token
from catalog.audit import act_as
from catalog.db import make_engine
from catalog.migrate import upgrade
from catalog.reference import load_reference

LOCAL_POSTGIS = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with act_as(Session(engine), SYSTEM) as s, s.begin():
        load_reference(s)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _prepare(f"sqlite:///{path}")
    return path


def _postgis_admin_url() -> URL | None:
    raw = os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGIS
    url = make_url(raw)
    try:
        engine = make_engine(url.render_as_string(hide_password=False), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            ok = conn.execute(
                text("select 1 from pg_available_extensions where name = 'postgis'")
            ).scalar()
        engine.dispose()
    except Exception:
        return None
    return url if ok else None


def _admin_execute(admin: URL, *statements: str) -> None:
    engine = make_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for stmt in statements:
            conn.execute(text(stmt))
    engine.dispose()


@pytest.fixture(scope="session")
def postgis_template() -> Iterator[tuple[URL, str]]:
    admin = _postgis_admin_url()
    if admin is None:
        reason = "no PostgreSQL with PostGIS (set TEST_DATABASE_URL)"
        if os.environ.get("REQUIRE_POSTGIS") == "1":
            pytest.fail(f"REQUIRE_POSTGIS=1 but {reason}")
        pytest.skip(reason)
    name = f"yx_tpl_{uuid.uuid4().hex[:10]}"
    _admin_execute(admin, f"CREATE DATABASE {name}")
    url = admin.set(database=name)
    _admin_execute(url, "CREATE EXTENSION IF NOT EXISTS postgis")
    _prepare(url.render_as_string(hide_password=False))
    yield admin, name
    _admin_execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "yuanxian.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgis_url(postgis_template: tuple[URL, str]) -> Iterator[str]:
    admin, template = postgis_template
    name = f"yx_t_{uuid.uuid4().hex[:12]}"
    _admin_execute(admin, f"CREATE DATABASE {name} TEMPLATE {template}")
    yield admin.set(database=name).render_as_string(hide_password=False)
    _admin_execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostGIS."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on a fresh database, writing as the test operator (audited writes need an actor)."""
    engine = make_engine(db_url)
    with act_as(Session(engine), operator("test")) as s:
        yield s
    engine.dispose()


@pytest.fixture
def app(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from server import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test"})
    yield app
    app.extensions["yx_engine"].dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


# One account per role, each with a scope in 河南 (41) where a scope applies.
ROLE_SCOPES: dict[str, str | None] = {
    "ministry_officer": None,
    "province_officer": "410000",
    "city_officer": "410100",
    "county_officer": "410102",
    "agent": "410102",
    "park_manager": "NASTP001",
    "result_holder": "河南农业大学",
    "reviewer": None,
}


@pytest.fixture
def accounts(app) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """Bearer headers for one user per role (plus "other_holder", "other_agent" outside those scopes)."""
    scopes = {**ROLE_SCOPES, "other_holder": "中国农业大学", "other_agent": "130102"}
    out: dict[str, dict[str, str]] = {}
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        for name, scope in scopes.items():
            role = {"other_holder": "result_holder", "other_agent": "agent"}.get(name, name)
            user = create_user(s, f"u_{name}", "correct horse battery", roles=[(role, scope)])
            _token, secret = issue_token(s, user, "api", "tests")
            out[name] = {"Authorization": f"Bearer {secret}"}
    return out


class ClientAs:
    """The test client with one account's bearer header on every request."""

    def __init__(self, client, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
        self.client, self.headers = client, headers

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        return self.client.open(*args, **kwargs)

    def get(self, *a, **kw):  # type: ignore[no-untyped-def]
        return self.open(*a, method="GET", **kw)

    def post(self, *a, **kw):  # type: ignore[no-untyped-def]
        return self.open(*a, method="POST", **kw)

    def patch(self, *a, **kw):  # type: ignore[no-untyped-def]
        return self.open(*a, method="PATCH", **kw)

    def delete(self, *a, **kw):  # type: ignore[no-untyped-def]
        return self.open(*a, method="DELETE", **kw)


@pytest.fixture
def as_role(client, accounts):  # type: ignore[no-untyped-def]
    return lambda role: ClientAs(client, accounts[role])


# -- object storage: moto's S3-compatible server, a real HTTP process --------------------------------------------

@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server (``moto_server``) as a process of its own on a free port; its URL."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1",
                                 "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "moto_server did not answer within 30 s"
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def s3_settings(s3_endpoint: str) -> Iterator[dict[str, str]]:
    """The S3_* settings of a fresh bucket on the moto server (emptied and removed after the test)."""
    from server.storage import s3_client

    settings = {"S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": f"yx-{uuid.uuid4().hex[:12]}", "S3_PREFIX": "photos/",
                "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test-secret"}
    client = s3_client(settings)
    client.create_bucket(Bucket=settings["S3_BUCKET"])
    yield settings
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings["S3_BUCKET"]):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=settings["S3_BUCKET"], Delete={"Objects": keys})
    client.delete_bucket(Bucket=settings["S3_BUCKET"])
    client.close()
