"""The coverage API over HTTP on the hand-computed data set of ``tests/catalog/coverage_data.py``: the figures it
returns equal the domain's (catalog.coverage, catalog.targets, catalog.gaps) and the hand-computed ones, the XLSX
export's numbers equal the JSON's; scoping, bad input (422 with field names), plan version conflicts (409) and
ministry-only target edits. SQLite and PostGIS.

Accounts (tests/conftest.py): ministry officer; province officer 410000 (河南); city officer 410100 (郑州); county
officer and agent of 410102.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import AuditEntry
from catalog.coverage import coverage
from catalog.db import beijing_today
from catalog.gaps import gaps
from catalog.seasons import SeasonPlan
from catalog.targets import progress
from tests.catalog.coverage_data import SEASON, build

approx = pytest.approx


@pytest.fixture
def data(session: Session):  # type: ignore[no-untyped-def]
    d = build(session)
    session.commit()
    return d


def put(who: Any, path: str, body: dict[str, Any]) -> Any:
    return who.open(path, method="PUT", json=body)


def error(resp: Any) -> tuple[int, str]:
    return resp.status_code, resp.get_json()["error"]["code"]


def fields_of(resp: Any) -> set[str]:
    assert resp.status_code == 422, resp.data[:300]
    errs = resp.get_json()["error"]["errors"]
    assert all(e["zh"] and e["en"] and e["code"] for e in errs)
    return {e["field"] for e in errs}


def same_row(got: dict[str, Any], row: Any) -> None:
    """A JSON row equals the domain's row, figure by figure."""
    assert (got["code"], got["level"], got["plots"], got["measurements"], got["approved_measurements"],
            got["measured_plots"], got["results_matched"], got["results_landed"], got["events_held"]) == (
        row.code, row.level, row.plots, row.measurements, row.approved_measurements, row.measured_plots,
        row.results_matched, row.results_landed, row.events_held)
    for key in ("plot_area_mu", "variety_area_mu", "land_area_mu", "extension_area_mu", "radiated_area_mu"):
        assert got[key] == approx(getattr(row, key)), key
    assert {k: v for k, v in got["review_levels"].items() if v} == row.review_levels
    assert got["review_basis"] == row.review_basis()
    assert [(g["demo_type"], g["crop"], g["baseline_type"], g["plots"]) for g in got["gains"]] == [
        (g.demo_type, g.crop, g.baseline_type, g.plots) for g in row.gains]
    for g, want in zip(got["gains"], row.gains, strict=True):
        assert (g["area_mu"], g["gain_pct"], g["yield_kg_per_mu"]) == (
            approx(want.area_mu), approx(want.gain_pct), approx(want.yield_kg_per_mu))
    c = got["completeness"]
    assert (c["expected"], c["approved"], c["on_time"], c["late"]) == (
        row.completeness.expected, row.completeness.approved, row.completeness.on_time, row.completeness.late)
    assert c["share"] == (None if row.completeness.share is None else approx(row.completeness.share))


def test_coverage__figures_equal_the_domain_and_the_hand_computed_ones(session: Session, data: Any,
                                                                      as_role: Any) -> None:
    ministry = as_role("ministry_officer")
    for scope in ("000000", "410000", "410100", "410122", "NASTP156"):
        resp = ministry.get(f"/api/coverage?scope={scope}&season={SEASON}")
        assert resp.status_code == 200, resp.data[:300]
        body = resp.get_json()
        cov = coverage(session, scope, SEASON, today=beijing_today())
        same_row(body["scope"], cov.scope)
        assert [c["code"] for c in body["children"]] == [c.code for c in cov.children]
        for got, row in zip(body["children"], cov.children, strict=True):
            same_row(got, row)
        assert [s["code"] for s in body["sites"]] == [s.code for s in cov.sites]
        for got, row in zip(body["sites"], cov.sites, strict=True):
            same_row(got, row)
        assert [p["id"] for p in body["plots"]] == [p.id for p in cov.plots]
    # by hand (tests/catalog/test_coverage.py): 中牟 410122 has A, B, C, 60 亩; CK gain 9 % over A and B
    county = ministry.get(f"/api/coverage?scope=410122&season={SEASON}").get_json()
    row = county["scope"]
    assert (row["plots"], row["plot_area_mu"], row["measured_plots"]) == (3, approx(60), 3)
    assert row["review_levels"] == {"county": 2, "city": 0, "province": 1, "ministry": 0}
    ck = next(g for g in row["gains"] if g["crop"] == "maize" and g["baseline_type"] == "check_variety")
    assert (ck["plots"], ck["area_mu"], ck["gain_pct"], ck["yield_kg_per_mu"]) == (2, approx(40), approx(9.0),
                                                                                    approx(697.5))
    assert (row["completeness"]["expected"], row["completeness"]["share"]) == (4, approx(0.75))
    assert row["extension_area_mu"] == approx(10000)
    plots = {p["name"]: p for p in county["plots"]}
    assert sorted(plots) == ["A", "B", "C"]
    assert (plots["A"]["level"], plots["A"]["gain_pct"], plots["A"]["flags"]) == ("province", 8, ["outside_county"])
    assert isinstance(plots["A"]["area_mu"], float) and plots["A"]["area_mu"] == approx(30)


