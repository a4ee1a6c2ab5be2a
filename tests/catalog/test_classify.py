"""Classification suggestions: rules, model, their combination, reviewers' decisions and what training learns."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import AuditEntry
from catalog.classify import (
    ClassifierModel,
    ClassifyDecision,
    current_model,
    decide,
    rank,
    suggest,
    train_model,
    training_examples,
)
from catalog.classify_model import CharNgramModel, Example, Scored, train
from catalog.classify_rules import (
    ClassifyRule,
    RuleHit,
    RuleSpec,
    add_rule,
    delete_rule,
    load_shipped_rules,
    match,
    update_rule,
)
from catalog.classify_titles import MAPPING_FILE, read_titles, shipped_titles, tech_field_mapping
from catalog.errors import IllegalTransition, ValidationFailed
from catalog.lifecycle import transition
from catalog.results import Result
from tests.catalog.factories import make_result

# A small labelled set: maize breeding (TF01) and aquaculture (TF09) results, in the demo's words.
MAIZE = ["耐密高产玉米新品种{n}号，抗倒伏，适宜机械化收获", "玉米杂交种亲本选育与制种技术{n}", "抗旱玉米新品种选育{n}"]
FISH = ["对虾工厂化循环水健康养殖技术{n}", "海参池塘生态养殖模式{n}", "大黄鱼网箱养殖病害防控技术{n}"]


def small_set() -> list[Example]:
    out = []
    for n in range(8):
        for text in MAIZE:
            out.append(Example(text.format(n=n), {"tech_field": ["TF01"], "crop": ["maize"],
                                                  "industry_type": ["IT0103"]}, f"maize-{n}"))
        for text in FISH:
            out.append(Example(text.format(n=n), {"tech_field": ["TF09", "TF11"], "crop": [],
                                                  "industry_type": ["IT10"]}, f"fish-{n}"))
    return out


def test_rules__match__combine_rules_and_show_matched_words() -> None:
    rules = [RuleSpec("crop", "rice", ("水稻", "稻"), 0.7), RuleSpec("crop", "rice_indica", ("双季稻",), 0.7),
             RuleSpec("tech_field", "TF03", ("栽培", "丰产"), 0.5), RuleSpec("tech_field", "TF03", ("周年",), 0.5)]
    hits = match(rules, "湖南双季稻周年绿色优质丰产增效技术")
    assert hits["crop"]["rice"] == RuleHit(0.7, ("稻",))
    assert hits["crop"]["rice_indica"].words == ("双季稻",)
    tf = hits["tech_field"]["TF03"]
    assert tf.confidence == pytest.approx(1 - 0.5 * 0.5)  # two rules: independent evidence
    assert tf.words == ("丰产", "周年")
    assert match(rules, "对虾养殖") == {}


def test_rank__noisy_or_of_rule_and_model__best_first_with_sources() -> None:
    model = [Scored("TF01", 0.6, ("新品种",)), Scored("TF03", 0.3, ("栽培",)), Scored("TF09", 0.01, ())]
    hits = {"TF03": RuleHit(0.5, ("丰产",)), "TF12": RuleHit(0.2, ("乡村",))}
    ranked = rank(model, hits, limit=5)
    assert [r.code for r in ranked] == ["TF03", "TF01", "TF12"]  # TF09 below the evidence floor
    tf03 = ranked[0]
    assert tf03.confidence == pytest.approx(1 - 0.5 * 0.7) and tf03.source == "both"
    assert tf03.words == ("丰产", "栽培")
    assert ranked[1].source == "model" and ranked[2].source == "rule"
    assert all(0 <= r.confidence <= 1 for r in ranked)


def test_model__small_labelled_set__suggests_the_right_codes_with_words_and_survives_storage() -> None:
    model = train(small_set())
    texts = ["中晚熟耐密玉米新品种", "南美白对虾循环水养殖"]
    got = model.predict(texts, limit=3)
    assert got[0]["tech_field"][0].code == "TF01" and got[1]["tech_field"][0].code == "TF09"
    assert got[0]["crop"][0].code == "maize" and got[0]["crop"][0].confidence > 0.5
    assert got[1]["industry_type"][0].code == "IT10"
    for by_dim in got:
        for scored in by_dim.values():
            assert all(0.0 <= s.confidence <= 1.0 for s in scored)
    assert any("玉米" in w for w in got[0]["tech_field"][0].words)
    # the stored form holds arrays only; read back, it answers the same
    again = CharNgramModel.from_bytes(model.to_bytes()).predict(texts, limit=3)
    assert [[(s.code, round(s.confidence, 5)) for s in d["tech_field"]] for d in again] == \
        [[(s.code, round(s.confidence, 5)) for s in d["tech_field"]] for d in got]


def test_model__blob_with_pickled_objects__is_refused() -> None:
    import io
    import pickle

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, meta=np.array([{"format": 1}], dtype=object))
    with pytest.raises(ValueError):  # allow_pickle=False: object arrays never load
        CharNgramModel.from_bytes(buf.getvalue())
    with pytest.raises(Exception):  # noqa: B017 — not an npz at all
        CharNgramModel.from_bytes(pickle.dumps({"x": 1}))


def test_mapping__primary_fields__agree_with_the_demo_special_projects() -> None:
    with (MAPPING_FILE.parent / "special_project_fields.csv").open(encoding="utf-8") as f:
        demo = {r["special_project"]: r["tech_fields"].split("|")[0] for r in csv.DictReader(f)}
    mapping = tech_field_mapping()
    assert {k: m.primary for k, m in mapping.items()} == demo
    assert all(m.tech_fields[0] == m.primary for m in mapping.values())
    assert {t.special_project for t in shipped_titles()} <= set(mapping)


def test_titles_file__unknown_special_project_or_missing_column__every_row_reported() -> None:
    rows = read_titles("\ufefftitle,special_project\n玉米新品种,七大农作物育种\n".encode(), "t.csv")
    assert rows[0].special_project == "七大农作物育种"
    with pytest.raises(ValidationFailed) as bad:
        read_titles("title,special_project\n玉米新品种,七大农作物育种\n某题目,不存在的专项\n,蓝色粮仓科技创新\n")
    assert [(e.row, e.field) for e in bad.value.errors] == [(3, "special_project"), (4, "title")]
    with pytest.raises(ValidationFailed) as bad:
        read_titles("name,project\nx,y\n")
    assert {e.field for e in bad.value.errors} == {"title", "special_project"}


# -- on a database ------------------------------------------------------------------------------------------------


def reviewed(session: Session, name: str, **fields: object) -> str:
    r = make_result(session, name, **fields)
    for step in ("submit", "approve"):
        transition(session, r, step, "test")
    return r.id


def labelled_db(session: Session) -> None:
    for n in range(6):
        reviewed(session, f"耐密高产玉米新品种{n}号", summary="玉米新品种，抗倒伏，适宜机械化收获",
                 tech_fields=["TF01"], industry_types=["IT0103"], crops=["maize"])
        reviewed(session, f"对虾循环水健康养殖技术{n}", summary="对虾工厂化循环水养殖，成活率高",
                 tech_fields=["TF09"], industry_types=["IT10"], scenarios=["SC0304"])
    session.flush()


def test_suggest__no_model_stored__the_rules_suggest_alone(session: Session) -> None:
    found = suggest(session, "西北耐密高产抗旱玉米新品种培育")
    assert found.model is None
    assert found.by_dimension["crop"][0].code == "maize"
    assert {s.source for d in found.by_dimension.values() for s in d} == {"rule"}
    assert found.as_dict()["model"] is None and found.as_dict()["tech_field"][0]["name_zh"] == "种业与生物育种"


def test_train__stores_a_model_every_server_loads__and_suggestions_use_it(session: Session) -> None:
    labelled_db(session)
    row = train_model(session, "test")
    assert row.examples == 12 + len(shipped_titles()) and row.decisions == 0
    assert row.metrics["results"] == 12 and row.metrics["titles"] == len(shipped_titles())
    session.commit()
    blob = session.scalar(select(ClassifierModel.data).where(ClassifierModel.id == row.id))
    assert blob and CharNgramModel.from_bytes(blob).heads
    info, _model = current_model(session) or (None, None)
    assert info is not None and info.id == row.id
    found = suggest(session, "南美白对虾循环水养殖模式")
    assert found.model is not None and found.model.id == row.id
    top = found.by_dimension["tech_field"][0]
    assert top.code == "TF09" and top.source == "both" and top.words
    assert all(0 <= s.confidence <= 1 for d in found.by_dimension.values() for s in d)
    audited = session.scalars(select(AuditEntry.entity).where(AuditEntry.entity == "classify_model")).all()
    assert audited == ["classify_model"]


def test_decide__stores_the_decision__changes_the_codes__audited__and_the_next_training_learns_it(
        session: Session) -> None:
    labelled_db(session)
    train_model(session, "test")
    pending = make_result(session, "稻渔综合种养技术", summary="稻田养殖小龙虾", tech_fields=["TF03"],
                          industry_types=["IT0101"])
    transition(session, pending, "submit", "test")
    assert training_examples(session, with_titles=False).results == 12  # submitted: not labelled yet
    version = pending.version
    done = decide(session, pending, {"tech_fields": ["TF09", "TF03"], "industry_types": ["IT10", "IT0101"],
                                     "crops": ["rice"]}, "reviewer-1", expected_version=version)
    session.commit()
    assert done.changed and pending.version == version + 1
    assert pending.codes_of("tech_field") == ["TF09", "TF03"] and pending.codes_of("crop") == ["rice"]
    rows = session.scalars(select(ClassifyDecision).where(ClassifyDecision.result_id == pending.id)
                           .order_by(ClassifyDecision.dimension)).all()
    assert [(d.dimension, d.chosen, d.actor) for d in rows] == [
        ("crop", ["rice"], "reviewer-1"), ("industry_type", ["IT10", "IT0101"], "reviewer-1"),
        ("tech_field", ["TF09", "TF03"], "reviewer-1")]
    assert all(d.model_id and d.suggested for d in rows)
    entities = set(session.scalars(select(AuditEntry.entity).where(AuditEntry.entity_id.contains(pending.id))))
    assert {"result", "result_code"} <= entities
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.entity == "classify_decision")) is not None
    # the decision labels the submitted result for the next run, with the reviewer's codes
    data = training_examples(session, with_titles=False)
    learnt = [e for e in data.examples if e.kind == "decision"]
    assert data.results == 13 and len(learnt) == 1
    assert learnt[0].labels == {"tech_field": ["TF09", "TF03"], "industry_type": ["IT10", "IT0101"],
                                "crop": ["rice"]}
    again = train_model(session, "test")
    assert again.decisions == 1 and again.metrics["results"] == 13


def test_decide__refusals__write_nothing(session: Session) -> None:
    labelled_db(session)
    locked = session.get_one(Result, reviewed(session, "已审核成果"))
    draft = make_result(session, "草稿成果")
    session.commit()
    with pytest.raises(IllegalTransition):
        decide(session, locked, {"tech_fields": ["TF09"]}, "reviewer-1")
    with pytest.raises(ValidationFailed) as bad:
        decide(session, draft, {"tech_fields": ["TF99"]}, "reviewer-1")
    assert bad.value.errors[0].field == "tech_fields"
    with pytest.raises(ValidationFailed):
        decide(session, draft, {}, "reviewer-1")
    session.rollback()
    assert session.scalars(select(ClassifyDecision)).all() == []
    assert session.get_one(Result, draft.id).codes_of("tech_field") == ["TF01"]


def test_rules__shipped_once__officers_edits_stay(session: Session) -> None:
    shipped = session.scalars(select(ClassifyRule)).all()
    assert shipped and {r.origin for r in shipped} == {"shipped"}  # loaded with the reference data
    gone = shipped[0]
    delete_rule(session, gone)
    rule = add_rule(session, {"dimension": "crop", "code": "maize", "keywords": ["苞谷", " 苞米 ", "苞谷"],
                              "weight": 0.9, "note": "方言"}, "officer-1")
    update_rule(session, rule, {"weight": 0.8}, "officer-2")
    assert rule.keywords == ["苞谷", "苞米"] and rule.weight == 0.8 and rule.updated_by == "officer-2"
    assert load_shipped_rules(session) == 0  # never again: the deleted rule stays deleted
    assert session.get(ClassifyRule, gone.id) is None
    assert suggest(session, "苞米高产栽培").by_dimension["crop"][0].code == "maize"
    for bad, field in (({"dimension": "crop", "code": "nope", "keywords": ["x"], "weight": 0.5}, "code"),
                       ({"dimension": "colour", "code": "maize", "keywords": ["x"], "weight": 0.5}, "dimension"),
                       ({"dimension": "crop", "code": "maize", "keywords": [], "weight": 0.5}, "keywords"),
                       ({"dimension": "crop", "code": "maize", "keywords": ["x"], "weight": 1.5}, "weight")):
        with pytest.raises(ValidationFailed) as refused:
            add_rule(session, bad, "officer-1")
        assert [e.field for e in refused.value.errors] == [field]
