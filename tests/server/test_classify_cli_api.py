"""Classification suggestions through the command line (on a seeded demo database) and the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.audit import act_as
from catalog.classify import ClassifyDecision
from catalog.classify_model import DIMENSIONS
from catalog.lifecycle import transition
from catalog.result_store import create_result
from server.cli import main

DEMO_RESULTS = "150"


def test_cli__seeded_demo__suggest_json_train_and_evaluate(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    seeded = runner.invoke(main, ["seed", "demo", "--results", DEMO_RESULTS, "--seed", "3"])
    assert seeded.exit_code == 0, seeded.output
    assert "[classify]" in seeded.output and "审核决定 / reviewer decisions" in seeded.output

    got = runner.invoke(main, ["classify", "suggest", "西北耐密高产抗旱玉米新品种培育", "--json"])
    assert got.exit_code == 0, got.output
    data = json.loads(got.stdout)
    assert data["model"] is not None and data["model"]["examples"] > 0
    for dim in DIMENSIONS:
        assert isinstance(data[dim], list)
        confidences = [s["confidence"] for s in data[dim]]
        assert confidences == sorted(confidences, reverse=True) and all(0 <= c <= 1 for c in confidences)
        assert all({"code", "confidence", "source", "words", "name_zh", "name_en"} <= set(s) for s in data[dim])
    assert data["tech_field"][0]["code"] == "TF01" and data["crop"][0]["code"] == "maize"

    trained = runner.invoke(main, ["classify", "train"])
    assert trained.exit_code == 0, trained.output
    assert "审核决定 / with decisions 6" in trained.output  # the seeded decisions feed the next run

    titles = tmp_path / "titles.csv"
    titles.write_text("title,special_project\n南方水稻抗病虫新品种培育,七大农作物育种\n"
                      "近海网箱养殖鱼类疫病防控技术,蓝色粮仓科技创新\n", encoding="utf-8")
    evaluated = runner.invoke(main, ["classify", "evaluate", "--folds", "3", "--titles", str(titles)])
    assert evaluated.exit_code == 0, evaluated.output
    out = evaluated.output
    for dim in DIMENSIONS:
        assert dim in out
    assert "top-1" in out and "top-3" in out
    assert "real project titles" in out and "nkrdp_agri_projects_2018_2020.csv" in out
    assert f"titles of {titles}" in out and "/2 titles, not trained on)" in out
    assert "titles that failed" in out


def test_cli__suggest__without_a_model__says_so_and_uses_the_rules(app) -> None:  # type: ignore[no-untyped-def]
    got = app.test_cli_runner().invoke(main, ["classify", "suggest", "盐碱地水稻栽培", "--json"])
    assert got.exit_code == 0, got.output
    assert "no model stored yet" in got.stderr
    data = json.loads(got.stdout)
    assert data["model"] is None and {s["source"] for s in data["tech_field"]} <= {"rule"}
    assert "rice" in [s["code"] for s in data["crop"]] and data["land_scenario"][0]["code"] == "SC0103"


def test_cli__evaluate__a_bad_titles_file__every_row_refused(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("title,special_project\n某题目,不存在的专项\n", encoding="utf-8")
    got = app.test_cli_runner().invoke(main, ["classify", "evaluate", "--titles", str(bad)])
    assert got.exit_code == 1 and "第 2 行" in got.output and "special_project" in got.output


@pytest.mark.parametrize(("body", "field"), [({"text": ""}, "text"), ({"text": "   "}, "text"), ({}, "text"),
                                             ({"text": "玉米", "limit": 0}, "limit"),
                                             ({"text": "玉米", "colour": 1}, "colour")])
def test_api__suggest__bad_bodies__422_with_field_errors(client, body, field) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/classify/suggest", json=body)
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "validation_failed" and err["message"]["zh"] and err["message"]["en"]
    assert [e["field"] for e in err["errors"]] == [field] and all(e["zh"] and e["en"] for e in err["errors"])


def test_api__rules_and_a_reviewers_decision(app, as_role) -> None:  # type: ignore[no-untyped-def]
    ministry, reviewer = as_role("ministry_officer"), as_role("reviewer")
    made = ministry.post("/api/classify/rules", json={"dimension": "crop", "code": "maize", "keywords": ["苞米"],
                                                      "weight": 0.9})
    assert made.status_code == 201, made.get_json()
    rule = made.get_json()
    assert rule["origin"] == "officer" and rule["created_by"] == "u_ministry_officer"
    bad = ministry.post("/api/classify/rules", json={"dimension": "crop", "code": "nope", "keywords": ["x"],
                                                     "weight": 0.5})
    assert bad.status_code == 422 and bad.get_json()["error"]["errors"][0]["field"] == "code"
    assert ministry.patch(f"/api/classify/rules/{rule['id']}", json={"weight": 0.4}).get_json()["weight"] == 0.4
    found = app.test_client().post("/api/classify/suggest", json={"text": "苞米密植"}).get_json()
    assert found["crop"][0] == {**found["crop"][0], "code": "maize", "source": "rule", "words": ["苞米"]}
    assert ministry.delete(f"/api/classify/rules/{rule['id']}").status_code == 204
    assert ministry.delete(f"/api/classify/rules/{rule['id']}").status_code == 404

    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s:
        r = create_result(s, {"name": "对虾循环水养殖技术规程", "summary": "工厂化循环水养殖对虾",
                              "institutions": ["中国水产科学研究院"], "tech_fields": ["TF03"],
                              "industry_types": ["IT0103"]}, "test")
        transition(s, r, "submit", "test")
        s.commit()
        result_id, version = r.id, r.version
    shown = reviewer.get(f"/api/results/{result_id}/classification").get_json()
    assert shown["may_decide"] and shown["current"]["tech_field"] == ["TF03"]
    assert shown["suggestions"]["tech_field"][0]["code"] == "TF09" and shown["proposed"]["tech_field"][0] == "TF09"
    assert shown["suggestions"]["model"] is None  # no model trained in this database: rules only
    stale = reviewer.post(f"/api/results/{result_id}/classification",
                          json={"tech_fields": ["TF09"], "version": version - 1})
    assert stale.status_code == 409
    done = reviewer.post(f"/api/results/{result_id}/classification",
                         json={"tech_fields": ["TF09"], "industry_types": ["IT10"], "version": version})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["current"]["tech_field"] == ["TF09"] and body["current"]["industry_type"] == ["IT10"]
    assert {(d["dimension"], d["accepted"]) for d in body["decisions"]} == {("tech_field", True),
                                                                            ("industry_type", True)}
    assert reviewer.get(f"/api/results/{result_id}").get_json()["version"] == version + 1
    with Session(app.extensions["yx_engine"]) as s:
        actors = set(s.scalars(select(ClassifyDecision.actor).where(ClassifyDecision.result_id == result_id)))
    assert actors == {"u_reviewer"}


def test_page__a_reviewer_sees_the_suggestions_and_saves_them__others_see_no_form(app, as_role) -> None:  # type: ignore[no-untyped-def]
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s:
        r = create_result(s, {"name": "盐碱地水稻耐盐新品种", "summary": "耐盐水稻新品种选育",
                              "institutions": ["河南农业大学"], "tech_fields": ["TF03"], "industry_types": ["IT0103"]},
                          "test")
        transition(s, r, "submit", "test")
        s.commit()
        result_id = r.id
    reviewer, holder = as_role("reviewer"), as_role("result_holder")
    page = reviewer.get(f"/results/{result_id}").get_data(as_text=True)
    assert 'id="classification"' in page and 'name="primary_tech_field" value="TF01"' in page
    assert 'name="crops" value="rice" id="c-crop-rice" checked' in page
    assert 'id="classification"' not in holder.get(f"/results/{result_id}").get_data(as_text=True)
    saved = reviewer.post(f"/results/{result_id}/classification",
                          data={"primary_tech_field": "TF01", "tech_fields": ["TF0202"], "crops": ["rice"],
                                "add_industry_types": ["IT0101"], "version": "2"})
    assert saved.status_code == 302
    shown = reviewer.get(f"/api/results/{result_id}").get_json()
    assert shown["tech_fields"] == ["TF01", "TF0202"] and shown["industry_types"] == ["IT0101"]
    assert shown["crops"] == ["rice"] and shown["land_scenarios"] == []
    refused = reviewer.post(f"/results/{result_id}/classification", data={"tech_fields": ["TF99"], "version": "3"})
    assert refused.status_code == 422 and "TF99" in refused.get_data(as_text=True)
