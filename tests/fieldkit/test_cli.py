"""``fieldkit`` commands through click's CliRunner against the real app in process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.audit import act_as
from catalog.db import make_engine
from catalog.field import DemoPlot, Photo, YieldMeasurement
from catalog.lifecycle import transition
from catalog.result_store import create_result
from fieldkit.cli import main
from fieldkit.store import Store
from sync.transport import InProcessTransport
from tests.sync.helpers import settle
from tests.web.conftest import DEMO

SQUARE = "113.600,34.700;113.601,34.700;113.601,34.701;113.600,34.701"
BOWTIE = "113.600,34.700;113.601,34.701;113.601,34.700;113.600,34.701"


@pytest.fixture
def published(db_url: str) -> str:
    """One result on the published national list (in every device's scope)."""
    name, fields, actions = DEMO[0]
    engine = make_engine(db_url)
    with act_as(Session(engine), operator("test")) as s, s.begin():
        r = create_result(s, {"name": name, **fields}, "seed@test")
        for action in actions:
            transition(s, r, action, "reviewer@test", None, list_batch="2024年第一批" if action == "publish" else None)
        rid = str(r.id)
    engine.dispose()
    return rid


@pytest.fixture
def fk(app: Any, client: Any, accounts: Any, published: str, tmp_path: Path) -> Any:
    runner = CliRunner()
    home = tmp_path / "kit"

    def run(*args: str, ok: bool = True, input: str | None = None) -> Result:
        result = runner.invoke(main, ["--home", str(home), *args], input=input,
                               obj={"transport": lambda url, token: InProcessTransport(client, token=token)})
        assert (result.exit_code == 0) == ok, result.output
        return result

    run("init", "--server", "http://yuanxian.test")
    run("login", "--username", "u_agent", "--password", "correct horse battery")
    run.home = home  # type: ignore[attr-defined]
    return run


def _store(fk: Any) -> Store:
    return Store(fk.home / "fieldkit.db")


def test_cli__a_day_in_the_field__recorded_offline_then_synced(app: Any, fk: Any, tmp_path: Path) -> None:
    out = fk("plot", "add", "--name", "东区示范田", "--crop", "maize", "--season", "2026-autumn_grain",
             "--coords", SQUARE).output
    assert "已保存地块 / plot saved" in out and "亩" in out
    pid = out.split("plot saved: ")[1].split()[0]
    gj = tmp_path / "b.geojson"
    gj.write_text(json.dumps({"type": "Polygon", "coordinates": [[[113.61, 34.71], [113.611, 34.71],
                                                                 [113.611, 34.711], [113.61, 34.711]]]}))
    fk("plot", "add", "--name", "西区", "--crop", "wheat", "--season", "2026-summer_grain",
       "--geojson", str(gj), "--crs", "gcj02")
    fk("plot", "edit", pid[:8], "--variety", "郑单958")
    fk("yield", "add", "--plot", pid[:8], "--method", "harvest",
       "--sample", "area_mu=0.1,fresh_kg=80,moisture=0.25,impurity=0.01")
    photo = tmp_path / "x.jpg"
    photo.write_bytes(b"\xff\xd8not really a jpeg" * 1000)
    fk("photo", "add", "--plot", pid[:8], str(photo))
    listing = fk("plot", "list").output
    assert "东区示范田" in listing and "2 plots" in listing
    assert "郑单958" in fk("plot", "show", pid[:8]).output
    status = fk("status").output
    assert "待发送 / waiting: 4 (photo 1, plot 2, yield 1)" in status  # the edit joined the unsent creation
    assert "files 1" in status and "从未 / never" in status

    out = fk("sync").output
    assert "同步完成 / synced" in out and "applied 4" in out, out
    assert "待发送 / waiting: 0" in fk("status").output
    with Session(app.extensions["yx_engine"]) as s:
        assert {p.name for p in s.scalars(select(DemoPlot))} == {"东区示范田", "西区"}
        assert s.scalar(select(YieldMeasurement.yield_kg_per_mu)) is not None  # computed by the server
        assert s.scalar(select(Photo.sha256)) is not None
        settle(s)
    fk("sync")
    found = fk("results", "search", "玉米").output
    assert "耐密高产玉米新品种郑单958" in found and "1 found" in found
    assert "0 found" in fk("results", "search", "没有这种成果").output


def test_cli__bad_input__refused_with_a_clear_message_and_nothing_queued(fk: Any) -> None:
    out = fk("plot", "add", "--name", "交叉", "--crop", "maize", "--season", "2026-autumn_grain",
             "--coords", BOWTIE, ok=False).output
    assert "未保存" in out and "边界自相交" in out and "crosses itself" in out
    out = fk("plot", "add", "--name", "少点", "--crop", "maize", "--season", "2026-autumn_grain",
             "--coords", "113.6,34.7;113.61,34.7", ok=False).output
    assert "边界" in out
    pid = fk("plot", "add", "--name", "好", "--crop", "maize", "--season", "2026-autumn_grain",
             "--coords", SQUARE).output.split("plot saved: ")[1].split()[0]
    out = fk("yield", "add", "--plot", pid[:8], "--method", "harvest",
             "--sample", "area_mu=0.1,fresh_kg=-5,moisture=0.25,impurity=0.01", ok=False).output
    assert "fresh_kg" in out and "未保存" in out
    assert "找不到" in fk("plot", "show", "ffffffff", ok=False).output
    assert [m.type for m in _store(fk).outbox()] == ["plot"]


def test_cli__conflict__shown_by_status_and_conflicts(app: Any, fk: Any, client: Any) -> None:
    pid = fk("plot", "add", "--name", "p", "--crop", "maize", "--season", "2026-autumn_grain",
             "--coords", SQUARE).output.split("plot saved: ")[1].split()[0]
    fk("sync")
    fk("plot", "edit", pid[:8], "--notes", "本机")
    # Another kit of the same agent changes the same field first.
    from fk_kits import Kit
    token = client.post("/api/devices", json={"username": "u_agent", "password": "correct horse battery",
                                              "name": "二号"}).get_json()["secret"]
    other = Kit.make("other", fk.home.parent, InProcessTransport(client, token=token))
    with Session(app.extensions["yx_engine"]) as s:
        settle(s)
    other.sync()
    assert other.edit("plot", pid, notes="另一台")
    other.sync()
    out = fk("sync").output
    assert "conflict 1" in out and "fieldkit conflicts" in out
    assert "冲突 / conflicts: 1" in fk("status").output
    shown = fk("conflicts").output
    assert "本机" in shown and "另一台" in shown


def test_cli__export__plots_as_geojson_kml_csv(fk: Any, tmp_path: Path) -> None:
    fk("plot", "add", "--name", "东区", "--crop", "maize", "--season", "2026-autumn_grain", "--coords", SQUARE)
    doc = json.loads(fk("export", "--format", "geojson").output)
    [feature] = doc["features"]
    assert feature["properties"]["name"] == "东区" and 14 < feature["properties"]["area_mu"] < 16
    fk("export", "--format", "kml", "-o", str(tmp_path / "p.kml"))
    assert "<Placemark" in (tmp_path / "p.kml").read_text(encoding="utf-8")
    fk("export", "--format", "csv", "-o", str(tmp_path / "p.csv"))
    assert "东区" in (tmp_path / "p.csv").read_text(encoding="utf-8-sig")


def test_cli__before_init_and_login__says_what_to_do(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["--home", str(tmp_path / "none"), "plot", "list"]).output
    assert "fieldkit init" in out
    runner.invoke(main, ["--home", str(tmp_path / "k"), "init", "--server", "http://x"])
    out = runner.invoke(main, ["--home", str(tmp_path / "k"), "sync"]).output
    assert "fieldkit login" in out
