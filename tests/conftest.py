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

from catalog.db import make_engine
from catalog.migrate import upgrade
from catalog.reference import load_reference

LOCAL_POSTGIS = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
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
    engine = make_engine(db_url)
    with Session(engine) as s:
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
