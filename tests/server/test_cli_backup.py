"""``yuanxian backup create|restore`` on SQLite (SQLite's online backup) and with a password in the PostgreSQL URL;
the drill over HTTP on PostGIS is ``tests/e2e/test_restore_drill.py``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import User, create_user
from catalog.audit import act_as
from catalog.backup import BackupFailed, conninfo, dump
from catalog.sync_server import server_state
from server.cli import main

PW = "correct horse battery"


def _usernames(app: Any) -> set[str]:
    with Session(app.extensions["yx_engine"]) as s:
        return set(s.scalars(select(User.username)))


def _epoch(app: Any) -> str:
    with Session(app.extensions["yx_engine"]) as s, s.begin():
        return server_state(s).epoch


def test_backup__sqlite__restore_brings_back_the_backup_and_a_new_epoch(sqlite_url: str, tmp_path: Path) -> None:
    from server import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": sqlite_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "t"})
    try:
        cli = app.test_cli_runner()
        with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
            create_user(s, "before", PW, roles=[("agent", "410102")])
        epoch = _epoch(app)
        made = cli.invoke(main, ["backup", "create", str(tmp_path / "b.db")])
        assert made.exit_code == 0, made.output
        assert (tmp_path / "b.db").read_bytes()[:16] == b"SQLite format 3\x00"
        assert not (tmp_path / "b.db.partial").exists()
        with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
            create_user(s, "after", PW, roles=[("agent", "410102")])
        assert {"before", "after"} <= _usernames(app)

        no = cli.invoke(main, ["backup", "restore", str(tmp_path / "b.db")], input="n\n")
        assert no.exit_code == 1 and "after" in _usernames(app)  # asked, refused: nothing changed
        bad = tmp_path / "bad.db"
        bad.write_bytes(b"not a database at all" * 100)
        refused = cli.invoke(main, ["backup", "restore", str(bad), "--yes"])
        assert refused.exit_code == 1 and "Not a SQLite backup" in refused.output
        assert "after" in _usernames(app) and _epoch(app) == epoch

        done = cli.invoke(main, ["backup", "restore", str(tmp_path / "b.db"), "--yes"])
        assert done.exit_code == 0, done.output
        names = _usernames(app)
        assert "before" in names and "after" not in names
        assert _epoch(app) != epoch and _epoch(app) in done.output
    finally:
        app.extensions["yx_engine"].dispose()


def test_conninfo__password_in_a_private_passfile__never_in_the_string() -> None:
    with conninfo("postgresql+psycopg://yx:s3cr:et\\x@db.example:6543/yuanxian?sslmode=require") as dsn:
        assert "s3cr" not in dsn
        assert "host='db.example'" in dsn and "port='6543'" in dsn and "sslmode='require'" in dsn
        passfile = Path(dsn.split("passfile='")[1].split("'")[0])
        assert passfile.read_text() == "*:*:*:*:s3cr\\:et\\\\x\n" and passfile.stat().st_mode & 0o077 == 0
    assert not passfile.exists()
    with pytest.raises(BackupFailed):
        with conninfo("sqlite:///x.db"):
            pass


@pytest.mark.postgis
def test_backup__postgres_url_with_a_password__pg_dump_connects(postgis_url: str, tmp_path: Path) -> None:
    role = f"yx_bk_{uuid.uuid4().hex[:8]}"
    url = make_url(postgis_url)
    from catalog.db import make_engine

    engine = make_engine(postgis_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'pw:with\\colon' IN ROLE pg_read_all_data"))
        size = dump(url.set(username=role, password="pw:with\\colon").render_as_string(hide_password=False),
                    tmp_path / "x.dump")
        assert size > 1000 and (tmp_path / "x.dump").read_bytes()[:5] == b"PGDMP"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        engine.dispose()
