"""Demo review of yield measurements: every state of the approval chain on the demo plots (``catalog.review``).

County self-tests of past seasons are approved by their county's officer (a few rejected with a comment); about one
plot in four gets a province re-test (郑州's 中牟 a city test before it), most of them approved, one in three of those
a ministry spot-check; the current season's self-tests wait in the county officers' queues, and a few higher-level
measurements wait in the province's and the ministry's. In 新郑市 (the demo agent's and county officer's county) three
plots show the agent's side: one approved (its province re-test pending), one pending, one rejected with the
officer's comment. Everything goes
through ``catalog.field_rules`` (the agent records every level) and ``catalog.review`` (the officers decide), so
versions, the audit log and the sync log are the real ones. ``random.Random(seed)`` makes it deterministic.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import review
from catalog.access import Actor, Grant
from catalog.demo_plots import COUNTIES, NAMESPACE, SURNAMES, _quad, _samples
from catalog.divisions import Division
from catalog.field import DemoPlot, YieldMeasurement
from catalog.field_rules import apply_plot, apply_yield

PROVINCE_PANELS = {"41": "河南省农业技术推广总站", "13": "河北省农业技术推广总站", "23": "黑龙江省农业技术推广站",
                   "43": "湖南省农业技术推广总站", "34": "安徽省农业技术推广总站", "51": "四川省农业技术推广总站"}
REJECTIONS = ("5个样点中第3点鲜重与第2点完全相同，请核实原始记录后重新上报",
              "收获面积合计超过样方规定（每点不超过1.5亩），请核对丈量记录",
              "对照品种产量缺少出处，请补充同一试验的对照田实收数据")
XINZHENG = "410184"
GIVEN = ("建国", "明", "华", "志强", "丽", "秀英", "卫东", "海燕", "国庆", "玉兰")


@dataclass
class ReviewReport:
    by_level_state: dict[str, int] = field(default_factory=dict)

    def add(self, m: YieldMeasurement) -> None:
        key = f"{m.level}/{m.review_state}"
        self.by_level_state[key] = self.by_level_state.get(key, 0) + 1


def _officer(role: str, scope: str | None, name: str) -> Actor:
    return Actor(name, grants=(Grant(role, scope),), channel="seed")


def _agent(county: str) -> Actor:
    return Actor(f"demo-agent-{county}", grants=(Grant("agent", county),), channel="seed")


def _retest(rng: random.Random, m: YieldMeasurement, level: str, panel: str, days: int) -> dict[str, Any]:
    """A measurement of ``level`` of the same plot: its own sample points (fresh weights within ±4 %)."""
    samples = [{k: v for k, v in s.items() if k in ("area_mu", "fresh_kg", "moisture", "impurity",
                                                      "shelling_rate")} for s in m.samples]
    for s in samples:
        s["fresh_kg"] = round(float(s["fresh_kg"]) * rng.uniform(0.96, 1.03), 1)
    out: dict[str, Any] = {"plot_id": m.plot_id, "method": m.method, "level": level, "samples": samples,
                           "crop": m.crop, "verifies_id": m.id,
                           "panel": [f"{panel} {rng.choice(SURNAMES)}{rng.choice(GIVEN)}" for _ in range(3)],
                           "measured_on": (m.measured_on + dt.timedelta(days=days)) if m.measured_on else None}
    if m.baseline_type in ("check_variety", "county_average"):
        out |= {"baseline_type": m.baseline_type, "baseline_kg_per_mu": m.baseline_kg_per_mu}
    elif m.baseline_type == "control_plot":
        out["baseline_type"] = "control_plot"
    return out


def seed_review(session: Session, seed: int = 42, current_year: int = 2026) -> ReviewReport:
    """Decide and add measurements as described above; flushes, never commits."""
    rng = random.Random(f"review:{seed}")
    report = ReviewReport()
    selftests = list(session.scalars(
        select(YieldMeasurement).join(DemoPlot, DemoPlot.id == YieldMeasurement.plot_id)
        .where(YieldMeasurement.level == "county", YieldMeasurement.review_state == "pending",
               YieldMeasurement.method == "harvest", YieldMeasurement.deleted.is_(False),
               DemoPlot.name.like("%示范田%"))  # the demo plots, not their control plots
        .order_by(YieldMeasurement.county_code, YieldMeasurement.measured_on, YieldMeasurement.id)))
    ministry = _officer("ministry_officer", None, "农业农村部科技教育司")
    n = 0
    for m in selftests:
        if m.measured_on is None or m.measured_on.year >= current_year:
            continue  # this season's self-tests wait in the county officers' queues
        county = session.get(Division, m.county_code)
        place = county.name if county else m.county_code
        n += 1
        county_officer = _officer("county_officer", m.county_code, f"{place}农业农村局")
        if n % 23 == 5:
            review.reject(session, county_officer, m.id, REJECTIONS[n % len(REJECTIONS)])
            continue
        review.approve(session, county_officer, m.id, "样点、称重、水分测定符合测产规程")
        if n % 4:
            continue
        agent = _agent(m.county_code)
        below = m
        if m.county_code.startswith("4101"):  # 郑州 holds a city test
            city = apply_yield(session, agent, _retest(rng, m, "city", "郑州市农业技术推广站", 3)).record
            below = city
            if n % 8 == 4:  # waits in 郑州's queue (the province re-test after it waits too)
                apply_yield(session, agent, _retest(rng, city, "province", PROVINCE_PANELS["41"], 5))
                continue
            review.approve(session, _officer("city_officer", m.county_code[:4] + "00", "郑州市农业农村局"), city.id)
        panel = PROVINCE_PANELS.get(m.county_code[:2], "省农业技术推广总站")
        province = apply_yield(session, agent, _retest(rng, below, "province", panel, 5)).record
        province_name = session.get(Division, m.county_code[:2] + "0000")
        province_officer = _officer("province_officer", m.county_code[:2] + "0000",
                                    f"{province_name.name if province_name else ''}农业农村厅")
        if n % 36 == 0:
            continue  # waits in the province's queue
        if n % 40 == 12:
            review.reject(session, province_officer, province.id, "复测与自测取了相同样点，请按梅花形重新取点")
            continue
        review.approve(session, province_officer, province.id, "复测结果与县级自测相符")
        if n % 12 == 0:
            spot = apply_yield(session, agent, _retest(rng, province, "ministry", "农业农村部测产专家组", 4)).record
            if n % 24:
                review.approve(session, ministry, spot.id, "抽测结果确认")
    _xinzheng(session, rng, current_year)
    for m in session.scalars(select(YieldMeasurement).where(YieldMeasurement.deleted.is_(False))):
        report.add(m)
    return report


def _xinzheng(session: Session, rng: random.Random, year: int) -> None:
    """Three wheat plots of 新郑市 (the demo agent's county): approved, pending, and rejected with a comment."""
    division = session.get(Division, XINZHENG)
    if division is None or division.label_lng is None or division.label_lat is None:
        return
    agent = _agent(XINZHENG)
    officer = _officer("county_officer", XINZHENG, "新郑市农业农村局")
    crop = next(c for c in COUNTIES[0].crops if c.crop == "wheat")  # 黄淮 wheat, as 中牟 next door
    for i, (village, state) in enumerate((("龙湖镇", "approved"), ("薛店镇", "pending"), ("孟庄镇", "rejected"))):
        rid = str(uuid.uuid5(NAMESPACE, f"xinzheng:{year}:{i}"))
        if session.get(DemoPlot, rid) is not None:
            continue
        mu = round(rng.uniform(30, 80), 1)
        boundary = _quad(rng, division.label_lng + 0.01 * (i - 1), division.label_lat + 0.008 * i, mu)
        plot = apply_plot(session, agent, {
            "name": f"{village}郑麦379示范田", "county_code": XINZHENG, "crop": "wheat", "variety": "郑麦379",
            "season": f"{year}-summer_grain", "farmer_name": rng.choice("王李张刘陈") + rng.choice("建国明华军平"),
            "boundary": shapely.to_geojson(boundary)}, record_id=rid).record
        target = rng.uniform(560, 640)
        m = apply_yield(session, agent, {
            "plot_id": plot.id, "method": "harvest", "level": "county", "measured_on": dt.date(year, 6, 3 + i),
            "samples": _samples(rng, crop, target, mu), "baseline_type": "check_variety",
            "baseline_kg_per_mu": round(target / rng.uniform(1.05, 1.12), 1),
            "panel": ["新郑市农技推广中心 李明", "新郑市种子管理站 赵华", "河南农业大学 孙平"]},
            record_id=str(uuid.uuid5(NAMESPACE, f"xinzheng-yield:{year}:{i}"))).record
        if state == "approved":  # and its province re-test waits in 河南's queue
            review.approve(session, officer, m.id, "符合测产规程")
            apply_yield(session, agent, _retest(rng, m, "province", PROVINCE_PANELS["41"], 6),
                        record_id=str(uuid.uuid5(NAMESPACE, f"xinzheng-retest:{year}:{i}")))
        elif state == "rejected":
            review.reject(session, officer, m.id, "第4点含水率记为0.35，与同日其他样点（0.13左右）不符，请复核后修改")
