"""Demo needs: what real parks and counties of the site lists ask for, in several states, for ``seed demo``.

The 许昌 park (the demo park manager's) and 新郑市 (the demo county officer's) post most of them; 临泉, 宁乡,
哈尔滨 and 巴林左旗 a few more. Each need is posted, and moved, through ``catalog.need_store`` as the site's own
park manager or county officer. So that matching has evidence to show, a few demo plots of the demo counties
are then marked (through ``catalog.field_rules``, as the county's agent) as showing a published result of their
crop that is suitable in their province. Ids come from uuid5 of the seed: the same seed gives the same data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.field import DemoPlot
from catalog.field_rules import apply_plot
from catalog.matching import rank_results
from catalog.need_store import create_need, move_need
from catalog.needs import Need
from catalog.results import Result, ResultCode, ResultRegion
from catalog.sites import Site

NAMESPACE = uuid.UUID("9a4e2b17-5c3d-4f8e-a1b6-7d2c3e4f5a6b")

# site id → needs: fields, then the steps to take ("match" names the best-ranked result)
NEEDS: dict[str, list[tuple[dict[str, Any], list[str]]]] = {
    "NASTP014": [
        ({"title": "引进耐旱耐密、抗倒伏的夏玉米新品种",
          "problem": "园区核心区及周边多为岗坡旱地，夏玉米播种后常遇伏旱，现用品种耐密性差、后期易倒伏，"
                     "机收损失大。希望引进耐旱、耐密、抗倒伏、适宜机械化收获的玉米新品种，并配套节水保墒栽培技术。",
          "crops": ["maize"], "industry_types": ["IT0103"], "scenarios": ["SC0201", "SC0301"],
          "land_scenarios": ["SC0102"], "season": "2026-autumn_grain", "area_mu": 30000,
          "scale_text": "核心区 3 万亩，辐射 20 万亩", "contact": "园区管委会科技科"}, []),
        ({"title": "小麦赤霉病绿色防控技术",
          "problem": "近两年小麦抽穗扬花期多阴雨，赤霉病发生偏重，农户反复喷药、成本高。需要赤霉病绿色防控、"
                     "减少化学农药用量的技术和配套植保机械服务。",
          "crops": ["wheat"], "industry_types": ["IT0102"], "scenarios": ["SC0404"],
          "season": "2026-summer_grain", "area_mu": 50000}, ["match"]),
        ({"title": "设施蔬菜连作障碍治理",
          "problem": "园区日光温室连作多年，土壤盐渍化、根结线虫严重，番茄黄瓜产量下降。寻求土壤改良与生物防治技术。",
          "crops": ["vegetables"], "industry_types": ["IT04"], "scenarios": ["SC0106", "SC0302"],
          "area_mu": 1200, "scale_text": "日光温室 600 栋"}, ["close"]),
    ],
    "IC1-410184": [
        ({"title": "小麦玉米周年水肥一体化节水增产技术",
          "problem": "全市井灌区地下水超采，小麦玉米两熟灌溉用水多、化肥利用率低。希望引进水肥一体化、"
                     "化肥减量增效的技术规程和智能灌溉装备，在高标准农田示范。",
          "crops": ["wheat", "maize"], "industry_types": ["IT0102", "IT0103"], "scenarios": ["SC0107", "SC0404"],
          "season": "2026-summer_grain", "area_mu": 10000, "contact": "市农技推广中心"}, []),
        ({"title": "红枣病虫害绿色防控与提质增效",
          "problem": "新郑大枣裂果、枣疯病多发，采后烘干加工落后，品牌价值未发挥。需要病虫害绿色防控、"
                     "烘干初加工技术。",
          "crops": ["fruit"], "industry_types": ["IT05"], "scenarios": ["SC0406"], "area_mu": 8000}, []),
    ],
    "NASTP218": [
        ({"title": "高产高蛋白大豆品种及麦豆轮作配套栽培",
          "problem": "临泉麦后大豆单产偏低，品种老化，草害重。希望引进高产、高蛋白大豆新品种"
                     "和麦豆轮作绿色高产高效栽培技术。",
          "crops": ["soybean"], "industry_types": ["IT0104"], "scenarios": ["SC0201", "SC0301"],
          "season": "2026-autumn_grain", "area_mu": 20000}, []),
    ],
    "NASTP245": [
        ({"title": "双季稻机插秧与早稻优质品种",
          "problem": "宁乡双季稻区劳动力紧缺，早稻育秧难、机插率低；早稻米质一般，销售价格低。"
                     "需要适合机插的早稻优质品种和育插秧机械化技术。",
          "crops": ["rice_indica"], "industry_types": ["IT0101"], "scenarios": ["SC0105", "SC0403"],
          "season": "2026-early_rice", "area_mu": 15000}, ["match"]),
    ],
    "NASTP015": [
        ({"title": "黑土地保护性耕作与秸秆还田",
          "problem": "黑土层变薄、有机质下降，玉米秸秆焚烧禁而不止。需要秸秆覆盖还田、免耕播种的"
                     "黑土地保护性耕作技术和机具。",
          "crops": ["maize", "soybean"], "industry_types": ["IT01"], "land_scenarios": ["SC0101"],
          "scenarios": ["SC0402"], "area_mu": 100000}, []),
    ],
    "KC-150422": [
        ({"title": "盐碱化耕地改良与耐盐作物",
          "problem": "部分耕地次生盐碱化，出苗差、产量低。需要盐碱地改良利用技术和耐盐碱的谷子、高粱品种。",
          "crops": ["millet", "sorghum"], "industry_types": ["IT0106"], "land_scenarios": ["SC0103"],
          "area_mu": 5000}, []),
    ],
}
# Demo counties of catalog.demo_plots → how many of their demo plots show a result.
LINKED_PLOTS_PER_COUNTY = 6


@dataclass
class NeedReport:
    needs: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    plots_linked: int = 0


def poster(site: Site) -> Actor:
    """The site's own poster: its park manager, or the county's officer."""
    if site.kind == "park":
        return Actor(f"demo-park-{site.id}", grants=(Grant("park_manager", site.id),), channel="seed")
    return Actor(f"demo-county-{site.place_code}", grants=(Grant("county_officer", site.place_code),),
                 channel="seed")


def link_demo_plots(session: Session, seed: int) -> int:
    """Mark a few demo plots per county as showing a published result of their crop suitable in their province."""
    linked = 0
    counties = sorted({c for c in session.scalars(select(DemoPlot.county_code).where(
        DemoPlot.result_id.is_(None), DemoPlot.deleted.is_(False)).distinct())})
    for county in counties:
        plots = list(session.scalars(select(DemoPlot).where(
            DemoPlot.county_code == county, DemoPlot.result_id.is_(None), DemoPlot.deleted.is_(False),
            DemoPlot.name.contains("示范田")).order_by(DemoPlot.id)))
        agent = Actor(f"demo-agent-{county}", grants=(Grant("agent", county),), channel="seed")
        chosen: dict[str, list[str]] = {}
        here = 0
        for plot in plots:
            if here >= LINKED_PLOTS_PER_COUNTY:
                break
            crop = plot.crop
            if crop not in chosen:
                crops = [crop, crop.split("_")[0]]
                chosen[crop] = list(session.scalars(
                    select(Result.id).join(ResultCode, ResultCode.result_id == Result.id)
                    .join(ResultRegion, ResultRegion.result_id == Result.id)
                    .where(Result.state == "published", Result.form == "variety", ResultCode.dimension == "crop",
                           ResultCode.code.in_(crops), ResultRegion.province_code == county[:2] + "0000")
                    .distinct().order_by(Result.id).limit(2)))
            if not chosen[crop]:
                continue
            result_id = chosen[crop][(linked + seed) % len(chosen[crop])]
            apply_plot(session, agent, {"result_id": result_id}, record_id=plot.id)
            linked += 1
            here += 1
    return linked


def seed_needs(session: Session, seed: int = 42) -> NeedReport:
    """Post the demo needs (and link demo plots to results); flushes, never commits. Skips needs already there."""
    report = NeedReport()
    report.plots_linked = link_demo_plots(session, seed)
    for site_id, needs in NEEDS.items():
        site = session.get(Site, site_id)
        if site is None:
            continue
        actor = poster(site)
        for k, (data, steps) in enumerate(needs):
            need_id = str(uuid.uuid5(NAMESPACE, f"{seed}:{site_id}:{k}"))
            if session.get(Need, need_id) is not None:
                continue
            need = create_need(session, actor, {"site_id": site_id, **data}, need_id)
            for step in steps:
                found = rank_results(session, need, limit=1, site=site) if step == "match" else []
                move_need(session, actor, need.id, step, result_id=found[0].result_id if found else None,
                          comment="已与成果完成单位对接，签订技术服务协议" if step == "match" else "需求已解决")
            report.needs += 1
            report.by_state[need.state] = report.by_state.get(need.state, 0) + 1
    return report
