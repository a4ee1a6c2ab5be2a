"""``fieldkit serve``'s pages through Flask's test client, the kit syncing with the real app in process
(SQLite and PostGIS through ``db_url``). The same journeys in a real browser are in tests/web."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from shapely.geometry import Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.field import DemoPlot, YieldMeasurement
from fieldkit.store import Store
from fieldkit.web import create_app
from gis import convert, geodesic_area
from gis.area import m2_to_mu
from gis.formats import walk_to_boundary
from sync.transport import InProcessTransport
from tests.sync.helpers import settle

PASSWORD = "correct horse battery"
# About 61 亩 in 中原区 (410102), the agent's county.
CORNERS = [(113.600, 34.750), (113.602, 34.750), (113.602, 34.752), (113.600, 34.752)]
COORDS = "\n".join(f"{x},{y}" for x, y in CORNERS)


def csrf(page: Any) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, "no CSRF token in the form"
    return match.group(1)


class KitUI:
    """The kit's web UI, posting its forms with their CSRF token as a browser does."""

    def __init__(self, app: Any) -> None:
        self.app, self.client = app, app.test_client()
        self.store: Store = app.extensions["fieldkit"].store

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, form_page: str, data: dict[str, Any], **kw: Any) -> Any:
        return self.client.post(url, data={"csrf_token": csrf(self.get(form_page)), **data}, **kw)

    def add_plot(self, **fields: Any) -> Any:
        data = {"name": "东风村小麦示范田", "crop": "wheat", "season": "2026-summer_grain", "demo_type": "variety",
                "boundary_source": "coords", "coords": COORDS, "source_crs": "wgs84", **fields}
        return self.post("/plots/new", "/plots/new", data)

    def plot_id(self, answer: Any) -> str:
        assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
        return str(re.search(r"/plots/([0-9a-f-]{36})", answer.headers["Location"]).group(1))  # type: ignore[union-attr]


@pytest.fixture
def ui(app: Any, client: Any, accounts: Any, tmp_path: Path) -> KitUI:
    home = tmp_path / "kit"
    Store(home / "fieldkit.db").set_meta(server="http://yuanxian.test")
    kit_app = create_app(home, transport=lambda url, token: InProcessTransport(client, token=token))
    return KitUI(kit_app)


@pytest.fixture
def enrolled(ui: KitUI) -> KitUI:
    r = ui.post("/enrol", "/sync", {"username": "u_agent", "password": PASSWORD, "device_name": "测试手机"})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert ui.store.get_meta("county") == "410102"
    return ui


