"""The migrations build exactly the models' schema on both engines, and come down cleanly."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from catalog.db import make_engine
from catalog.ddl import include_object
from catalog.migrate import downgrade, upgrade
from catalog.models import Base
from tests.conftest import _admin_execute


def assert_matches_models(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(ctx, Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert set(Base.metadata.tables) <= tables


def check_engine(url: str) -> None:
    upgrade(url)
    assert_matches_models(url)
    downgrade(url, "base")
    engine = make_engine(url)
    with engine.connect() as conn:
        left = set(inspect(conn).get_table_names()) - {"alembic_version", "spatial_ref_sys"}
    engine.dispose()
    assert left == set()
    upgrade(url)  # and up again
    assert_matches_models(url)


def test_migrations__sqlite__match_models(tmp_path):
    check_engine(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgis
def test_migrations__postgis__match_models(postgis_template):
    admin, _template = postgis_template
    name = f"yx_m_{uuid.uuid4().hex[:10]}"
    _admin_execute(admin, f"CREATE DATABASE {name}")
    url = admin.set(database=name)
    try:
        _admin_execute(url, "CREATE EXTENSION postgis")
        check_engine(url.render_as_string(hide_password=False))
    finally:
        _admin_execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
