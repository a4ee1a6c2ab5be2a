"""Needs: what a need takes, who posts and reads it, how it moves; a refused write changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.audit import AuditEntry
from catalog.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from catalog.need_access import postable_sites
from catalog.need_store import M2_PER_MU, NeedFilter, create_need, list_needs, move_need, read_need, update_need
from catalog.needs import Need

PARK = Actor("park", user_id="u-park", grants=(Grant("park_manager", "NASTP014"),))  # 河南许昌 park
OTHER_PARK = Actor("other", user_id="u-other", grants=(Grant("park_manager", "NASTP001"),))  # 浙江嘉兴
XINZHENG = Actor("xinzheng", user_id="u-xz", grants=(Grant("county_officer", "410184"),))  # 新郑市 officer
HENAN = Actor("henan", user_id="u-henan", grants=(Grant("province_officer", "410000"),))
ZHEJIANG = Actor("zhejiang", user_id="u-zj", grants=(Grant("province_officer", "330000"),))
HOLDER = Actor("holder", user_id="u-holder", grants=(Grant("result_holder", "河南农业大学"),))
ANON = Actor("anonymous")

GOOD: dict[str, Any] = {"site_id": "NASTP014", "title": "耐旱玉米品种", "problem": "伏旱严重，需要耐旱耐密的玉米品种",
                        "crops": ["maize"], "industry_types": ["IT0103"], "land_scenarios": ["SC0102"],
                        "season": "2026-autumn_grain", "area_mu": 30000, "scale_text": "核心区 3 万亩"}


def count(session: Session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(Need)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "need")) or 0)


def test_create__park_manager_posts_for_its_park__stored_in_m2_and_audited(session: Session) -> None:
    need = create_need(session, PARK, GOOD)
    assert need.state == "open" and need.province_code == "410000" and need.created_by == "park"
    assert need.area_m2 == pytest.approx(30000 * 10000 / 15) and M2_PER_MU == 10000 / 15
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "need"))
    assert entry is not None and entry.action == "insert" and entry.actor == "park" and entry.scope_code == "410000"


def test_create__county_officer_posts_for_its_county_site(session: Session) -> None:
    need = create_need(session, XINZHENG, {**GOOD, "site_id": "IC1-410184"})
    assert need.site_id == "IC1-410184"
    assert [s.id for s in postable_sites(session, XINZHENG)] == ["IC1-410184"]
    assert [s.id for s in postable_sites(session, PARK)] == ["NASTP014"]


@pytest.mark.parametrize("data, field, code", [
    ({**GOOD, "crops": ["maize", "banana"]}, "crops", "unknown_code"),
    ({**GOOD, "land_scenarios": ["SC0105"]}, "land_scenarios", "unknown_code"),  # not one of the four
    ({**GOOD, "industry_types": "IT0103"}, None, None),  # a comma/、 separated string is accepted
    ({**GOOD, "season": "autumn 2026"}, "season", "invalid"),
    ({**GOOD, "season": "2026-monsoon"}, "season", "unknown_code"),
    ({**GOOD, "area_mu": -5}, "area_mu", "out_of_range"),
    ({**GOOD, "area_mu": "很多"}, "area_mu", "out_of_range"),
    ({**GOOD, "title": "  "}, "title", "required"),
    ({**GOOD, "problem": ""}, "problem", "required"),
    ({**GOOD, "title": "长" * 129}, "title", "too_long"),
    ({**GOOD, "site_id": "NASTP999"}, "site_id", "unknown"),
    ({**GOOD, "budget": 5}, "budget", "unknown_field"),
])
def test_create__bad_field__refused_with_the_field_and_nothing_written(session: Session, data: dict[str, Any],
                                                                       field: str | None, code: str | None) -> None:
    before = count(session)
    if field is None:
        assert create_need(session, PARK, data).industry_types == ["IT0103"]
        return
    with pytest.raises(ValidationFailed) as exc:
        create_need(session, PARK, data)
    assert [(e.field, e.code) for e in exc.value.errors] == [(field, code)]
    assert all(e.zh and e.en for e in exc.value.errors)
    session.flush()
    assert count(session) == before


@pytest.mark.parametrize("actor, site", [(OTHER_PARK, "NASTP014"), (XINZHENG, "NASTP014"), (HENAN, "NASTP014"),
                                         (HOLDER, "NASTP014"), (PARK, "IC1-410184")])
def test_create__not_the_sites_poster__forbidden_and_nothing_written(session: Session, actor: Actor,
                                                                     site: str) -> None:
    before = count(session)
    with pytest.raises(Forbidden):
        create_need(session, actor, {**GOOD, "site_id": site})
    session.flush()
    assert count(session) == before


def test_read__open_for_everyone_signed_in__closed_only_for_the_site_and_officers_above(session: Session) -> None:
    need = create_need(session, PARK, GOOD)
    for actor in (PARK, OTHER_PARK, HOLDER, ZHEJIANG):
        assert read_need(session, actor, need.id).id == need.id
    with pytest.raises(NotFound):
        read_need(session, ANON, need.id)
    move_need(session, PARK, need.id, "close", comment="已解决")
    for actor in (PARK, HENAN):
        assert read_need(session, actor, need.id).state == "closed"
    for actor in (OTHER_PARK, HOLDER, ZHEJIANG, XINZHENG):  # 新郑 is in 郑州, the park in 许昌
        with pytest.raises(NotFound):
            read_need(session, actor, need.id)
        with pytest.raises(NotFound):  # writes too: nobody learns it exists
            move_need(session, actor, need.id, "reopen")
    assert [n.id for n in list_needs(session, HENAN, NeedFilter())[0]] == [need.id]
    assert list_needs(session, OTHER_PARK, NeedFilter())[1] == 0
    assert list_needs(session, ANON, NeedFilter())[1] == 0


def test_write__readable_but_not_the_sites__forbidden(session: Session) -> None:
    need = create_need(session, PARK, GOOD)
    with pytest.raises(Forbidden):
        update_need(session, OTHER_PARK, need.id, {"title": "别人的"})
    with pytest.raises(Forbidden):
        move_need(session, HENAN, need.id, "close")
    assert session.get(Need, need.id).title == "耐旱玉米品种"  # type: ignore[union-attr]


def test_states__open_matched_closed_reopen__and_illegal_steps(session: Session) -> None:
    need = create_need(session, PARK, GOOD)
    with pytest.raises(IllegalTransition) as exc:
        move_need(session, PARK, need.id, "reopen")
    assert exc.value.context["allowed"] == ["match", "close"]
    assert move_need(session, PARK, need.id, "match").state == "matched"
    with pytest.raises(ValidationFailed) as bad:
        move_need(session, PARK, need.id, "close", result_id="no-such-result")
    assert bad.value.errors[0].field == "result_id"
    assert move_need(session, PARK, need.id, "close").state == "closed"
    with pytest.raises(IllegalTransition):
        update_need(session, PARK, need.id, {"title": "改"})
    assert move_need(session, PARK, need.id, "reopen").state == "open"
    assert need.version == 4


def test_update__partial_edit__version_checked__site_fixed(session: Session) -> None:
    need = create_need(session, PARK, GOOD)
    update_need(session, PARK, need.id, {"area_mu": 100, "crops": ["maize", "soybean"]}, expected_version=1)
    assert need.crops == ["maize", "soybean"] and need.area_m2 == pytest.approx(100 * M2_PER_MU)
    assert need.title == "耐旱玉米品种"
    with pytest.raises(Conflict):
        update_need(session, PARK, need.id, {"title": "旧版本"}, expected_version=1)
    with pytest.raises(ValidationFailed) as exc:
        update_need(session, PARK, need.id, {"site_id": "NASTP001"})
    assert exc.value.errors[0].code == "read_only"
    with pytest.raises(ValidationFailed) as exc:  # an edit cannot blank the problem a need is about
        update_need(session, PARK, need.id, {"problem": "  "})
    assert [(e.field, e.code) for e in exc.value.errors] == [("problem", "required")] and need.problem
