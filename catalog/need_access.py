"""Who posts, reads and changes needs: the one place for needs, next to ``catalog.access``.

- Posting and changing a need: the park manager of the need's park (scope = the park's site id), or a county
  officer of the county the site is (its place code; parks named after a prefecture have no county officer
  here). The operator (system) may do anything.
- Reading: every signed-in account reads open and matched needs (holders look for sites to serve, that is the
  point of posting); closed needs only the site's own posters and the officers whose scope covers the site's
  place (ministry: all; province/city/county: by division code prefix).
- Anonymous visitors read no needs: every needs endpoint asks to sign in first (401).

A need one may not read answers 404, for writes too; readable but not writable answers 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from catalog.access import OFFICER_ROLES, Actor
from catalog.errors import Forbidden, NotFound
from catalog.needs import Need
from catalog.sites import Site, get_site

PUBLIC_STATES = ("open", "matched")
_PREFIX = {"province_officer": 2, "city_officer": 4, "county_officer": 6}


def can_post_for(actor: Actor, site: Site) -> bool:
    if actor.system:
        return True
    if site.id in actor.scopes("park_manager"):
        return True
    return bool(site.place_code) and site.place_code in actor.scopes("county_officer")


def _oversees(actor: Actor, site: Site) -> bool:
    code = site.place_code or site.province_code
    return actor.has("ministry_officer") or actor.covers_division(code, OFFICER_ROLES)


def reads_open_needs(actor: Actor) -> bool:
    """Open (and matched) needs: every signed-in account, and the operator."""
    return actor.authenticated


def can_read_need(actor: Actor, need: Need, site: Site) -> bool:
    if can_post_for(actor, site) or _oversees(actor, site):
        return True
    return reads_open_needs(actor) and need.state in PUBLIC_STATES


def ensure_need_readable(session: Session, actor: Actor, need: Need | None, need_id: str) -> Need:
    site = session.get(Site, need.site_id) if need is not None else None
    if need is None or site is None or not can_read_need(actor, need, site):
        raise NotFound(en=f"No need {need_id}", zh="需求不存在", id=need_id)
    return need


def ensure_need_writable(session: Session, actor: Actor, need: Need | None, need_id: str) -> Need:
    need = ensure_need_readable(session, actor, need, need_id)
    if not can_post_for(actor, get_site(session, need.site_id)):
        raise Forbidden(en="Only the site's park manager or county officer changes its needs",
                        zh="只有本园区管理者或本县管理员可以修改该需求")
    return need


def ensure_can_post(actor: Actor, site: Site) -> None:
    if not can_post_for(actor, site):
        raise Forbidden(en=f"You may not post needs for {site.name}", zh=f"您无权为“{site.name}”发布需求",
                        site_id=site.id)


def postable_sites(session: Session, actor: Actor) -> list[Site]:
    """The sites ``actor`` may post needs for (for the new-need form)."""
    if actor.system:
        return []
    parks = [s for s in actor.scopes("park_manager") if s]
    counties = [s for s in actor.scopes("county_officer") if s]
    if not parks and not counties:
        return []
    query = select(Site).where(or_(Site.id.in_(parks), Site.place_code.in_(counties))).order_by(Site.id)
    return list(session.scalars(query))


def need_scope(actor: Actor) -> ColumnElement[bool]:
    """The SQL filter of the needs ``actor`` reads (open and matched ones, plus closed ones it oversees)."""
    if not actor.authenticated:
        return false()
    if actor.system or actor.has("ministry_officer"):
        return true()
    clauses: list[ColumnElement[bool]] = [Need.state.in_(PUBLIC_STATES)]
    parks = [s for s in actor.scopes("park_manager") if s]
    if parks:
        clauses.append(Need.site_id.in_(parks))
    for g in actor.grants:
        if g.role in _PREFIX and g.scope:
            prefix = g.scope[:_PREFIX[g.role]]
            places = select(Site.id).where(or_(Site.place_code.startswith(prefix),
                                               Site.place_code.is_(None) & Site.province_code.startswith(prefix)))
            clauses.append(Need.site_id.in_(places))
    return or_(*clauses)