def test_web__only_loopback_hosts_and_every_form_needs_its_token(ui: KitUI) -> None:
    assert ui.client.get("/", base_url="http://attacker.example:8765").status_code == 421  # DNS rebinding
    assert ui.client.get("/", base_url="http://127.0.0.1:8765").status_code == 200
    assert ui.client.get("/", base_url="http://[::1]:8765").status_code == 200
    r = ui.client.post("/enrol", data={"username": "u_agent", "password": PASSWORD})
    assert r.status_code == 400 and ui.store.get_meta("token") is None
    page = ui.get("/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_web__enrol_wrong_password__refused_with_the_reason(ui: KitUI) -> None:
    r = ui.post("/enrol", "/sync", {"username": "u_agent", "password": "wrong"})
    assert r.status_code == 422 and "登记失败" in r.get_data(as_text=True)
    assert ui.store.get_meta("token") is None


def test_web__plot_before_enrolment__refused_saying_why(ui: KitUI) -> None:
    r = ui.add_plot()
    assert r.status_code == 422 and "请先在“同步”页登记设备" in r.get_data(as_text=True)
    assert ui.store.outbox() == []


def test_web__plot_and_yield_recorded_then_synced__reach_the_server(enrolled: KitUI, app: Any) -> None:
    ui = enrolled
    pid = ui.plot_id(ui.add_plot(source_crs="gcj02", farmer_name="李四"))
    [plot] = ui.store.records("plot")
    assert isinstance(plot, DemoPlot) and plot.source_crs == "gcj02"
    wgs84 = convert(Polygon(CORNERS), "gcj02", "wgs84")
    assert plot.boundary is not None and plot.boundary.hausdorff_distance(wgs84) < 1e-9
    page = ui.get(f"/plots/{pid}").get_data(as_text=True)
    assert f"{m2_to_mu(geodesic_area(wgs84)):,.2f}" in page and "<svg" in page and "待同步" in page

    # DOMAIN.md's published wheat example: 2260 kg on 3.1 亩 at 13.8 % moisture, 0.1 % impurity → 721.61 kg/亩.
    sample = {"s0_area_mu": "3.1", "s0_fresh_kg": "2260", "s0_moisture": "13.8", "s0_impurity": "0.1"}
    form = {"method": "harvest", "crop": "wheat", "baseline_type": "county_average", "baseline_kg_per_mu": "650",
            **sample, "s1_area_mu": "", "s1_fresh_kg": "", "s1_moisture": "", "s1_impurity": ""}
    preview = ui.post(f"/plots/{pid}/yields/preview", f"/plots/{pid}/yields/new", form).get_json()
    assert preview["ok"] and preview["yield_kg_per_mu"] == 721.61 and preview["standard_moisture"] == 0.13
    assert preview["gain_pct"] == round((721.61 - 650) / 650 * 100, 2)
    r = ui.post(f"/plots/{pid}/yields/new", f"/plots/{pid}/yields/new", form)
    assert r.status_code == 302, r.get_data(as_text=True)
    assert "721.6" in ui.get(f"/plots/{pid}").get_data(as_text=True)
    assert len(ui.store.outbox()) == 2

    r = ui.post("/sync", "/sync", {})
    assert r.status_code == 302
    ui.app.extensions["fieldkit"].job.wait(60)
    state = ui.get("/sync/progress").get_json()
    assert state["error"] is None and state["report"]["answers"] == {"applied": 2}, state
    assert "同步完成" in ui.get("/sync").get_data(as_text=True)
    assert ui.store.outbox() == []
    with Session(app.extensions["yx_engine"]) as s:
        server_plot = s.get(DemoPlot, pid)
        [server_yield] = s.scalars(select(YieldMeasurement).where(YieldMeasurement.plot_id == pid)).all()
        assert server_plot is not None and server_plot.farmer_name == "李四" and server_plot.source_crs == "gcj02"
        assert server_yield.yield_kg_per_mu == 721.61 and server_yield.gain_pct == preview["gain_pct"]
        settle(s)
    assert "已同步" in ui.get("/").get_data(as_text=True)


def test_web__refused_input__comes_back_with_what_was_typed_and_nothing_queued(enrolled: KitUI) -> None:
    ui = enrolled
    r = ui.add_plot(name="西坡地", coords="113.600,34.750\n113.602,34.750")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "至少三个点" in page
    assert 'value="西坡地"' in page and "113.602,34.750" in page  # nothing the agent typed is lost
    r = ui.add_plot(name="")
    assert r.status_code == 422 and "地块名称：必填" in r.get_data(as_text=True)
    assert ui.store.outbox() == []

    pid = ui.plot_id(ui.add_plot())
    queued = len(ui.store.outbox())
    too_much = {"method": "harvest", "crop": "wheat", "s0_area_mu": "0.1", "s0_fresh_kg": "900", "s0_moisture": "13",
                "s0_impurity": "0"}
    preview = ui.post(f"/plots/{pid}/yields/preview", f"/plots/{pid}/yields/new", too_much).get_json()
    assert not preview["ok"] and "超过该作物的合理上限" in preview["errors"]["samples"][0]
    r = ui.post(f"/plots/{pid}/yields/new", f"/plots/{pid}/yields/new", too_much)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "超过该作物的合理上限" in page and 'value="900"' in page
    r = ui.post(f"/plots/{pid}/yields/new", f"/plots/{pid}/yields/new", {**too_much, "s0_moisture": "abc"})
    assert r.status_code == 422 and "样点 1" in r.get_data(as_text=True)
    assert len(ui.store.outbox()) == queued


def test_web__boundary_by_gps_walk_and_by_file(enrolled: KitUI) -> None:
    ui = enrolled
    fixes = [{"lon": x, "lat": y, "accuracy_m": 4.0, "time": f"2026-06-01T08:0{i}:00Z"}
             for i, (x, y) in enumerate(CORNERS)]
    fixes.insert(2, {"lon": 113.61, "lat": 34.76, "accuracy_m": 60.0})  # a poor fix, dropped
    pid = ui.plot_id(ui.add_plot(boundary_source="walk", walk=json.dumps(fixes), coords=""))
    with ui.store.session() as s:
        walked = s.get(DemoPlot, pid)
        assert walked is not None and walked.source_crs == "wgs84"
        expected = walk_to_boundary(fixes, max_accuracy_m=15.0).geometry
        assert walked.boundary is not None and walked.boundary.hausdorff_distance(expected) < 1e-12

    gpx = ("<?xml version='1.0'?><gpx version='1.1' creator='t' xmlns='http://www.topografix.com/GPX/1/1'><trk><trkseg>"
           + "".join(f"<trkpt lat='{y}' lon='{x}'/>" for x, y in CORNERS) + "</trkseg></trk></gpx>")
    r = ui.post("/plots/new", "/plots/new", {"name": "GPX 地块", "crop": "maize", "season": "2026-autumn_grain",
                                             "boundary_source": "file", "source_crs": "wgs84",
                                             "boundary_file": (io.BytesIO(gpx.encode()), "walk.gpx")},
                content_type="multipart/form-data")
    with ui.store.session() as s:
        from_file = s.get(DemoPlot, ui.plot_id(r))
        assert from_file is not None and from_file.area_m2 == pytest.approx(geodesic_area(Polygon(CORNERS)), rel=1e-6)
    r = ui.post("/plots/new", "/plots/new", {"name": "x", "crop": "maize", "season": "2026-autumn_grain",
                                             "boundary_source": "file",
                                             "boundary_file": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
                content_type="multipart/form-data")
    assert r.status_code == 422 and "只支持 GPX、KML、GeoJSON、CSV" in r.get_data(as_text=True)


def test_web__photo__an_image_kept_and_shown_anything_else_refused(enrolled: KitUI) -> None:
    ui = enrolled
    pid = ui.plot_id(ui.add_plot())
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 60)).save(png, "PNG")
    r = ui.post(f"/plots/{pid}/photos", f"/plots/{pid}", {"photo": (io.BytesIO(png.getvalue()), "田间.png"),
                                                          "caption": "出苗"}, content_type="multipart/form-data")
    assert r.status_code == 302
    [photo] = ui.store.records("photo")
    shown = ui.get(f"/files/{photo.sha256}")  # type: ignore[attr-defined]
    assert shown.status_code == 200 and shown.data == png.getvalue() and shown.mimetype == "image/png"
    shown.close()  # the file stays open until the answer is closed, as a WSGI server does
    r = ui.post(f"/plots/{pid}/photos", f"/plots/{pid}", {"photo": (io.BytesIO(b"<script>x</script>"), "a.jpg")},
                content_type="multipart/form-data")
    assert r.status_code == 422 and "只接受 JPEG 或 PNG" in r.get_data(as_text=True)
    assert len(ui.store.records("photo")) == 1
    assert ui.get("/files/" + "0" * 64).status_code == 404


def test_web__english__every_page_switches_and_remembers(enrolled: KitUI) -> None:
    ui = enrolled
    pid = ui.plot_id(ui.add_plot())
    assert "Demo plots" in ui.get("/?lang=en").get_data(as_text=True)
    for url in ("/", f"/plots/{pid}", f"/plots/{pid}/yields/new", "/plots/new", "/sync", "/results"):
        page = ui.get(url).get_data(as_text=True)
        assert '<html lang="en">' in page and "示范地块" not in page, url
    assert '<html lang="zh-CN">' in ui.get("/?lang=zh").get_data(as_text=True)
