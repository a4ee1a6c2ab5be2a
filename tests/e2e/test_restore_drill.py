"""The restore drill (issue 8): a real server over HTTP on a scratch PostGIS database, a field kit syncing, a real
``pg_dump`` backup through ``yuanxian backup create``, more syncs, ``yuanxian backup restore`` (``pg_restore`` and
a new epoch), and the kit re-sending what the restore lost until the server holds everything it holds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fk_kits import Kit
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from catalog.access import operator
from catalog.accounts import create_user
from catalog.audit import act_as
from catalog.field import DemoPlot, YieldMeasurement
from catalog.sync_server import server_state
from server import create_app
from server.cli import main
from sync.transport import Backoff, HttpTransport
from tests.sync.helpers import settle

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.postgis


class Served:
    """The app on 127.0.0.1 in a thread; ``stop`` and ``start`` again on the same port (as an operator stops the
    app servers for a restore and starts them after)."""

    def __init__(self, app: Any) -> None:
        self.app, self.port, self.server, self.thread = app, 0, None, None  # type: ignore[var-annotated]
        self.start()

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(target=self.server.serve_forever, name="drill-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.thread.join(timeout=10)  # type: ignore[union-attr]
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def drill_app(postgis_url: str, tmp_path: Path) -> Iterator[Any]:
    app = create_app({"TESTING": True, "DATABASE_URL": postgis_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test"})
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        create_user(s, "u_agent", PASSWORD, roles=[("agent", "410102")])
    yield app
    app.extensions["yx_engine"].dispose()


def _kit(app: Any, name: str, url: str, tmp_path: Path) -> Kit:
    r = app.test_client().post("/api/devices", json={"username": "u_agent", "password": PASSWORD, "name": name})
    assert r.status_code == 201, r.get_json()
    transport = HttpTransport(url, token=r.get_json()["secret"], timeout=(5.0, 30.0), backoff=Backoff(attempts=2))
    return Kit.make(name, tmp_path, transport)


def _server(app: Any) -> tuple[dict[str, tuple[bool, str | None]], dict[str, str], int, int]:
    """Plots (id -> deleted, notes), yields (id -> plot), and the row counts of both tables."""
    with Session(app.extensions["yx_engine"]) as s:
        settle(s)
        plots = {p.id: (p.deleted, p.notes) for p in s.scalars(select(DemoPlot))}
        yields = {y.id: y.plot_id for y in s.scalars(select(YieldMeasurement))}
        counts = (s.scalar(select(func.count()).select_from(DemoPlot)) or 0,
                  s.scalar(select(func.count()).select_from(YieldMeasurement)) or 0)
    return plots, yields, *counts


def _epoch(app: Any) -> str:
    with Session(app.extensions["yx_engine"]) as s, s.begin():
        return server_state(s).epoch  # made (and kept) on first use


def test_restore_drill__pg_dump_then_more_syncs_then_pg_restore__the_kit_resends_what_was_lost(
        drill_app: Any, tmp_path: Path) -> None:
    app, cli = drill_app, drill_app.test_cli_runner()
    served = Served(app)
    kit = _kit(app, "甲", served.url, tmp_path)
    try:
        kept, gone, untouched = kit.add_plot("备份前·东", 1), kit.add_plot("备份前·西", 2), kit.add_plot("备份前·南", 3)
        kept_yield = kit.add_yield(kept)
        assert kit.sync().answers == {"applied": 4}, [(c.code, c.field, c.message) for c in kit.store.conflicts()]

        backup = tmp_path / "yuanxian.dump"
        made = cli.invoke(main, ["backup", "create", str(backup)])
        assert made.exit_code == 0, made.output
        assert backup.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
        old_epoch = _epoch(app)

        # After the backup: a new plot with a yield, an edit, a delete; all reach the server.
        lost = kit.add_plot("备份后·北", 4)
        lost_yield = kit.add_yield(lost)
        kit.edit("plot", kept, notes="备份后修改")
        assert kit.delete("plot", gone)
        assert kit.sync().answers == {"applied": 4}
        plots, yields, _, _ = _server(app)
        assert plots[gone][0] and plots[kept][1] == "备份后修改" and lost in plots and lost_yield in yields

        served.stop()  # the operator stops the app servers, restores, starts them again
        restored = cli.invoke(main, ["backup", "restore", str(backup), "--yes"])
        assert restored.exit_code == 0, restored.output
        assert "new epoch" in restored.output
        plots, yields, _, _ = _server(app)
        # The server is back where the backup was: the lost plot and yield gone, the delete and the edit undone.
        assert set(plots) == {kept, gone, untouched} and set(yields) == {kept_yield}
        assert plots[gone] == (False, None) and plots[kept][1] is None
        new_epoch = _epoch(app)
        assert new_epoch != old_epoch
        served.start()

        report = kit.sync()
        assert report.refetched and report.requeued == 4, report  # the edit, the delete, the plot and its yield
        settle_and_sync = kit.sync()
        assert settle_and_sync.answers == {}, "nothing left to send"
        assert kit.store.outbox() == [], "everything sent"
        assert kit.store.conflicts() == [], [(c.type, c.code, c.field, c.message) for c in kit.store.conflicts()]

        plots, yields, n_plots, n_yields = _server(app)
        assert set(plots) == {kept, gone, untouched, lost} and (n_plots, n_yields) == (4, 2)  # nothing twice
        assert plots[gone][0], "the delete is still a delete"
        assert plots[kept] == (False, "备份后修改") and not plots[lost][0] and not plots[untouched][0]
        assert yields == {kept_yield: kept, lost_yield: lost}
        assert sorted(kit.live("plot")) == sorted([kept, untouched, lost])

        # A kit enrolled now downloads exactly that from the restored server (its renumbered change log).
        fresh = _kit(app, "乙", served.url, tmp_path)
        fresh.sync()
        assert sorted(fresh.live("plot")) == sorted([kept, untouched, lost])
        assert sorted(fresh.live("yield")) == sorted([kept_yield, lost_yield])
        fresh.transport.close()  # type: ignore[attr-defined]
    finally:
        served.stop()
        kit.transport.close()  # type: ignore[attr-defined]


def test_restore__not_a_backup__refused_and_the_database_unchanged(drill_app: Any, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.dump"
    bogus.write_bytes(b"not a dump")
    before = _epoch(drill_app)
    result = drill_app.test_cli_runner().invoke(main, ["backup", "restore", str(bogus), "--yes"])
    assert result.exit_code == 1
    assert "pg_restore" in result.output and "失败" in result.output
    assert _epoch(drill_app) == before
    missing = drill_app.test_cli_runner().invoke(main, ["backup", "restore", str(tmp_path / "none.dump"), "--yes"])
    assert missing.exit_code == 1 and "No backup file" in missing.output
