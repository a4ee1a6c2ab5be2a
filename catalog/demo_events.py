"""Demo matchmaking: a few realistic events with real sites and published demo results, and intents in every state.

- 2026年河南省农业科技成果现场对接会 in 许昌 (closed): wheat and maize results; the 许昌 park, 新郑市 and 长葛市.
- 2026年湖南省水稻科技成果现场对接会 in 宁乡 (closed): rice results; the 宁乡 park and 宁乡市.
- 2026年国家科技计划农业成果网络展会 (open, nationwide): parks of 临泉, 哈尔滨, 邯郸, 德阳 and 阜阳.
- 2027年安徽省农业科技成果现场对接会 in 阜阳 (planned): its showcase only.

Landed intents of sites whose counties have demo plots (catalog.demo_plots) link a real plot: the plot's result is
set through ``catalog.field_rules`` as the county's agent, as an agent would record it. Everything else goes through
``catalog.matchmaking`` as the organiser or the site's own manager, so the rules and the audit log apply.
``random.Random(seed)`` makes it deterministic; dates are fixed (never after today).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import matchmaking
from catalog.access import Actor, Grant
from catalog.db import beijing_today
from catalog.events import Event
from catalog.field import DemoPlot
from catalog.field_rules import apply_plot
from catalog.intents import covers_county, site_counties
from catalog.results import Result, ResultCode
from catalog.sites import Site

MINISTRY = Actor("demo-ministry", grants=(Grant("ministry_officer", None),), channel="seed")


def _province(code: str) -> Actor:
    return Actor(f"demo-province-{code}", grants=(Grant("province_officer", code),), channel="seed")


def _site_actor(site: Site) -> Actor:
    """The park's manager, or the county officer of a county site."""
    if site.kind == "park":
        return Actor(f"demo-park-{site.id}", grants=(Grant("park_manager", site.id),), channel="seed")
    return Actor(f"demo-county-{site.place_code}", grants=(Grant("county_officer", site.place_code),), channel="seed")


@dataclass(frozen=True)
class Plan:
    """One intent: the site, the crops its result is drawn from, how far it gets, and its dates."""

    site_id: str
    crops: tuple[str, ...]
    end: str                       # registered / contact / agreement / landed / dropped
    dates: tuple[str, ...]         # one per step from registration
    mode: str = "licence"
    plot: bool = False             # landed on a demo plot of the site's county (else an adoption in 亩)
    area_mu: float = 0.0
    note: str = ""
    reason: str = ""


@dataclass(frozen=True)
class EventPlan:
    data: dict[str, object]
    organiser: Actor
    crops: tuple[str, ...]         # what the showcase draws on
    showcase: int
    state: str
    sites: tuple[tuple[str, str], ...]  # (site id, registered / invited)
    intents: tuple[Plan, ...] = ()


