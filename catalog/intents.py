"""Intents: a site means to take up a result, and is followed through to the field.

    registered (已登记) → contact (已联系) → agreement (已签约: transfer, licence, cooperation, equity …)
                       → landed (已落地: a demo plot of the site's county showing the result, or an adoption record)
    registered / contact / agreement → dropped (已放弃, with a reason)

Every step is its own ``IntentStep`` row (who, when recorded, the date it happened, a note); the intent keeps its
current state and what the steps established (mode, plot, adopted area). A step out of order is refused
(409) with what would be allowed; a step's missing or wrong details are refused field by field (422).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.codelists import current_codes
from catalog.db import Base, UTCDateTime, beijing_today, timestamp, utcnow, uuid_pk
from catalog.errors import Conflict, FieldError, IllegalTransition, NotFound, ValidationFailed
from catalog.events import Event, EventResult, EventSite
from catalog.field import DemoPlot
from catalog.results import Result
from catalog.sites import Site, site_divisions
from gis.area import M2_PER_MU

STATES = ("registered", "contact", "agreement", "landed", "dropped")
STATE_NAMES = {"registered": ("已登记", "Registered"), "contact": ("已联系", "In contact"),
               "agreement": ("已签约", "Agreement"), "landed": ("已落地", "Landed"), "dropped": ("已放弃", "Dropped")}
# The step each state leads to; dropping is open to every state that is not final.
NEXT: dict[str, str] = {"registered": "contact", "contact": "agreement", "agreement": "landed"}
FINAL = frozenset({"landed", "dropped"})
MAX_ADOPTED_MU = 10_000_000.0  # 1000万亩: more than any one site adopts; a typo guard


class Intent(Base):
    __tablename__ = "intent"

    id: Mapped[uuid_pk]
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    result_id: Mapped[str] = mapped_column(ForeignKey("result.id"), index=True)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("event.id"), index=True)
    province_code: Mapped[str | None] = mapped_column(String(6))  # the site's, for the audit log's scope
    state: Mapped[str] = mapped_column(String(16), default="registered", index=True)
    mode: Mapped[str | None] = mapped_column(String(32))  # transfer_mode code of the agreement
    plot_id: Mapped[str | None] = mapped_column(ForeignKey("demo_plot.id"), index=True)
    adopted_area_m2: Mapped[float | None] = mapped_column(Float)  # an adoption record without a plot
    drop_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def adopted_area_mu(self) -> float | None:
        return None if self.adopted_area_m2 is None else self.adopted_area_m2 / M2_PER_MU


class IntentStep(Base):
    """One step of an intent: what happened, on which day, recorded by whom and when."""

    __tablename__ = "intent_step"

    id: Mapped[uuid_pk]
    intent_id: Mapped[str] = mapped_column(ForeignKey("intent.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # the state the step led to
    happened_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # mode, plot_id, area_mu, reason
    actor: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[timestamp]


class IntentStepRefused(IllegalTransition):
    """A step out of order: 409 with the steps the intent's state allows."""

    def __init__(self, state: str, action: str, allowed: list[str]) -> None:
        zh_state, en_state = STATE_NAMES.get(state, (state, state))
        zh_to = "、".join(f"“{STATE_NAMES[a][0]}”" for a in allowed) or "无（已是最终状态）"
        en_to = ", ".join(STATE_NAMES[a][1].lower() for a in allowed) or "none (the intent is final)"
        action_zh = STATE_NAMES.get(action, (action, action))[0]
        super(IllegalTransition, self).__init__(
            en=f"The intent is '{en_state.lower()}': it cannot move to '{action}'; next: {en_to}",
            zh=f"对接意向处于“{zh_state}”，不能进入“{action_zh}”；下一步可为：{zh_to}",
            state=state, action=action, allowed=allowed)


def allowed_steps(state: str) -> list[str]:
    if state in FINAL:
        return []
    return [NEXT[state], "dropped"]




