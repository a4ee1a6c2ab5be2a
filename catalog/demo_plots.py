"""Demo field records: a few hundred demo plots with yields in a handful of real counties.

Each county grows what it grows (中牟 wheat–maize, 五常 japonica rice, 宁乡 early and late indica rice, 临泉 wheat and
soybean, 大名 wheat–maize, 广汉 小春 wheat / 大春 rice); plots of 10–200 亩 lie inside the county within a few km of its
label point; yields are 实收 measurements (3 or 5 points by the plot's size) whose fresh weights, moisture and impurity
give realistic standard-moisture yields through the real formula, a few 理论 ones, some with a control plot
(对照田, linked) and the rest against the check variety or the county average. A few plots overlap another or
reach outside their county, so the review flags have something to show. Everything goes through
``catalog.field_rules`` (validation, flags, versions, audit) as an agent of the county; ``random.Random(seed)``
makes it deterministic.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass, field

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.divisions import Division
from catalog.field import DemoPlot
from catalog.field_rules import apply_plot, apply_yield
from catalog.regions import county_of
from gis.area import M2_PER_MU
from gis.validate import local_projection

NAMESPACE = uuid.UUID("3b0c7f5e-2d41-4a8e-9f0b-6c1d2e3f4a5b")
STANDARD = {"wheat": 0.13, "maize": 0.14, "rice_indica": 0.135, "rice_japonica": 0.145, "soybean": 0.13}


@dataclass(frozen=True)
class CropPlan:
    crop: str
    season: str
    month: int              # harvest month
    yield_range: tuple[float, float]  # realistic local kg/亩 of the demo varieties
    varieties: tuple[str, ...]
    check: str              # the check variety (CK)
    moisture: tuple[float, float]


@dataclass(frozen=True)
class CountyPlan:
    code: str
    villages: tuple[str, ...]
    crops: tuple[CropPlan, ...]


WHEAT_HUANGHUAI = CropPlan("wheat", "summer_grain", 6, (520, 680), ("郑麦379", "百农207", "周麦36", "西农511"),
                           "周麦18", (0.12, 0.16))
MAIZE_HUANGHUAI = CropPlan("maize", "autumn_grain", 9, (580, 780), ("郑单1002", "裕丰303", "登海605"), "郑单958",
                           (0.22, 0.30))
COUNTIES: tuple[CountyPlan, ...] = (
    CountyPlan("410122", ("官渡镇", "狼城岗镇", "万滩镇", "韩寺镇"), (WHEAT_HUANGHUAI, MAIZE_HUANGHUAI)),
    CountyPlan("130425", ("大街镇", "金滩镇", "束馆镇"), (WHEAT_HUANGHUAI, MAIZE_HUANGHUAI)),
    CountyPlan("230184", ("民乐乡", "龙凤山镇", "安家镇"), (
        CropPlan("rice_japonica", "middle_rice", 10, (520, 640), ("五优稻4号", "松粳22", "龙粳31"), "五优稻1号",
                 (0.17, 0.23)),
        CropPlan("soybean", "autumn_grain", 9, (170, 260), ("黑农84", "合农95"), "合丰55", (0.13, 0.17)))),
    CountyPlan("430182", ("双江口镇", "夏铎铺镇", "道林镇"), (
        CropPlan("rice_indica", "early_rice", 7, (430, 540), ("中早39", "湘早籼45号"), "中嘉早17", (0.18, 0.25)),
        CropPlan("rice_indica", "late_rice", 10, (470, 600), ("泰优390", "桃优香占"), "天优华占", (0.18, 0.25)))),
    CountyPlan("341221", ("迎仙镇", "杨桥镇", "长官镇"), (
        CropPlan("wheat", "summer_grain", 6, (480, 640), ("烟农999", "皖麦52"), "济麦22", (0.12, 0.16)),
        CropPlan("soybean", "autumn_grain", 9, (180, 280), ("中黄301", "皖豆37"), "中黄13", (0.13, 0.17)))),
    CountyPlan("510681", ("三水镇", "向阳镇", "连山镇"), (
        CropPlan("wheat", "xiaochun", 5, (380, 500), ("川麦104", "绵麦902"), "川麦42", (0.12, 0.16)),
        CropPlan("rice_indica", "dachun", 8, (560, 680), ("宜香优2115", "川优6203"), "F优498", (0.18, 0.24)))),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


@dataclass
class PlotReport:
    plots: int = 0
    yields: int = 0
    flagged: dict[str, int] = field(default_factory=dict)


def field_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DemoPlot)) or 0)


def _quad(rng: random.Random, lon: float, lat: float, mu: float) -> shapely.Polygon:
    """A field of ``mu`` 亩: a rotated rectangle (long side 1.5–3× the short one) with its corners nudged by a metre."""
    ratio = rng.uniform(1.5, 3.0)
    short = math.sqrt(mu * M2_PER_MU / ratio)
    long_ = short * ratio
    angle = rng.uniform(0, math.pi)
    to_m, to_deg = local_projection(shapely.Point(lon, lat))
    c = to_m(shapely.Point(lon, lat))
    corners = []
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = dx * long_ / 2 + rng.uniform(-1, 1), dy * short / 2 + rng.uniform(-1, 1)
        cos, sin = math.cos(angle), math.sin(angle)
        corners.append((c.x + x * cos - y * sin, c.y + x * sin + y * cos))
    poly = to_deg(shapely.Polygon(corners))
    assert isinstance(poly, shapely.Polygon)
    return poly


def _samples(rng: random.Random, crop: CropPlan, target: float, area_mu: float) -> list[dict[str, float]]:
    """Harvest points whose standardized weight over their area gives ``target`` kg/亩 (± point noise)."""
    standard = STANDARD[crop.crop]
    points = 5 if area_mu >= 10 else 3
    out = []
    for _ in range(points):
        harvested = round(rng.uniform(0.8, 1.5), 2)
        moisture = round(rng.uniform(*crop.moisture), 3)
        impurity = round(rng.uniform(0.002, 0.02), 3)
        point = target * rng.uniform(0.95, 1.05)
        fresh = point * harvested * (1 - standard) / ((1 - impurity) * (1 - moisture))
        out.append({"area_mu": harvested, "fresh_kg": round(fresh, 1), "moisture": moisture, "impurity": impurity})
    return out


def _theoretical(rng: random.Random, crop: CropPlan, target: float) -> list[dict[str, float]] | None:
    if crop.crop == "wheat":
        ears, grains = rng.uniform(38, 46) * 1e4, rng.uniform(32, 38)
        return [{"ears_per_mu": round(ears), "grains_per_ear": round(grains, 1),
                 "thousand_grain_g": round(target / (ears * grains * 1e-6 * 0.85), 1)}]
    if crop.crop == "maize":
        ears, grains = rng.uniform(4200, 5200), rng.uniform(480, 560)
        return [{"ears_per_mu": round(ears), "grains_per_ear": round(grains, 1),
                 "thousand_grain_g": round(target / (ears * grains * 1e-6 * 0.85), 1)}]
    return None


def seed_plots(session: Session, seed: int = 42, per_county: int = 50) -> PlotReport:
    """Create ``per_county`` plots (plus control plots) in each demo county, with yields; flushes, never commits."""
    rng = random.Random(f"plots:{seed}")
    report = PlotReport()
    start, counter = field_count(session), 0  # a repeat seeding gets fresh ids

    def uid(kind: str) -> str:
        nonlocal counter
        counter += 1
        return str(uuid.uuid5(NAMESPACE, f"{seed}:{start}:{kind}:{counter}"))

    for county in COUNTIES:
        division = session.get(Division, county.code)
        if division is None or division.label_lng is None or division.label_lat is None:
            continue
        agent = Actor(f"demo-agent-{county.code}", grants=(Grant("agent", county.code),), channel="seed")
        previous: shapely.Polygon | None = None
        for i in range(per_county):
            crop = county.crops[i % len(county.crops)]
            year = 2024 + i % 3  # 2024, 2025 and the current 2026 season
            lon, lat = division.label_lng, division.label_lat
            for _try in range(20):  # a point inside the county, a few km from its label point
                lon = division.label_lng + rng.uniform(-0.05, 0.05)
                lat = division.label_lat + rng.uniform(-0.04, 0.04)
                if county_of(session, (lon, lat)) == county.code:
                    break
            if i % 25 == 7:  # pushed across the county line: flagged outside_county
                lon += 0.4
            mu = round(rng.choice([rng.uniform(12, 40), rng.uniform(40, 120), rng.uniform(120, 195)]), 1)
            boundary = _quad(rng, lon, lat, mu)
            if i % 25 == 11 and previous is not None:  # overlaps the previous plot: flagged overlaps
                boundary = shapely.affinity.translate(previous, xoff=0.0004)
            village = rng.choice(county.villages)
            farmer = rng.choice(SURNAMES) + rng.choice("建国明华军平红英强伟芳丽")
            season = f"{year}-{crop.season}"
            variety = rng.choice(crop.varieties)
            control_id = None
            if i % 6 == 0:
                control = apply_plot(session, agent, {
                    "name": f"{village}{crop.check}对照田", "county_code": county.code, "crop": crop.crop,
                    "variety": crop.check, "season": season, "farmer_name": farmer,
                    "boundary": shapely.to_geojson(shapely.affinity.translate(boundary, yoff=0.004))},
                    record_id=uid("plot"))
                control_id = control.record.id
                report.plots += 1
            applied = apply_plot(session, agent, {
                "name": f"{village}{variety}示范田{i + 1}", "county_code": county.code, "crop": crop.crop,
                "variety": variety, "season": season, "farmer_name": farmer, "boundary": shapely.to_geojson(boundary),
                "farmer_phone": f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}",
                "demo_type": "variety", "control_plot_id": control_id}, record_id=uid("plot"))
            previous = boundary
            report.plots += 1
            for flag in applied.record.flags:
                report.flagged[flag] = report.flagged.get(flag, 0) + 1
            day = dt.date(year, crop.month, rng.randint(1, 25))
            if day > dt.date.today():
                continue  # not harvested yet
            demo_yield = rng.uniform(*crop.yield_range)
            check_yield = demo_yield / rng.uniform(1.03, 1.15)
            if control_id is not None:
                apply_yield(session, agent, {"plot_id": control_id, "method": "harvest", "measured_on": day,
                                             "samples": _samples(rng, crop, check_yield, mu),
                                             "panel": ["县农技推广中心专家组"]}, record_id=uid("yield"))
                report.yields += 1
                baseline: dict[str, object] = {"baseline_type": "control_plot"}
            elif i % 2:
                baseline = {"baseline_type": "check_variety", "baseline_kg_per_mu": round(check_yield, 1)}
            else:
                baseline = {"baseline_type": "county_average",
                            "baseline_kg_per_mu": round(check_yield * rng.uniform(0.95, 1.0), 1)}
            apply_yield(session, agent, {"plot_id": applied.record.id, "method": "harvest", "measured_on": day,
                                         "samples": _samples(rng, crop, demo_yield, mu), "level": "county",
                                         "panel": ["县农技推广中心专家组"], **baseline}, record_id=uid("yield"))
            report.yields += 1
            components = _theoretical(rng, crop, demo_yield * rng.uniform(1.0, 1.08))
            if components is not None and i % 4 == 1:  # a 理论测产 a few weeks before harvest
                apply_yield(session, agent, {"plot_id": applied.record.id, "method": "theoretical",
                                             "measured_on": day - dt.timedelta(days=20), "samples": components},
                            record_id=uid("yield"))
                report.yields += 1
    return report
