"""The measurement sheet (测产结果表 / 测产验收单) of one yield measurement: what the panel signs.

Everything is computed again from the stored samples with the formulas of ``catalog.yields`` (the same the server
stored ``yield_kg_per_mu`` from), step by step so that the panel can check each figure by hand: per point the
weight at standard moisture and its kg/亩, then the totals and the result; for 理论测产 each point's product and the
mean. No Flask here: the page renders the :class:`Sheet`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy.orm import Session

from catalog import review, yields
from catalog.codelists import current_codes
from catalog.divisions import Division
from catalog.field import DemoPlot, YieldMeasurement
from gis.area import M2_PER_MU

BASELINE_NAMES = {"control_plot": ("对照田", "control plot"), "check_variety": ("对照品种（CK）", "check variety"),
                  "county_average": ("县平均", "county average")}


@dataclass(frozen=True)
class SampleRow:
    n: int
    point: str | None
    values: dict[str, float | None]  # as stored: area_mu, fresh_kg, moisture, impurity, shelling_rate, …
    standard_kg: float | None        # 实收: weight at standard moisture
    kg_per_mu: float                 # the point's own yield


@dataclass
class Sheet:
    measurement: YieldMeasurement
    plot: DemoPlot
    place: list[str]                 # province, city, county names
    crop_name: str
    season_name: str
    plot_area_mu: float | None
    centroid: tuple[float, float] | None  # lon, lat (WGS-84)
    rows: list[SampleRow]
    total_kg: float | None = None    # 实收: Σ standard-moisture weight
    total_mu: float | None = None    # 实收: Σ harvested area
    result: float | None = None      # kg/亩, recomputed (equals the stored figure)
    factor: float | None = None      # 理论: the crop's factor (0.85 …)
    standard_moisture: float | None = None
    ear_formula: bool = False
    points_required: int | None = None
    baseline_name: str | None = None
    chain: list[YieldMeasurement] = field(default_factory=list)
    level_name: str = ""
    state_name: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def gain_kg(self) -> float | None:
        m = self.measurement
        if m.yield_kg_per_mu is None or m.baseline_kg_per_mu is None:
            return None
        return m.yield_kg_per_mu - m.baseline_kg_per_mu


def _place(session: Session, code: str) -> list[str]:
    names: list[str] = []
    division = session.get(Division, code)
    seen = set()
    while division is not None and division.code not in seen:
        seen.add(division.code)
        names.insert(0, division.name)
        division = session.get(Division, division.parent_code) if division.parent_code else None
    return names


def build_sheet(session: Session, m: YieldMeasurement, lang: str = "zh") -> Sheet:
    """The sheet of ``m`` (read rules are the caller's: see ``catalog.review.get_measurement``)."""
    plot = session.get(DemoPlot, m.plot_id)
    assert plot is not None
    i = 1 if lang == "en" else 0
    crops = current_codes(session, "crop")
    seasons = current_codes(session, "season")
    crop = crops.get(m.crop)
    season_code = plot.season.partition("-")
    season = seasons.get(season_code[2])
    centroid = None
    if plot.boundary is not None:
        c = shapely.centroid(plot.boundary)
        centroid = (round(c.x, 6), round(c.y, 6))
    area_mu = plot.area_m2 / M2_PER_MU if plot.area_m2 else None
    sheet = Sheet(m, plot, _place(session, plot.county_code),
                  (crop.name_en if i and crop.name_en else crop.name_zh) if crop else m.crop,
                  f"{season_code[0]} {(season.name_en if i and season.name_en else season.name_zh)}" if season
                  else plot.season, area_mu, centroid, [],
                  points_required=yields.sample_points_required(area_mu),
                  level_name=review.LEVEL_NAMES.get(m.level, (m.level, m.level))[i],
                  state_name=review.STATE_NAMES.get(m.review_state, (m.review_state, m.review_state))[i],
                  chain=review.chain(session, m)[:-1])
    if m.baseline_type:
        sheet.baseline_name = BASELINE_NAMES.get(m.baseline_type, (m.baseline_type, m.baseline_type))[i]
    samples: list[dict[str, Any]] = list(m.samples or [])
    if m.method == "harvest" and samples:
        standard = m.standard_moisture if m.standard_moisture is not None else 0.0
        sheet.standard_moisture = m.standard_moisture
        for n, s in enumerate(samples, start=1):
            impurity = float(s.get("impurity") or 0.0)
            if s.get("shelling_rate") is not None:
                sheet.ear_formula = True
                kg = yields.ear_standard_weight(float(s["fresh_kg"]), shelling_rate=float(s["shelling_rate"]),
                                                moisture=float(s["moisture"]), impurity=impurity)
            else:
                kg = yields.standard_weight(float(s["fresh_kg"]), moisture=float(s["moisture"]), impurity=impurity,
                                            standard=standard)
            sheet.rows.append(SampleRow(n, s.get("point"), _values(s), kg, kg / float(s["area_mu"])))
        sheet.result, sheet.total_kg, sheet.total_mu = yields.harvest_yield(samples, standard)
    elif samples:
        rule = yields.crop_rules().get(m.crop)
        factor = rule.theoretical_factor if rule is not None and rule.theoretical_factor is not None else 1.0
        sheet.factor = factor
        for n, s in enumerate(samples, start=1):
            sheet.rows.append(SampleRow(n, s.get("point"), _values(s), None, yields.theoretical_point(s, factor)))
        sheet.result = yields.theoretical_yield(samples, factor)
    if area_mu is not None and len(samples) < (sheet.points_required or 0) and m.method == "harvest":
        sheet.notes.append("样点数少于规定（10亩以上5点，以下3点）" if not i else
                           "Fewer points than the rule asks (5 from 10 mu, else 3)")
    return sheet


def _values(s: dict[str, Any]) -> dict[str, float | None]:
    return {k: (float(v) if isinstance(v, int | float) else None) for k, v in s.items() if k != "point"}
