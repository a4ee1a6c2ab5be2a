"""Matchmaking events: on-site matchmaking (现场对接) and online exhibitions (网络展会).

An event is organised nationally (a ministry officer, ``province_code`` empty) or by a province (its province
officer); it showcases published results and has the sites taking part (invited by the organiser or registered by
the site). Its state runs planned → open → closed; a closed event is kept as it was. Who may do what is decided in
``catalog.event_access``; intents that sites register on results live in ``catalog.intents``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.db import Base, UTCDateTime, timestamp, utcnow, uuid_pk
from catalog.divisions import Division
from catalog.errors import Conflict, FieldError, IllegalTransition, NotFound, ValidationFailed
from catalog.results import Result
from catalog.sites import Site

KINDS = ("onsite", "online")                 # 现场对接 / 网络展会
STATES = ("planned", "open", "closed")       # 筹备中 / 进行中 / 已结束
KIND_NAMES = {"onsite": ("现场对接", "On-site matchmaking"), "online": ("网络展会", "Online exhibition")}
STATE_NAMES = {"planned": ("筹备中", "Planned"), "open": ("进行中", "Open"), "closed": ("已结束", "Closed")}


@dataclass(frozen=True)
class EventStep:
    sources: frozenset[str]
    target: str


EVENT_STEPS: dict[str, EventStep] = {
    "open": EventStep(frozenset({"planned"}), "open"),
    "close": EventStep(frozenset({"planned", "open"}), "closed"),
}


class Event(Base):
    __tablename__ = "event"

    id: Mapped[uuid_pk]
    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(256))
    starts_on: Mapped[dt.date] = mapped_column(Date, index=True)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    # Where an on-site event happens (a county or prefecture) and its address; online events have neither.
    place_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"))
    address: Mapped[str | None] = mapped_column(Text)
    # The organiser's scope: empty for a national event (the ministry), else the organising province.
    province_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)
    organiser: Mapped[str | None] = mapped_column(String(128))  # 主办单位, as printed on the programme
    state: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))


class EventSite(Base):
    """A site taking part: invited by the organiser or registered by the site itself."""

    __tablename__ = "event_site"

    event_id: Mapped[str] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True, index=True)
    via: Mapped[str] = mapped_column(String(16), default="registered")  # registered / invited
    contact: Mapped[str | None] = mapped_column(String(128))  # who comes, how to reach them
    at: Mapped[timestamp]
    by: Mapped[str | None] = mapped_column(String(64))


class EventResult(Base):
    """A result showcased at the event (published results only)."""

    __tablename__ = "event_result"

    event_id: Mapped[str] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    result_id: Mapped[str] = mapped_column(ForeignKey("result.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)  # 展位、路演安排
    at: Mapped[timestamp]
    by: Mapped[str | None] = mapped_column(String(64))


class EventStepRefused(IllegalTransition):
    """A state step the event's state does not allow (409, like every illegal transition)."""

    def __init__(self, state: str, action: str, allowed: list[str]) -> None:
        zh_state, en_state = STATE_NAMES.get(state, (state, state))
        super(IllegalTransition, self).__init__(
            en=f"The event is {en_state.lower()}: cannot '{action}'; allowed: {', '.join(allowed) or 'none'}",
            zh=f"活动“{zh_state}”，不能执行“{action}”；可执行：{'、'.join(allowed) or '无'}",
            state=state, action=action, allowed=allowed)


# --------------------------------------------------------------------------------------------------- rules