def test_progress_and_gaps__equal_the_domain(session: Session, data: Any, as_role: Any) -> None:
    ministry = as_role("ministry_officer")
    body = ministry.get(f"/api/coverage/progress?season={SEASON}").get_json()
    want = progress(session, None, SEASON, today=beijing_today())
    assert [t["id"] for t in body["items"]] == [t.id for t in want]
    for got, t in zip(body["items"], want, strict=True):
        assert got["value"] == (None if t.value is None else approx(t.value))
        assert got["share"] == (None if t.share is None else approx(t.share))
        assert [(c["code"], c["value"]) for c in got["contributors"]] == [(c.code, approx(c.value))
                                                                       for c in t.contributors]
        assert got["basis"] == t.basis
    by_id = {t["id"]: t for t in body["items"]}
    assert by_id["variety_demo_area"]["value"] == approx(10275)  # 275 亩 walked + 10000 亩 reported
    assert by_id["yield_gain"]["value"] == approx(1640 / 210)
    found = ministry.get(f"/api/coverage/gaps?scope=410000&season={SEASON}").get_json()
    domain = gaps(session, "410000", SEASON, today=beijing_today())
    assert [f["plot_id"] for f in found["flagged"]] == [f.plot_id for f in domain.flagged]
    assert data.plots["A"] in [f["plot_id"] for f in found["flagged"]]
    assert [s["site_id"] for s in found["sites"]] == [s.site_id for s in domain.sites]
    assert [(b["county_code"], b["reasons"]) for b in found["behind"]] == [(b.county_code, b.reasons)
                                                                         for b in domain.behind]


def test_export__xlsx_numbers_equal_the_json(data: Any, as_role: Any) -> None:
    ministry = as_role("ministry_officer")
    body = ministry.get(f"/api/coverage?scope=410000&season={SEASON}").get_json()
    resp = ministry.get(f"/api/coverage/export.xlsx?scope=410000&season={SEASON}")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    try:
        ws = wb["下级区划"]
        rows = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    head = rows[0]
    col = {h: i for i, h in enumerate(head)}
    sheet = {r[col["代码"]]: r for r in rows[1:]}
    assert sorted(sheet) == sorted(c["code"] for c in body["children"])
    for c in body["children"]:
        r = sheet[c["code"]]
        assert r[col["示范地块数"]] == c["plots"]
        assert r[col["示范面积（亩）"]] == approx(c["plot_area_mu"], abs=0.005)
        assert r[col["上报推广面积（亩）"]] == approx(c["extension_area_mu"], abs=0.005)
        assert r[col["有已审核测产的地块数"]] == c["measured_plots"]
    csv = ministry.get(f"/api/coverage/export.xlsx?scope=410000&season={SEASON}&format=csv&table=children")
    assert csv.status_code == 200 and csv.data.startswith("\ufeff".encode())
    assert fields_of(ministry.get(f"/api/coverage/export.xlsx?season={SEASON}&format=csv&table=nope")) == {"table"}


def test_scoping__province_officer_404_elsewhere_agent_403_on_a_plan(data: Any, as_role: Any) -> None:
    province = as_role("province_officer")
    assert province.get(f"/api/coverage?scope=410122&season={SEASON}").status_code == 200
    for scope in ("130000", "130425", "000000"):  # 河北, a 河北 county, the country
        assert error(province.get(f"/api/coverage?scope={scope}&season={SEASON}")) == (404, "not_found")
        assert province.get(f"/api/coverage/progress?scope={scope}&season={SEASON}").status_code == 404
        assert province.get(f"/api/coverage/gaps?scope={scope}&season={SEASON}").status_code == 404
        assert province.get(f"/api/coverage/export.xlsx?scope={scope}&season={SEASON}").status_code == 404
    plans = province.get(f"/api/plans?season={SEASON}").get_json()
    assert {p["county_code"] for p in plans["items"]} == {"410122", "410184"}  # not 河北's 130425, 内蒙古's 150422
    plan = {"plots_expected": 3, "deadline": "2026-10-31"}
    assert error(put(as_role("agent"), f"/api/plans/410102/{SEASON}", plan)) == (403, "forbidden")
    assert error(put(as_role("county_officer"), f"/api/plans/130425/{SEASON}", plan)) == (404, "not_found")
    assert put(as_role("county_officer"), f"/api/plans/410102/{SEASON}", plan).status_code == 200
    assert as_role("agent").get(f"/api/plans/410102/{SEASON}").get_json()["plots_expected"] == 3


