"""What an actor does with events and intents, checked and written in one call: the API, the pages and the demo
seed all come through here, so the rules of ``catalog.event_access`` apply on every path.

Each function flushes and never commits; a refusal raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from catalog import access
from catalog.access import Actor
from catalog.errors import NotFound
from catalog.event_access import (
    default_scope,
    ensure_can_create_event,
    ensure_can_register,
    ensure_event_manageable,
    ensure_intent_readable,
    ensure_intent_writable,
    ensure_speaks_for,
)
from catalog.events import (
    Event,
    EventResult,
    EventSite,
    create_event,
    get_event,
    move_event,
    register_site,
    showcase_result,
    unregister_site,
    unshowcase_result,
    update_event,
)
from catalog.intents import Intent, IntentStep, check_new_intent, create_intent, get_intent, move_intent
from catalog.sites import Site


def organise_event(session: Session, actor: Actor, data: Mapping[str, Any]) -> Event:
    data = dict(data)
    if "province_code" not in data:
        data["province_code"] = default_scope(actor)
    ensure_can_create_event(actor, data.get("province_code") or None)
    return create_event(session, data, actor.name)


def edit_event(session: Session, actor: Actor, event_id: str, data: Mapping[str, Any]) -> Event:
    event = ensure_event_manageable(actor, get_event(session, event_id))
    return update_event(session, event, data, actor.name)


def step_event(session: Session, actor: Actor, event_id: str, action: str) -> Event:
    event = ensure_event_manageable(actor, get_event(session, event_id))
    return move_event(session, event, action, actor.name)


def showcase(session: Session, actor: Actor, event_id: str, result_id: str, note: str | None = None
             ) -> EventResult:
    event = ensure_event_manageable(actor, get_event(session, event_id))
    return showcase_result(session, event, result_id, actor.name, note)


def unshowcase(session: Session, actor: Actor, event_id: str, result_id: str) -> None:
    event = ensure_event_manageable(actor, get_event(session, event_id))
    unshowcase_result(session, event, result_id)


def _site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(en=f"No site '{site_id}'", zh=f"园区或县“{site_id}”不存在", site_id=site_id)
    return site


def register(session: Session, actor: Actor, event_id: str, site_id: str, contact: str | None = None
             ) -> EventSite:
    """The site registers itself, or the organiser invites it."""
    event = get_event(session, event_id)
    site = session.get(Site, site_id)
    via = ensure_can_register(session, actor, event, site) if site is not None else "registered"
    return register_site(session, event, site_id, actor.name, via, contact)


def unregister(session: Session, actor: Actor, event_id: str, site_id: str) -> None:
    event = get_event(session, event_id)
    ensure_can_register(session, actor, event, _site(session, site_id))
    unregister_site(session, event, site_id)


def register_intent(session: Session, actor: Actor, data: Mapping[str, Any]) -> Intent:
    """A site's intent on a result (at an event or not): the site must be the actor's."""
    new = check_new_intent(session, data, lambda r: access.can_read(actor, r))
    ensure_speaks_for(session, actor, new.site)
    return create_intent(session, new, actor.name, data.get("on"), data.get("note"))


def read_intent(session: Session, actor: Actor, intent_id: str) -> Intent:
    return ensure_intent_readable(session, actor, get_intent(session, intent_id))


def step_intent(session: Session, actor: Actor, intent_id: str, data: Mapping[str, Any]) -> IntentStep:
    intent = ensure_intent_writable(session, actor, get_intent(session, intent_id))
    return move_intent(session, intent, data, actor.name)