WHEAT_MAIZE = ("wheat", "maize")
RICE = ("rice", "rice_indica", "rice_japonica")
EVENTS: tuple[EventPlan, ...] = (
    EventPlan({"kind": "onsite", "title": "2026年河南省农业科技成果现场对接会", "starts_on": "2026-04-16",
               "ends_on": "2026-04-17", "place_code": "411000", "address": "许昌市建安区 河南许昌国家农业科技园区",
               "province_code": "410000", "organiser": "河南省农业农村厅、河南省科学技术厅",
               "description": "面向全省国家农业科技园区、创新型县（市）的小麦、玉米新品种与丰产增效技术现场对接。\n"
                              "现场设成果展区、路演区和签约区。"},
              _province("410000"), WHEAT_MAIZE, 8, "closed",
              (("NASTP014", "registered"), ("IC1-410184", "registered"), ("IC2-411082", "invited")),
              (Plan("NASTP014", ("wheat",), "landed", ("2026-04-16", "2026-04-28", "2026-05-20", "2026-10-12"),
                    "licence", area_mu=3500, note="园区核心区及周边合作社推广"),
               Plan("NASTP014", ("maize",), "contact", ("2026-04-16", "2026-05-06"), note="约请团队赴园区考察"),
               Plan("IC1-410184", WHEAT_MAIZE, "agreement", ("2026-04-17", "2026-05-09", "2026-06-18"),
                    "cooperation", note="县农技推广中心牵头"),
               Plan("IC2-411082", ("maize",), "dropped", ("2026-04-17", "2026-05-15", "2026-06-30"),
                    reason="许可费用未谈拢"),
               Plan("IC1-410184", ("wheat",), "registered", ("2026-04-17",), note="现场登记，待联系"))),
    EventPlan({"kind": "onsite", "title": "2026年湖南省水稻科技成果现场对接会", "starts_on": "2026-05-20",
               "ends_on": "2026-05-21", "place_code": "430182", "address": "宁乡市 湖南宁乡国家农业科技园区",
               "province_code": "430000", "organiser": "湖南省农业农村厅",
               "description": "双季稻丰产、机插和绿色防控技术成果现场观摩与对接。"},
              _province("430000"), RICE, 6, "closed",
              (("NASTP245", "registered"), ("IC2-430182", "registered")),
              (Plan("NASTP245", RICE, "landed", ("2026-05-20", "2026-05-26", "2026-06-10", "2026-07-15"),
                    "transfer", plot=True, note="早稻示范田落地"),
               Plan("IC2-430182", RICE, "landed", ("2026-05-21", "2026-06-02", "2026-06-25", "2026-08-01"),
                    "cooperation", plot=True, note="晚稻示范"),
               Plan("IC2-430182", RICE, "agreement", ("2026-05-21", "2026-06-08", "2026-07-02"), "licence"))),
    EventPlan({"kind": "online", "title": "2026年国家科技计划农业成果网络展会", "starts_on": "2026-11-01",
               "ends_on": "2026-12-31", "organiser": "农业农村部科技教育司",
               "description": "国家重点研发计划农业领域成果在线展示，园区和县可在线登记对接意向。"},
              MINISTRY, (*WHEAT_MAIZE, *RICE, "soybean"), 12, "open",
              (("NASTP218", "registered"), ("NASTP015", "registered"), ("NASTP097", "registered"),
               ("NASTP201", "invited"), ("NASTP130", "registered")),
              (Plan("NASTP218", ("wheat", "soybean"), "landed", ("2026-11-02", "2026-11-06", "2026-11-13",
                                                                  "2026-11-25"), "licence", plot=True),
               Plan("NASTP015", ("rice_japonica", "rice", "soybean"), "landed",
                    ("2026-11-03", "2026-11-09", "2026-11-16", "2026-11-27"), "cooperation", plot=True),
               Plan("NASTP097", WHEAT_MAIZE, "contact", ("2026-11-05", "2026-11-12")),
               Plan("NASTP201", RICE, "registered", ("2026-11-10",), note="在线登记"),
               Plan("NASTP130", ("wheat", "soybean"), "agreement", ("2026-11-04", "2026-11-11", "2026-11-24"),
                    "equity"),
               Plan("NASTP097", ("maize",), "dropped", ("2026-11-05", "2026-11-18"), reason="与园区主导产业不符"))),
    EventPlan({"kind": "onsite", "title": "2027年安徽省农业科技成果现场对接会", "starts_on": "2027-03-18",
               "ends_on": "2027-03-19", "place_code": "341200", "address": "阜阳市 安徽阜阳国家农业科技园区",
               "province_code": "340000", "organiser": "安徽省农业农村厅"},
              _province("340000"), ("wheat", "soybean"), 5, "planned", ()),
)
# An intent without an event: the 德阳 park took up a rice result on its own.
OUTSIDE = Plan("NASTP201", RICE, "landed", ("2026-03-02", "2026-03-20", "2026-04-08", "2026-08-20"), "transfer",
               plot=True, note="园区自主对接")


@dataclass
class EventReport:
    events: int = 0
    showcased: int = 0
    sites: int = 0
    intents: dict[str, int] = field(default_factory=dict)
    plots: int = 0
    skipped: bool = False


def _pool(session: Session, crops: tuple[str, ...]) -> list[str]:
    """Published results for any of ``crops``, in id order (stable for a seed)."""
    return list(session.scalars(
        select(Result.id).join(ResultCode, ResultCode.result_id == Result.id)
        .where(Result.state == "published", ResultCode.dimension == "crop", ResultCode.code.in_(crops))
        .group_by(Result.id).order_by(Result.id)))


