"""Matching: the ranking of results for a need and of sites for a result, and reasons that name what matched."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import ANONYMOUS, Actor, Grant
from catalog.demo_plots import seed_plots
from catalog.field import DemoPlot, YieldMeasurement
from catalog.field_rules import apply_plot
from catalog.lifecycle import transition
from catalog.matching import (
    Namer,
    NeedFeatures,
    _evidence_by_position,
    fits,
    match_index,
    pair_points,
    plot_gains,
    rank_results,
    rank_sites,
    score_pair,
    similar,
    vector_scores,
)
from catalog.need_store import create_need, move_need
from catalog.results import Result
from tests.catalog.factories import make_result

PARK = Actor("park", user_id="u-park", grants=(Grant("park_manager", "NASTP014"),))  # 河南许昌, place 411000
HOLDER = Actor("holder", user_id="u-holder", grants=(Grant("result_holder", "河南农业大学"),))
BANNER = Actor("banner", user_id="u-kc", grants=(Grant("county_officer", "150422"),))  # 巴林左旗 (内蒙古)


def published(session: Session, name: str, **fields: Any) -> Result:
    r = make_result(session, name, **fields)
    for step in ("submit", "approve", "publish"):
        transition(session, r, step, "test")
    return r


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    """A 许昌 park's drought-maize need, a saline-millet need of 巴林左旗, and results that fit them or not."""
    out: dict[str, Any] = {}
    out["fit"] = published(session, "耐密抗旱玉米新品种豫单9953", summary="耐密植、抗旱性强，适宜黄淮海旱地夏播。",
                           keywords=["耐密", "抗旱"], crops=["maize"], industry_types=["IT0103"],
                           land_scenarios=["SC0102"], suitable_regions=["410000"], trl=8, form="variety")
    out["local"] = published(session, "许昌夏玉米一喷多促技术", summary="叶面喷施防早衰。", crops=["maize"],
                             industry_types=["IT0103"], suitable_regions=["411000"], trl=6, form="procedure")
    out["wheat"] = published(session, "小麦赤霉病绿色防控技术", summary="减少化学农药用量。", crops=["wheat"],
                             industry_types=["IT0102"], suitable_regions=["610000"], trl=7)
    out["millet"] = published(session, "盐碱地谷子轻简化栽培技术", summary="盐碱地谷子保苗增产。", crops=["millet"],
                              industry_types=["IT0106"], land_scenarios=["SC0103"], suitable_regions=["150000"],
                              trl=7)
    out["draft"] = make_result(session, "耐密抗旱玉米新品种草稿", summary="耐密抗旱", crops=["maize"],
                               industry_types=["IT0103"], land_scenarios=["SC0102"], suitable_regions=["411000"],
                               trl=9)
    out["need"] = create_need(session, PARK, {
        "site_id": "NASTP014", "title": "引进耐旱耐密的夏玉米新品种",
        "problem": "岗坡旱地多，夏玉米常遇伏旱，现用品种不耐密、易倒伏，希望引进耐密、抗旱的玉米新品种。",
        "crops": ["maize"], "industry_types": ["IT0103"], "land_scenarios": ["SC0102"]})
    out["saline"] = create_need(session, BANNER, {
        "site_id": "KC-150422", "title": "盐碱地耐盐谷子", "problem": "耕地盐碱化，需要盐碱地谷子栽培技术。",
        "crops": ["millet"], "land_scenarios": ["SC0103"]})
    out["closed"] = create_need(session, PARK, {"site_id": "NASTP014", "title": "已解决的玉米需求",
                                                "problem": "耐密抗旱玉米", "crops": ["maize"]})
    move_need(session, PARK, out["closed"].id, "close")
    session.flush()
    return out


def reasons(match: Any) -> list[str]:
    return [r.zh for r in match.reasons]


def test_rank_results__the_fitting_result_first__reasons_name_the_real_matches(session: Session, world) -> None:
    matches = rank_results(session, world["need"])
    ids = [m.result_id for m in matches]
    assert ids[0] == world["fit"].id
    assert world["draft"].id not in ids  # only published results
    assert world["wheat"].id not in ids  # nothing in common: no crop, region, land or words
    top = reasons(matches[0])
    assert "同为玉米" in top and "同属玉米" in top
    assert "耕地场景：干旱半干旱耕地" in top
    assert "适宜区域含河南省" in top
    assert "技术成熟度 8 级" in top
    text = next(r for r in top if r.startswith("文字相近："))
    assert "耐密" in text and "抗旱" in text and "新品种" in text
    en = [r.en for r in matches[0].reasons]
    assert "both Maize" in en and "suitable in 河南省" in en
    local = next(m for m in matches if m.result_id == world["local"].id)
    assert "适宜区域含许昌市" in reasons(local)  # the park's own prefecture
    assert not any(r.startswith("耕地场景") for r in reasons(local))
    assert matches[0].score == pytest.approx(sum(r.points for r in matches[0].reasons), abs=0.01)


