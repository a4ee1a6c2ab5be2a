"""A rejection's round trip to the agent's field kit over real HTTP: the app served by werkzeug on 127.0.0.1, the
``fieldkit`` command line with its own HTTP transport (requests). The kit records a county self-test and syncs;
the county officer rejects it with a comment through the API; the next sync brings the rejection to the kit
(``fieldkit yield list``, ``fieldkit status``, the kit's web page); the agent's edit sends it back to pending on
both ends; the officer approves; the kit shows it locked and refuses to edit it, and a forged push of an edit is
answered ``rejected`` ``locked``. SQLite and PostGIS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from catalog.access import operator
from catalog.audit import act_as
from catalog.field import YieldMeasurement
from fieldkit.cli import main
from fieldkit.store import Store
from fieldkit.web import create_app
from tests.sync.helpers import settle

SQUARE = "113.600,34.700;113.601,34.700;113.601,34.701;113.600,34.701"  # about 18 亩 in 中原区 410102


@pytest.fixture
def base_url(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="review-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def stored(app: Any, yid: str) -> YieldMeasurement:
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s:
        m = s.get(YieldMeasurement, yid)
        assert m is not None
        s.expunge(m)
        return m


def settled(app: Any) -> None:
    with Session(app.extensions["yx_engine"]) as s:
        settle(s)


def test_rejection_reaches_the_kit_and_its_edit_comes_back_pending(app: Any, accounts: Any, base_url: str,
                                                                   tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "kit"

    def fk(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(main, ["--home", str(home), *args])
        assert (result.exit_code == 0) == ok, result.output
        return result

    fk("init", "--server", base_url)
    fk("login", "--username", "u_agent", "--password", "correct horse battery")
    pid = fk("plot", "add", "--name", "东区小麦示范田", "--crop", "wheat", "--season", "2026-summer_grain",
             "--coords", SQUARE).output.split("plot saved: ")[1].split()[0]
    # 3 points of 0.1 亩: 3 × 60 kg at 14 % moisture, 1 % impurity → 180 × 0.99 × 0.86 ÷ 0.87 ÷ 0.3 = 587.17 kg/亩
    sample = "area_mu=0.1,fresh_kg=60,moisture=0.14,impurity=0.01"
    yid = fk("yield", "add", "--plot", pid[:8], "--method", "harvest", "--sample", sample, "--sample", sample,
             "--sample", sample).output.split("yield saved: ")[1].split()[0]
    fk("sync")
    assert stored(app, yid).yield_kg_per_mu == 587.17

    http = requests.Session()
    http.trust_env = False
    officer = {**accounts["county_officer"]}
    try:
        r = http.post(f"{base_url}/api/yields/{yid}/reject", json={"comment": "第2点鲜重与第1点完全相同，请核实"},
                      headers=officer, timeout=30)
        assert r.status_code == 200, r.text
        settled(app)
        fk("sync")
        listing = fk("yield", "list").output
        assert "审核 / review: 已退回 / rejected 1" in listing
        assert "已退回 / rejected " + yid[:8] + ": 第2点鲜重与第1点完全相同，请核实" in listing
        status = fk("status").output
        assert "被退回的测产 / rejected yields: 1" in status and "请核实" in status
        kit_ui = create_app(home).test_client()
        page = kit_ui.get(f"/plots/{pid}").get_data(as_text=True)
        assert "已退回" in page and "第2点鲜重与第1点完全相同，请核实" in page

        edited = fk("yield", "edit", yid[:8], "--sample", sample, "--sample",
                    "area_mu=0.1,fresh_kg=62,moisture=0.14,impurity=0.01", "--sample", sample).output
        assert "待审核 / pending" in edited
        with Store(home / "fieldkit.db").session() as s:
            assert s.get(YieldMeasurement, yid).review_state == "pending"  # type: ignore[union-attr]
        fk("sync")
        server = stored(app, yid)
        # 182 kg → 182 × 0.99 × 0.86 ÷ 0.87 ÷ 0.3 = 593.70 kg/亩, pending again, the comment kept for the reviewer
        assert (server.review_state, server.yield_kg_per_mu, server.review_comment) == (
            "pending", 593.7, "第2点鲜重与第1点完全相同，请核实")

        r = http.post(f"{base_url}/api/yields/{yid}/approve", json={}, headers=officer, timeout=30)
        assert r.status_code == 200 and r.json()["locked"] is True
        settled(app)
        fk("sync")
        assert "审核 / review: 已审核（锁定）/ approved (locked) 1" in fk("yield", "list").output
        refused = fk("yield", "edit", yid[:8], "--notes", "补记", ok=False).output
        assert "锁定" in refused
        # a kit that edits it anyway (an old kit, or one that had not pulled yet): the server answers locked
        kit = Store(home / "fieldkit.db")
        with kit.session() as s:
            Store.enqueue(s, "yield", yid, "upsert", {"notes": "补记"})
        assert "(rejected 1)" in fk("sync").output
        assert "该测产已审核通过并锁定，不能修改" in fk("conflicts").output
        assert [(c.kind, c.code) for c in kit.conflicts()] == [("rejected", "locked")]
        kit.close()
        assert stored(app, yid).notes is None
    finally:
        http.close()
