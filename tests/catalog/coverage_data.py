"""A small coverage data set whose every figure is computed by hand in tests/catalog/test_coverage.py.

Season 2026-autumn_grain (deadlines as the plans say). Areas in 亩:

| plot | county | kind | crop, variety | 亩 | approved measurements (level: yield, gain, baseline, measured) | note |
|---|---|---|---|---|---|---|
| A | 410122 中牟 | variety | maize 郑单1002 | 30 | county 700 +10 CK 09-20; province 690 +8 CK 09-25 | outside_county |
| B | 410122 | variety | maize 郑单1002 | 10 | county 720 +12 CK 11-20 (ministry +30 pending) | late |
| C | 410122 | variety | maize 裕丰303 | 20 | county 650 +4 control plot 10-01 | control plot H |
| H | 410122 | variety | maize 郑单958 | 5 | — | C's control plot: not a demo |
| J | 410122 | variety | maize | 30 | county 900 +50 CK | deleted |
| D | 410184 新郑 | variety | maize 登海605 | 40 | county rejected | |
| E | 410184 | variety | soybean 中黄301 | 50 | county 200 +6 county average 10-05 | |
| F | 410225 兰考 | land SC0103 | maize | 60 | county 500 +11 county average 10-10 | park NASTP156; grade 6 → 5 |
| G | 130425 大名 | variety | maize 郑单1002 | 100 | county 710 +9 CK 09-30 | |
| I | 410122 | variety | maize 郑单958 | 25 | — | season 2025-autumn_grain |

Plans: 410122 4 plots by 11-15; 410184 2 by 10-31; 130425 1 by 10-15; 150422 (key county KC-150422) 5 by 10-15.
Reports: 410122 品种推广 10000 亩; 410225 辐射 5000 亩 (2026-autumn_grain).
Intents: IC1-410184 R1 landed, R2 registered, R3 dropped; NASTP156 R1 agreement. Needs: IC1-410184 one open, one
matched. Events: a closed Henan event (2026-05-01) with IC1-410184, a planned Henan one, a closed national one
with NASTP156.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalog.db import new_id
from catalog.events import Event, EventSite
from catalog.field import DemoPlot, SoilSample, YieldMeasurement
from catalog.intents import Intent
from catalog.needs import Need
from catalog.seasons import ExtensionReport, SeasonPlan
from gis.area import M2_PER_MU
from tests.catalog.factories import make_result

SEASON = "2026-autumn_grain"
TODAY = dt.date(2026, 12, 2)


@dataclass
class Data:
    plots: dict[str, str]
    results: dict[str, str]


def _plot(s: Session, name: str, county: str, mu: float, crop: str = "maize", variety: str | None = None,
          season: str = SEASON, **kw: object) -> DemoPlot:
    p = DemoPlot(id=new_id(), county_code=county, name=name, area_m2=mu * M2_PER_MU, crop=crop, variety=variety,
                 season=season, **kw)
    s.add(p)
    return p


def _yield(s: Session, plot: DemoPlot, level: str, y: float, gain: float | None, baseline: str | None,
           on: dt.date, state: str = "approved", method: str = "harvest") -> None:
    s.add(YieldMeasurement(id=new_id(), plot_id=plot.id, county_code=plot.county_code, method=method, level=level,
                           measured_on=on, crop=plot.crop, yield_kg_per_mu=y, gain_pct=gain, baseline_type=baseline,
                           review_state=state))


def build(s: Session) -> Data:
    d = dt.date
    a = _plot(s, "A", "410122", 30, variety="郑单1002", flags={"outside_county": {"county_code": "410184"}})
    b = _plot(s, "B", "410122", 10, variety="郑单1002")
    h = _plot(s, "H", "410122", 5, variety="郑单958")
    c = _plot(s, "C", "410122", 20, variety="裕丰303", control_plot_id=h.id)
    j = _plot(s, "J", "410122", 30, variety="郑单1002", deleted=True)
    dd = _plot(s, "D", "410184", 40, variety="登海605")
    e = _plot(s, "E", "410184", 50, crop="soybean", variety="中黄301")
    f = _plot(s, "F", "410225", 60, demo_type="land_quality", land_scenario="SC0103", site_id="NASTP156")
    g = _plot(s, "G", "130425", 100, variety="郑单1002")
    i = _plot(s, "I", "410122", 25, variety="郑单958", season="2025-autumn_grain")
    s.flush()
    _yield(s, a, "county", 700, 10, "check_variety", d(2026, 9, 20))
    _yield(s, a, "province", 690, 8, "check_variety", d(2026, 9, 25))
    _yield(s, b, "county", 720, 12, "check_variety", d(2026, 11, 20))
    _yield(s, b, "ministry", 900, 30, "check_variety", d(2026, 11, 25), state="pending")
    _yield(s, c, "county", 650, 4, "control_plot", d(2026, 10, 1))
    _yield(s, j, "county", 900, 50, "check_variety", d(2026, 10, 1))
    _yield(s, dd, "county", 600, 5, "check_variety", d(2026, 10, 2), state="rejected")
    _yield(s, e, "county", 200, 6, "county_average", d(2026, 10, 5))
    _yield(s, f, "county", 500, 11, "county_average", d(2026, 10, 10))
    _yield(s, g, "county", 710, 9, "check_variety", d(2026, 9, 30))
    for on, grade in ((d(2025, 4, 1), 6), (d(2026, 4, 1), 5)):
        s.add(SoilSample(id=new_id(), plot_id=f.id, county_code=f.county_code, sampled_on=on, grade=grade))
    for county, n, deadline in (("410122", 4, d(2026, 11, 15)), ("410184", 2, d(2026, 10, 31)),
                                ("130425", 1, d(2026, 10, 15)), ("150422", 5, d(2026, 10, 15))):
        s.add(SeasonPlan(county_code=county, season=SEASON, plots_expected=n, area_expected_m2=n * 20 * M2_PER_MU,
                         deadline=deadline))
    s.add(ExtensionReport(county_code="410122", season=SEASON, kind="variety_extension",
                          area_m2=10000 * M2_PER_MU, evidence="乡镇推广面积汇总表"))
    s.add(ExtensionReport(county_code="410225", season=SEASON, kind="land_radiated", area_m2=5000 * M2_PER_MU,
                          evidence="盐碱地改良辐射面积统计"))
    results = {k: make_result(s, f"测试成果{k}").id for k in ("R1", "R2", "R3")}
    for site, result, state in (("IC1-410184", "R1", "landed"), ("IC1-410184", "R2", "registered"),
                                ("IC1-410184", "R3", "dropped"), ("NASTP156", "R1", "agreement")):
        s.add(Intent(site_id=site, result_id=results[result], state=state))
    s.add(Need(site_id="IC1-410184", province_code="410000", title="玉米密植", state="open"))
    s.add(Need(site_id="IC1-410184", province_code="410000", title="大豆带状复合", state="matched"))
    held = Event(kind="onsite", title="河南现场对接", starts_on=d(2026, 5, 1), ends_on=d(2026, 5, 1),
                 province_code="410000", state="closed")
    planned = Event(kind="onsite", title="河南筹备", starts_on=d(2026, 12, 20), ends_on=d(2026, 12, 20),
                    province_code="410000", state="planned")
    national = Event(kind="online", title="全国网络展会", starts_on=d(2026, 6, 1), ends_on=d(2026, 6, 3),
                     state="closed")
    s.add_all([held, planned, national])
    s.flush()
    s.add_all([EventSite(event_id=held.id, site_id="IC1-410184"), EventSite(event_id=planned.id, site_id="IC1-410184"),
               EventSite(event_id=national.id, site_id="NASTP156")])
    s.flush()
    return Data({p.name: p.id for p in (a, b, c, h, j, dd, e, f, g, i)}, results)