def _err(field: str, code: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(field, code, zh, en, value=value)


def _date(errors: list[FieldError], data: Mapping[str, Any], key: str) -> dt.date | None:
    value = data.get(key)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(_err(key, "invalid_date", "日期格式应为 YYYY-MM-DD", "A date must be YYYY-MM-DD", value))
    return None


def clean_event(session: Session, data: Mapping[str, Any], current: Event | None = None) -> dict[str, Any]:
    """The event fields of ``data`` checked (all of them for a new event, those given for an edit)."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}

    def given(key: str) -> bool:
        return current is None or key in data

    kind = data.get("kind") if current is None else current.kind
    if current is None and kind not in KINDS:
        errors.append(_err("kind", "invalid", "活动类型应为现场对接（onsite）或网络展会（online）",
                           "The kind must be onsite or online", kind))
    if current is None:
        out["kind"] = kind
    if given("title"):
        title = str(data.get("title") or "").strip()
        if not title or len(title) > 256:
            errors.append(_err("title", "required", "请填写活动名称（不超过256字）",
                               "A title of up to 256 characters is required"))
        out["title"] = title
    for key in ("starts_on", "ends_on"):
        if given(key):
            out[key] = _date(errors, data, key)
    starts = out.get("starts_on", current.starts_on if current else None)
    ends = out.get("ends_on", current.ends_on if current else None)
    if starts and ends and ends < starts:
        errors.append(_err("ends_on", "before_start", "结束日期不能早于开始日期",
                           "The event cannot end before it starts", ends.isoformat()))
    if given("place_code") or given("address"):
        place = data.get("place_code", current.place_code if current else None) or None
        address = str(data.get("address", current.address if current else None) or "").strip() or None
        if kind == "onsite":
            division = session.get(Division, place) if place else None
            if division is None or division.level not in ("prefecture", "county") or division.valid_to:
                errors.append(_err("place_code", "invalid", "现场对接须填写举办地（现行的市或县区划代码）",
                                   "An on-site event needs its place: a current prefecture or county code", place))
        elif place or address:
            errors.append(_err("place_code", "not_onsite", "网络展会没有举办地和地址",
                               "An online exhibition has no place or address", place))
        out["place_code"], out["address"] = (place, address) if kind == "onsite" else (None, None)
    if current is None:
        province = data.get("province_code") or None
        if province is not None:
            division = session.get(Division, province)
            if division is None or division.level != "province":
                errors.append(_err("province_code", "invalid", "主办省份应为省级区划代码，全国性活动留空",
                                   "The organising province must be a province code; leave it empty for a national "
                                   "event", province))
        out["province_code"] = province
    province = out.get("province_code") if current is None else current.province_code
    if province and kind == "onsite" and out.get("place_code") and out["place_code"][:2] != province[:2] \
            and not any(e.field in ("place_code", "province_code") for e in errors):
        errors.append(_err("place_code", "outside_province", "省级活动的举办地应在本省",
                           "A provincial event takes place in its province", out["place_code"]))
    for key in ("description", "organiser"):
        if given(key):
            value = str(data.get(key) or "").strip()
            out[key] = value if key == "description" else (value[:128] or None)
    if errors:
        raise ValidationFailed(errors)
    return out


def get_event(session: Session, event_id: str) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(en=f"No event {event_id}", zh="活动不存在", id=event_id)
    return event


def create_event(session: Session, data: Mapping[str, Any], actor: str) -> Event:
    event = Event(**clean_event(session, data), state="planned", created_by=actor, updated_by=actor)
    session.add(event)
    session.flush()
    return event


def _ensure_not_closed(event: Event, action: str) -> None:
    if event.state == "closed":
        raise EventStepRefused(event.state, action, [])


def update_event(session: Session, event: Event, data: Mapping[str, Any], actor: str) -> Event:
    _ensure_not_closed(event, "edit")
    for key, value in clean_event(session, data, event).items():
        setattr(event, key, value)
    event.updated_at, event.updated_by = utcnow(), actor
    session.flush()
    return event


def move_event(session: Session, event: Event, action: str, actor: str) -> Event:
    step = EVENT_STEPS.get(action)
    if step is None or event.state not in step.sources:
        raise EventStepRefused(event.state, action, [a for a, s in EVENT_STEPS.items() if event.state in s.sources])
    event.state, event.updated_at, event.updated_by = step.target, utcnow(), actor
    session.flush()
    return event


def showcase_result(session: Session, event: Event, result_id: str, actor: str, note: str | None = None
                    ) -> EventResult:
    """Add a published result to the event's showcase."""
    _ensure_not_closed(event, "showcase")
    result = session.get(Result, result_id)
    if result is None or result.state != "published":
        raise ValidationFailed([_err("result_id", "not_published", "只能展示已发布的成果",
                                     "Only published results can be showcased", result_id)])
    if session.get(EventResult, (event.id, result_id)) is not None:
        raise Conflict(en="The result is showcased already", zh="该成果已在本次活动展示", result_id=result_id)
    last = session.scalar(select(func.max(EventResult.position)).where(EventResult.event_id == event.id))
    row = EventResult(event_id=event.id, result_id=result_id, position=(last or 0) + 1,
                      note=(note or "").strip() or None, by=actor)
    session.add(row)
    session.flush()
    return row


def unshowcase_result(session: Session, event: Event, result_id: str) -> None:
    _ensure_not_closed(event, "unshowcase")
    row = session.get(EventResult, (event.id, result_id))
    if row is None:
        raise NotFound(en="The result is not showcased at this event", zh="该成果未在本次活动展示",
                       result_id=result_id)
    session.delete(row)
    session.flush()


def register_site(session: Session, event: Event, site_id: str, actor: str, via: str = "registered",
                  contact: str | None = None) -> EventSite:
    """A site takes part in the event (registered by itself, or invited by the organiser)."""
    _ensure_not_closed(event, "register")
    site = session.get(Site, site_id)
    if site is None or not site.active:
        raise ValidationFailed([_err("site_id", "unknown_site", "园区或县不存在或已不在名单中",
                                     "No such site, or it is no longer served", site_id)])
    if session.get(EventSite, (event.id, site_id)) is not None:
        raise Conflict(en="The site takes part already", zh="该园区或县已报名本次活动", site_id=site_id)
    row = EventSite(event_id=event.id, site_id=site_id, via=via, contact=(contact or "").strip()[:128] or None,
                    by=actor)
    session.add(row)
    session.flush()
    return row


def unregister_site(session: Session, event: Event, site_id: str) -> None:
    """Take a site off the event, unless it has registered intents there (they would lose their event)."""
    from catalog.intents import Intent

    _ensure_not_closed(event, "unregister")
    row = session.get(EventSite, (event.id, site_id))
    if row is None:
        raise NotFound(en="The site does not take part in this event", zh="该园区或县未报名本次活动",
                       site_id=site_id)
    held = session.scalar(select(func.count()).select_from(Intent).where(
        Intent.event_id == event.id, Intent.site_id == site_id)) or 0
    if held:
        raise Conflict(en=f"The site registered {held} intents at this event; drop them instead",
                       zh=f"该园区或县已在本次活动登记 {held} 项对接意向，不能取消报名", intents=held)
    session.delete(row)
    session.flush()


def event_results(session: Session, event_id: str) -> list[tuple[EventResult, Result]]:
    return [(er, r) for er, r in session.execute(
        select(EventResult, Result).join(Result, Result.id == EventResult.result_id)
        .where(EventResult.event_id == event_id).order_by(EventResult.position, Result.name))]


def event_sites(session: Session, event_id: str) -> list[tuple[EventSite, Site]]:
    return [(es, s) for es, s in session.execute(
        select(EventSite, Site).join(Site, Site.id == EventSite.site_id)
        .where(EventSite.event_id == event_id).order_by(Site.kind, Site.id))]


def event_counts(session: Session, event_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(results showcased, sites taking part) of each event, in two grouped queries for a page of events."""
    def per_event(column: Any) -> dict[str, int]:
        return dict(session.execute(select(column, func.count()).where(column.in_(event_ids))
                                    .group_by(column)).all())
    shown, sites = per_event(EventResult.event_id), per_event(EventSite.event_id)
    return {e: (shown.get(e, 0), sites.get(e, 0)) for e in event_ids}


def event_query(kind: str | None = None, state: str | None = None, province: str | None = None) -> Any:
    """Events, newest first; ``province`` "national" gives the national ones."""
    q = select(Event).order_by(Event.starts_on.desc(), Event.title)
    if kind:
        q = q.where(Event.kind == kind)
    if state:
        q = q.where(Event.state == state)
    if province == "national":
        q = q.where(Event.province_code.is_(None))
    elif province:
        q = q.where(Event.province_code == province)
    return q