def _err(field: str, code: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(field, code, zh, en, value=value)


def _day(errors: list[FieldError], value: Any, after: dt.date | None) -> dt.date:
    """The step's date: today (Beijing) when not given; never in the future, never before the previous step."""
    day: dt.date | None
    if value in (None, ""):
        day = beijing_today()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            errors.append(_err("on", "invalid_date", "日期格式应为 YYYY-MM-DD", "A date must be YYYY-MM-DD", value))
            return beijing_today()
    if day > beijing_today():
        errors.append(_err("on", "future", "日期不能晚于今天（北京时间）", "The date cannot be after today (Beijing)",
                           day.isoformat()))
    elif after is not None and day < after:
        errors.append(_err("on", "before_previous", f"日期不能早于上一步（{after.isoformat()}）",
                           f"The date cannot be before the previous step ({after.isoformat()})", day.isoformat()))
    return day


def site_counties(session: Session, site: Site) -> list[str]:
    """The divisions a site lies in (a park named after a prefecture lies in all of its counties)."""
    return site_divisions(session, site.id) or ([site.place_code] if site.place_code else [])


def covers_county(divisions: list[str], county_code: str) -> bool:
    return any(county_code == d or (d.endswith("00") and not d.endswith("0000") and county_code[:4] == d[:4])
               for d in divisions)


# --------------------------------------------------------------------------------------------------- writes


def get_intent(session: Session, intent_id: str) -> Intent:
    intent = session.get(Intent, intent_id)
    if intent is None:
        raise NotFound(en=f"No intent {intent_id}", zh="对接意向不存在", id=intent_id)
    return intent


@dataclass(frozen=True)
class NewIntent:
    site: Site
    result: Result
    event: Event | None


def check_new_intent(session: Session, data: Mapping[str, Any], can_read_result: Any) -> NewIntent:
    """The site, result and event of a new intent, each refused with its reason (422).

    ``can_read_result(result)`` tells whether the actor may see the result (unseen ones are "unknown")."""
    errors: list[FieldError] = []
    site = session.get(Site, data.get("site_id") or "")
    if site is None or not site.active:
        errors.append(_err("site_id", "unknown_site", "园区或县不存在或已不在名单中",
                           "No such site, or it is no longer served", data.get("site_id")))
    result = session.get(Result, data.get("result_id") or "")
    if result is None or not can_read_result(result):
        errors.append(_err("result_id", "unknown_result", "成果不存在", "No such result", data.get("result_id")))
        result = None
    elif result.state != "published":
        errors.append(_err("result_id", "not_published", "只能对已发布的成果登记对接意向",
                           "Intents are registered on published results only", result.id))
    event = None
    if data.get("event_id"):
        event = session.get(Event, data["event_id"])
        if event is None:
            errors.append(_err("event_id", "unknown_event", "活动不存在", "No such event", data["event_id"]))
        elif event.state == "closed":
            errors.append(_err("event_id", "closed", "活动已结束，不能再登记意向",
                               "The event is closed: no more intents", event.id))
        else:
            if site is not None and session.get(EventSite, (event.id, site.id)) is None:
                errors.append(_err("event_id", "not_registered", "请先为该园区或县报名本次活动",
                                   "Register the site for the event first", event.id))
            if result is not None and session.get(EventResult, (event.id, result.id)) is None:
                errors.append(_err("result_id", "not_showcased", "该成果未在本次活动展示",
                                   "The result is not showcased at this event", result.id))
    if errors:
        raise ValidationFailed(errors)
    assert site is not None and result is not None
    return NewIntent(site, result, event)


def create_intent(session: Session, new: NewIntent, actor: str, on: Any = None, note: str | None = None
                  ) -> Intent:
    """Register an intent (state registered, its first step dated ``on``); one open intent per site and result."""
    errors: list[FieldError] = []
    day = _day(errors, on, None)
    if errors:
        raise ValidationFailed(errors)
    open_one = session.scalar(select(Intent.id).where(
        Intent.site_id == new.site.id, Intent.result_id == new.result.id, Intent.state.not_in(FINAL)))
    if open_one is not None:
        raise Conflict(en="The site has an open intent on this result already",
                       zh="该园区或县已对这项成果登记了对接意向，请推进已有的意向", intent_id=open_one)
    note = (note or "").strip() or None
    intent = Intent(site_id=new.site.id, result_id=new.result.id, event_id=new.event.id if new.event else None,
                    province_code=new.site.province_code, state="registered", note=note,
                    created_by=actor, updated_by=actor)
    session.add(intent)
    session.flush()
    session.add(IntentStep(intent_id=intent.id, state="registered", happened_on=day, note=note, actor=actor))
    session.flush()
    return intent


def intent_steps(session: Session, intent_id: str) -> list[IntentStep]:
    return steps_of(session, [intent_id])[intent_id]


def steps_of(session: Session, intent_ids: list[str]) -> dict[str, list[IntentStep]]:
    """Each intent's timeline, in one query for a page of intents."""
    out: dict[str, list[IntentStep]] = {i: [] for i in intent_ids}
    if intent_ids:
        for step in session.scalars(select(IntentStep).where(IntentStep.intent_id.in_(intent_ids))
                                    .order_by(IntentStep.happened_on, IntentStep.at, IntentStep.id)):
            out[step.intent_id].append(step)
    return out


def intent_names(session: Session, intents: list[Intent]) -> dict[str, str]:
    """Names of the sites, results and events a page of intents refers to, by id, in three queries."""
    sites = {i.site_id for i in intents}
    results = {i.result_id for i in intents}
    events = {i.event_id for i in intents if i.event_id}
    names = dict(session.execute(select(Site.id, Site.name).where(Site.id.in_(sites))).all())
    names |= dict(session.execute(select(Result.id, Result.name).where(Result.id.in_(results))).all())
    names |= dict(session.execute(select(Event.id, Event.title).where(Event.id.in_(events))).all())
    return names


def _landing(session: Session, intent: Intent, data: Mapping[str, Any], errors: list[FieldError]
             ) -> dict[str, Any]:
    plot_id = data.get("plot_id") or None
    area = data.get("area_mu")
    if (plot_id is None) == (area in (None, "")):
        errors.append(_err("plot_id", "plot_or_adoption", "落地须关联一块示范田，或填写推广应用面积（亩），二选一",
                           "Landing needs either a demo plot or an adopted area in mu, not both"))
        return {}
    if plot_id is not None:
        plot = session.get(DemoPlot, plot_id)
        site = session.get(Site, intent.site_id)
        if plot is None or plot.deleted:
            errors.append(_err("plot_id", "unknown_plot", "示范田不存在", "No such demo plot", plot_id))
        elif site is None or not covers_county(site_counties(session, site), plot.county_code):
            errors.append(_err("plot_id", "outside_site", "示范田不在该园区或县的范围内",
                               "The demo plot is not in the site's county", plot_id))
        elif plot.result_id != intent.result_id:
            errors.append(_err("plot_id", "other_result", "该示范田展示的不是这项成果（请先在示范田记录中关联成果）",
                               "The demo plot does not show this result (link it in the plot's record first)",
                               plot_id))
        return {"plot_id": plot_id}
    try:
        mu = float(area)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        mu = float("nan")
    if not 0 < mu <= MAX_ADOPTED_MU:
        errors.append(_err("area_mu", "out_of_range", "推广应用面积应为大于0的亩数", "The adopted area must be "
                           "a positive number of mu", area))
        return {}
    return {"area_mu": mu}


def move_intent(session: Session, intent: Intent, data: Mapping[str, Any], actor: str) -> IntentStep:
    """Record the next step of ``intent``: ``data`` has ``step`` and, by step, ``on``, ``note``, ``mode``,
    ``plot_id`` or ``area_mu``, ``reason``. Writes nothing unless every check passes."""
    step = str(data.get("step") or "")
    # The state as stored now, the row locked until commit (PostgreSQL): two steps at once cannot both pass.
    session.refresh(intent, with_for_update=True)
    allowed = allowed_steps(intent.state)
    if step not in allowed:
        raise IntentStepRefused(intent.state, step, allowed)
    errors: list[FieldError] = []
    steps = intent_steps(session, intent.id)
    day = _day(errors, data.get("on"), steps[-1].happened_on if steps else None)
    note = (str(data.get("note") or "").strip()) or None
    details: dict[str, Any] = {}
    if step == "agreement":
        mode = data.get("mode")
        if mode not in current_codes(session, "transfer_mode"):
            errors.append(_err("mode", "invalid", "请选择签约方式（转让、许可、合作实施、作价投资等）",
                               "Choose the agreement mode (transfer, licence, cooperation, equity …)", mode))
        details["mode"] = mode
    elif step == "landed":
        details.update(_landing(session, intent, data, errors))
    elif step == "dropped":
        reason = str(data.get("reason") or "").strip()
        if not reason:
            errors.append(_err("reason", "required", "放弃须填写原因", "Dropping needs a reason"))
        details["reason"] = reason
    if errors:
        raise ValidationFailed(errors)
    if step == "agreement":
        intent.mode = details["mode"]
    elif step == "landed":
        intent.plot_id = details.get("plot_id")
        intent.adopted_area_m2 = details["area_mu"] * M2_PER_MU if "area_mu" in details else None
    elif step == "dropped":
        intent.drop_reason = details["reason"]
    intent.state = step
    intent.version += 1
    intent.updated_at, intent.updated_by = utcnow(), actor
    row = IntentStep(intent_id=intent.id, state=step, happened_on=day, note=note, details=details, actor=actor)
    session.add(row)
    session.flush()
    return row


def intent_query(condition: Any, site_id: str | None = None, result_id: str | None = None,
                 event_id: str | None = None, state: str | None = None) -> Any:
    q = select(Intent).where(condition).order_by(Intent.updated_at.desc(), Intent.id)
    if site_id:
        q = q.where(Intent.site_id == site_id)
    if result_id:
        q = q.where(Intent.result_id == result_id)
    if event_id:
        q = q.where(Intent.event_id == event_id)
    if state:
        q = q.where(Intent.state == state)
    return q
