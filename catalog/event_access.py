"""Who may do what with matchmaking events and intents: the one place where it is decided (beside
``catalog.access``, whose rules for results it reuses).

- Events are public: anyone reads every event, its showcased results and the sites taking part.
- The organiser manages an event (edit, open/close, showcase, invite sites): a ministry officer any event, a
  province officer the events of its province. Creating an event follows the same scope.
- A site is spoken for by its park manager (scope = the site's id) and by the county officer of a county the site
  lies in (a site division). They register the site for events, register its intents and move them.
- An intent is read by those who speak for its site, officers whose area holds the site (ministry; the province;
  a city holding one of the site's divisions), the holder of the intent's result, and its event's organiser.
  Nobody else learns it exists (404); a reader who may not move it gets 403; anonymous writes get 401 upstream.

Lists use :func:`intent_condition`, the same rule in SQL as :func:`can_read_intent`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from catalog.access import Actor, owns
from catalog.errors import Forbidden, NotFound
from catalog.events import Event
from catalog.intents import Intent
from catalog.results import Result
from catalog.sites import Site, SiteDivision, site_divisions

# --- events ------------------------------------------------------------------------------------------------


def can_organise(actor: Actor, province_code: str | None) -> bool:
    """Whether ``actor`` organises events of this scope (None = national)."""
    if actor.system or actor.has("ministry_officer"):
        return True
    return province_code is not None and any(
        s and s[:2] == province_code[:2] for s in actor.scopes("province_officer"))


def ensure_can_create_event(actor: Actor, province_code: str | None) -> None:
    if not can_organise(actor, province_code):
        raise Forbidden(en="Only the ministry organises national events, a province officer its province's",
                        zh="全国性活动由农业农村部组织，省级活动由本省管理员组织", province_code=province_code)


def ensure_event_manageable(actor: Actor, event: Event) -> Event:
    """Events are public (never 404 for their existence); managing one is the organiser's (403 for others)."""
    if not can_organise(actor, event.province_code):
        raise Forbidden(en="Only the event's organiser manages it", zh="只有活动主办方可以管理本次活动",
                        event_id=event.id)
    return event


def default_scope(actor: Actor) -> str | None:
    """The scope a new event gets when none is given: a province officer's province, else national."""
    if actor.has("ministry_officer") or actor.system:
        return None
    provinces = [s[:2] + "0000" for s in actor.scopes("province_officer") if s]
    return provinces[0] if provinces else None


# --- sites -------------------------------------------------------------------------------------------------


def speaks_for(session: Session, actor: Actor, site: Site) -> bool:
    """The park manager of the site, or the county officer of a county the site lies in."""
    if actor.system:
        return True
    if site.id in actor.scopes("park_manager"):
        return True
    counties = {s for s in actor.scopes("county_officer") if s}
    return bool(counties) and bool(counties & set(site_divisions(session, site.id)))


def sites_spoken_for(session: Session, actor: Actor) -> list[Site]:
    """The sites ``actor`` registers for events and moves intents of (empty for the system: it picks any)."""
    parks = [s for s in actor.scopes("park_manager") if s]
    counties = [s for s in actor.scopes("county_officer") if s]
    if not parks and not counties:
        return []
    ids = set(parks) | set(session.scalars(select(SiteDivision.site_id).where(
        SiteDivision.division_code.in_(counties))))
    return list(session.scalars(select(Site).where(Site.id.in_(ids), Site.active.is_(True)).order_by(Site.id)))


def ensure_speaks_for(session: Session, actor: Actor, site: Site) -> Site:
    if not speaks_for(session, actor, site):
        raise Forbidden(en="Only the site's park manager or county officer acts for it",
                        zh="只有该园区管理者或所在县的管理员可以代表其报名和登记意向", site_id=site.id)
    return site


def ensure_can_register(session: Session, actor: Actor, event: Event, site: Site) -> str:
    """How a site joins an event: 'registered' by itself or 'invited' by the organiser; 403 for anybody else."""
    if speaks_for(session, actor, site):
        return "registered"
    if can_organise(actor, event.province_code):
        return "invited"
    raise Forbidden(en="Only the site itself or the event's organiser registers a site",
                    zh="只有该园区或县本身、或活动主办方可以为其报名", site_id=site.id)


# --- intents -----------------------------------------------------------------------------------------------


def _officer_covers_site(session: Session, actor: Actor, site: Site) -> bool:
    if actor.has("ministry_officer"):
        return True
    if site.province_code and any(s and s[:2] == site.province_code[:2] for s in actor.scopes("province_officer")):
        return True
    cities = {s[:4] for s in actor.scopes("city_officer") if s}
    return bool(cities) and any(d[:4] in cities for d in site_divisions(session, site.id))


def can_read_intent(session: Session, actor: Actor, intent: Intent) -> bool:
    if actor.system:
        return True
    site = session.get(Site, intent.site_id)
    result = session.get(Result, intent.result_id)
    event = session.get(Event, intent.event_id) if intent.event_id else None
    return bool(
        (site is not None and (speaks_for(session, actor, site) or _officer_covers_site(session, actor, site)))
        or (result is not None and owns(actor, result))
        or (event is not None and actor.has("province_officer") and can_organise(actor, event.province_code)))


def intent_condition(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``Intent``: the intents ``actor`` reads (the same rule as :func:`can_read_intent`)."""
    if actor.system or actor.has("ministry_officer"):
        return true()
    clauses: list[ColumnElement[bool]] = []
    parks = [s for s in actor.scopes("park_manager") if s]
    if parks:
        clauses.append(Intent.site_id.in_(parks))
    counties = [s for s in actor.scopes("county_officer") if s]
    if counties:
        clauses.append(Intent.site_id.in_(select(SiteDivision.site_id).where(
            SiteDivision.division_code.in_(counties))))
    provinces = sorted({s[:2] for s in actor.scopes("province_officer") if s})
    for p in provinces:
        clauses.append(Intent.site_id.in_(select(Site.id).where(Site.province_code.startswith(p))))
        clauses.append(Intent.event_id.in_(select(Event.id).where(Event.province_code.startswith(p))))
    for c in sorted({s[:4] for s in actor.scopes("city_officer") if s}):
        clauses.append(Intent.site_id.in_(select(SiteDivision.site_id).where(
            SiteDivision.division_code.startswith(c))))
    institutions = [s for s in actor.scopes("result_holder") if s]
    if institutions:
        clauses.append(Intent.result_id.in_(select(Result.id).where(Result.lead_institution.in_(institutions))))
    return or_(*clauses) if clauses else false()


def ensure_intent_readable(session: Session, actor: Actor, intent: Intent) -> Intent:
    if not can_read_intent(session, actor, intent):
        raise NotFound(en=f"No intent {intent.id}", zh="对接意向不存在", id=intent.id)
    return intent


def ensure_intent_writable(session: Session, actor: Actor, intent: Intent) -> Intent:
    """404 when the actor may not read the intent, 403 when it reads but does not speak for the site."""
    ensure_intent_readable(session, actor, intent)
    site = session.get(Site, intent.site_id)
    if site is None or not speaks_for(session, actor, site):
        raise Forbidden(en="Only the site's park manager or county officer moves its intents",
                        zh="只有该园区管理者或所在县的管理员可以推进其对接意向", id=intent.id)
    return intent