def _free_plot(session: Session, site: Site, crops: tuple[str, ...], used: set[str]) -> DemoPlot | None:
    """A demo plot (not a control plot) of the site's county growing one of ``crops`` and showing no result yet."""
    counties = site_counties(session, site)
    controls = select(DemoPlot.control_plot_id).where(DemoPlot.control_plot_id.is_not(None))
    plots = session.scalars(select(DemoPlot).where(DemoPlot.result_id.is_(None), DemoPlot.deleted.is_(False),
                                                   DemoPlot.crop.in_(crops), DemoPlot.id.not_in(controls))
                            .order_by(DemoPlot.id))
    return next((p for p in plots if p.id not in used and covers_county(counties, p.county_code)
                 and "outside_county" not in (p.flags or {})), None)


def _day(value: str) -> str:
    return min(dt.date.fromisoformat(value), beijing_today()).isoformat()


def seed_events(session: Session, seed: int = 42) -> EventReport:
    """The demo events, registrations and intents; flushes, never commits. Does nothing if events exist."""
    report = EventReport()
    if session.scalar(select(func.count()).select_from(Event)):
        report.skipped = True
        return report
    rng = random.Random(f"events:{seed}")
    used_plots: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for plan in EVENTS:
        pool = _pool(session, plan.crops)
        showcase = sorted(rng.sample(pool, min(plan.showcase, len(pool))))
        if not showcase:
            continue
        event = matchmaking.organise_event(session, plan.organiser, plan.data)
        report.events += 1
        if plan.state != "planned":
            matchmaking.step_event(session, plan.organiser, event.id, "open")
        for rid in showcase:
            matchmaking.showcase(session, plan.organiser, event.id, rid, note=f"{rng.choice('ABC')}区"
                                 f"{rng.randint(1, 30)}号展位" if plan.data["kind"] == "onsite" else None)
            report.showcased += 1
        for site_id, via in plan.sites:
            site = session.get(Site, site_id)
            if site is None or not site.active:
                continue
            actor = _site_actor(site) if via == "registered" else plan.organiser
            matchmaking.register(session, actor, event.id, site_id)
            report.sites += 1
        for intent in plan.intents:
            _intent(session, rng, intent, event.id, showcase, used_plots, taken, report)
        if plan.state == "closed":
            matchmaking.step_event(session, plan.organiser, event.id, "close")
    _intent(session, rng, OUTSIDE, None, _pool(session, OUTSIDE.crops), used_plots, taken, report)
    return report


def _intent(session: Session, rng: random.Random, plan: Plan, event_id: str | None, showcase: list[str],
            used_plots: set[str], taken: set[tuple[str, str]], report: EventReport) -> None:
    site = session.get(Site, plan.site_id)
    if site is None or not site.active:
        return
    actor = _site_actor(site)
    wanted = set(_pool(session, plan.crops))
    candidates = [r for r in showcase if r in wanted and (site.id, r) not in taken] or \
        [r for r in showcase if (site.id, r) not in taken]
    if not candidates:
        return
    plot = _free_plot(session, site, plan.crops, used_plots) if plan.plot else None
    result_id = rng.choice(candidates)
    taken.add((site.id, result_id))
    intent = matchmaking.register_intent(session, actor, {"site_id": site.id, "result_id": result_id,
                                                          "event_id": event_id, "on": _day(plan.dates[0]),
                                                          "note": (plan.note if plan.end != "landed" else
                                                                   "现场洽谈") or None})
    path = {"registered": [], "contact": ["contact"], "agreement": ["contact", "agreement"],
            "landed": ["contact", "agreement", "landed"], "dropped": ["contact", "dropped"]}[plan.end]
    for step, day in zip(path, plan.dates[1:], strict=False):
        data: dict[str, object] = {"step": step, "on": _day(day)}
        if step == "agreement":
            data["mode"] = plan.mode
        elif step == "dropped":
            data["reason"] = plan.reason or "对接未果"
        elif step == "landed":
            if plot is not None:
                agent = Actor(f"demo-agent-{plot.county_code}", grants=(Grant("agent", plot.county_code),),
                              channel="seed")
                apply_plot(session, agent, {"result_id": result_id}, record_id=plot.id)
                used_plots.add(plot.id)
                data["plot_id"] = plot.id
                report.plots += 1
            else:
                data["area_mu"] = plan.area_mu or round(rng.uniform(200, 2000), -1)
            data["note"] = plan.note or None
        matchmaking.step_intent(session, actor, intent.id, data)
    report.intents[plan.end] = report.intents.get(plan.end, 0) + 1