def test_rank_results__region_only_elsewhere_in_the_province__fewer_points(session: Session, world) -> None:
    other = published(session, "郑州玉米抗旱品种", crops=["maize"], industry_types=["IT0103"],
                      suitable_regions=["410100"], trl=8)
    match = next(m for m in rank_results(session, world["need"]) if m.result_id == other.id)
    region = next(r for r in match.reasons if r.kind == "region")
    assert region.zh == "适宜区域在河南省其他地方" and region.points == 12


def test_rank_results__demo_plots_in_similar_counties__evidence_with_the_recorded_gains(session: Session,
                                                                                        world) -> None:
    seed_plots(session, seed=3, per_county=4)
    shown: list[str] = []
    for county in ("410122", "230184"):  # 中牟 (河南: similar to the 许昌 park) and 五常 (黑龙江: not)
        agent = Actor(f"agent-{county}", grants=(Grant("agent", county),), channel="test")
        for plot in session.scalars(select(DemoPlot).where(DemoPlot.county_code == county,
                                                           DemoPlot.name.contains("示范田")).order_by(DemoPlot.id)):
            apply_plot(session, agent, {"result_id": world["fit"].id}, record_id=plot.id)
            shown.append(plot.id)
    gains: dict[str, list[float]] = {}
    for pid, county, gain in session.execute(
            select(DemoPlot.id, DemoPlot.county_code, YieldMeasurement.gain_pct)
            .join(YieldMeasurement, YieldMeasurement.plot_id == DemoPlot.id)
            .where(DemoPlot.id.in_(shown), YieldMeasurement.gain_pct.is_not(None))):
        if county == "410122":
            gains.setdefault(pid, []).append(gain)
    assert gains, "the seeded plots have yields with gains"
    per_plot = [sum(g) / len(g) for g in gains.values()]
    mean = sum(per_plot) / len(per_plot)
    top = next(m for m in rank_results(session, world["need"]) if m.result_id == world["fit"].id)
    evidence = next(r for r in top.reasons if r.kind == "evidence")
    assert evidence.zh == f"在相似县的示范田平均增产 {mean:.1f}%（{len(per_plot)} 块）"
    assert evidence.points == pytest.approx(10 * min(1, mean / 10))


def test_vector_scores__equal_the_one_by_one_scores_for_every_published_result(session: Session, world) -> None:
    seed_plots(session, seed=5, per_county=2)
    features = NeedFeatures.of(session, world["need"])
    index = match_index(session)
    gains = [g for g in plot_gains(session, provinces=["410000"], land=["SC0102"]) if similar(features, g)]
    evidence = _evidence_by_position(index, gains)
    vector = vector_scores(features, index, evidence)
    namer = Namer(session)
    for i in range(index.size):
        scored = score_pair(features, index, i, evidence.get(i, []), namer)
        assert vector[i] == pytest.approx(scored.score, abs=0.01)
        assert pair_points(features, index, i, evidence.get(i, [])) == (scored.score, fits(scored))


def test_index__rebuilt_after_a_result_is_published(session: Session, world) -> None:
    before = match_index(session)
    late = published(session, "抗旱耐密玉米新品种后来者", crops=["maize"], land_scenarios=["SC0102"], trl=9)
    session.flush()
    assert match_index(session) is not before
    assert late.id in [m.result_id for m in rank_results(session, world["need"])]


def test_rank_sites__open_needs_it_fits_best_first__closed_needs_left_out(session: Session, world) -> None:
    sites = rank_sites(session, HOLDER, world["fit"].id)
    assert [s.site_id for s in sites] == ["NASTP014"]  # the saline millet need shares nothing with it
    assert sites[0].need_id == world["need"].id and sites[0].other_needs == 0  # the closed need is not counted
    assert "耕地场景：干旱半干旱耕地" in reasons(sites[0])
    millet = rank_sites(session, HOLDER, world["millet"].id)
    assert millet[0].site_id == "KC-150422"
    assert {"同为谷子", "耕地场景：盐碱地", "适宜区域含内蒙古自治区"} <= set(reasons(millet[0]))
    assert rank_sites(session, HOLDER, world["draft"].id) == []  # not published: not matched
    # the same score both ways
    forward = next(m for m in rank_results(session, world["need"]) if m.result_id == world["fit"].id)
    assert sites[0].score == forward.score


def test_rank_sites__signed_out__nothing(session: Session, world) -> None:
    assert rank_sites(session, ANONYMOUS, world["fit"].id) == []
    assert rank_sites(session, HOLDER, world["fit"].id) != []


def test_bench_quick__prints_both_p95s_by_engine_last() -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "bench" / "matching_bench.py"), "--quick", "--engines", "sqlite"],
                         capture_output=True, text=True, timeout=600, cwd=root, check=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert last["results"] == 2000 and last["needs"]["sqlite"] > 400
    assert last["need_to_results_p95_ms"]["sqlite"] > 0 and last["result_to_sites_p95_ms"]["sqlite"] > 0