def test_bad_input__422_names_the_fields(data: Any, as_role: Any) -> None:
    county = as_role("county_officer")
    assert fields_of(county.get("/api/coverage?scope=410102&season=autumn")) == {"season"}
    assert fields_of(put(county, f"/api/plans/410102/{SEASON}", {"plots_expected": "many"})) == {
        "plots_expected", "deadline"}
    assert fields_of(put(county, f"/api/plans/410102/{SEASON}",
                         {"plots_expected": 2, "deadline": "2030-01-01"})) == {"deadline"}  # outside the season
    assert fields_of(put(county, "/api/plans/410102/2026-monsoon", {"plots_expected": 2, "deadline": "2026-10-01"})
                     ) == {"season"}
    assert fields_of(county.post("/api/extension-reports", json={
        "county_code": "410102", "season": SEASON, "kind": "land_radiated", "area_mu": -5})) == {"area_mu", "evidence"}
    assert fields_of(county.post("/api/extension-reports", json={
        "county_code": "410102", "season": SEASON, "kind": "land_radiated", "area_mu": 50, "evidence": "调查",
        "crop": "not-a-crop"})) == {"crop"}


def test_plan__create_replace_conflict_delete(app: Any, data: Any, as_role: Any) -> None:
    county = as_role("county_officer")
    path = f"/api/plans/410102/{SEASON}"
    first = put(county, path, {"plots_expected": 3, "area_expected_mu": 150, "deadline": "2026-10-31"})
    assert first.status_code == 200 and first.get_json()["version"] == 1
    assert first.get_json()["area_expected_mu"] == approx(150)
    second = put(county, path, {"plots_expected": 4, "deadline": "2026-10-31", "version": 1})
    assert (second.status_code, second.get_json()["version"], second.get_json()["plots_expected"]) == (200, 2, 4)
    assert error(put(as_role("city_officer"), path, {"plots_expected": 9, "deadline": "2026-10-31",
                                                     "version": 1})) == (409, "conflict")
    assert county.get(path).get_json()["plots_expected"] == 4  # the stale write changed nothing
    assert error(as_role("agent").delete(path)) == (403, "forbidden")
    assert county.delete(path).status_code == 204
    assert error(county.get(path)) == (404, "not_found")
    with Session(app.extensions["yx_engine"]) as s:
        assert s.scalar(select(SeasonPlan).where(SeasonPlan.county_code == "410102")) is None
        audited = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == first.get_json()["id"])
                            .order_by(AuditEntry.at)).all()
        assert [(a.action, a.actor) for a in audited] == [("insert", "u_county_officer"),
                                                          ("update", "u_county_officer"),
                                                          ("delete", "u_county_officer")]


def test_extension_report__evidence_list_patch_conflict(data: Any, as_role: Any) -> None:
    county = as_role("county_officer")
    made = county.post("/api/extension-reports", json={
        "county_code": "410102", "season": SEASON, "kind": "variety_extension", "area_mu": 1200, "crop": "maize",
        "evidence": "2026年中原区农业统计报表"})
    assert made.status_code == 201, made.data[:300]
    rid = made.get_json()["id"]
    listed = as_role("agent").get(f"/api/extension-reports?season={SEASON}&county=410102").get_json()
    assert [r["id"] for r in listed["items"]] == [rid] and listed["items"][0]["area_mu"] == approx(1200)
    assert error(as_role("agent").post("/api/extension-reports", json={
        "county_code": "410102", "season": SEASON, "kind": "land_radiated", "area_mu": 5, "evidence": "调查"})
    ) == (403, "forbidden")
    changed = county.patch(f"/api/extension-reports/{rid}", json={"area_mu": 1300, "version": 1})
    assert (changed.status_code, changed.get_json()["version"]) == (200, 2)
    assert error(county.patch(f"/api/extension-reports/{rid}", json={"area_mu": 1, "version": 1})) == (
        409, "conflict")
    row = as_role("ministry_officer").get(f"/api/coverage?scope=410102&season={SEASON}").get_json()["scope"]
    assert row["extension_area_mu"] == approx(1300) and row["plot_area_mu"] == 0  # reported, apart from walked
    assert error(as_role("province_officer").get("/api/extension-reports/nope")) == (404, "not_found")


def test_targets__ministry_only_edit(data: Any, as_role: Any) -> None:
    targets = as_role("agent").get("/api/targets").get_json()
    assert [t["id"] for t in targets][:2] == ["varieties", "variety_demo_area"]
    for role in ("province_officer", "county_officer", "agent"):
        assert error(as_role(role).patch("/api/targets/yield_gain", json={"target_value": 9})) == (403, "forbidden")
    ministry = as_role("ministry_officer")
    version = next(t["version"] for t in targets if t["id"] == "yield_gain")
    assert fields_of(ministry.patch("/api/targets/yield_gain", json={"target_value": 0})) == {"target_value"}
    done = ministry.patch("/api/targets/yield_gain", json={"target_value": 10, "version": version})
    assert (done.status_code, done.get_json()["target_value"]) == (200, 10)
    assert error(ministry.patch("/api/targets/yield_gain", json={"target_value": 11, "version": version})) == (
        409, "conflict")
    item = next(t for t in ministry.get(f"/api/coverage/progress?season={SEASON}").get_json()["items"]
                if t["id"] == "yield_gain")
    assert (item["target"], item["share"]) == (10, approx(1640 / 210 / 10))
    assert error(ministry.patch("/api/targets/nope", json={"target_value": 1})) == (404, "not_found")
