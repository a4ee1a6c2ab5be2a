"""Who reads and writes field records (plots and what is recorded on them), decided by the record's county.

An agent reads and writes its own county's records; county, city, province and ministry officers read the records
below them; nobody else reads any. As in ``catalog.access``: a record one may not read is not found (404, for
writes too), one readable but not writable is forbidden (403). Lists filter with :func:`readable_condition`, the
same rule in SQL. Importing a county's ledger (台账) is also the county officer's job, so :func:`can_import` adds
the county officer of that county to the writers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from catalog.access import OFFICER_ROLES, Actor
from catalog.errors import Forbidden, NotFound

_PREFIX = {"ministry_officer": 0, "province_officer": 2, "city_officer": 4, "county_officer": 6, "agent": 6}


def can_read(actor: Actor, county_code: str | None) -> bool:
    return actor.system or actor.covers_division(county_code, (*OFFICER_ROLES, "agent"))


def can_write(actor: Actor, county_code: str | None) -> bool:
    return actor.system or bool(county_code) and county_code in actor.scopes("agent")


def can_import(actor: Actor, county_code: str | None) -> bool:
    return can_write(actor, county_code) or bool(county_code) and county_code in actor.scopes("county_officer")


def readable_condition(actor: Actor, county_column: Any) -> ColumnElement[bool]:
    """SQL condition on a ``county_code`` column: the rows ``actor`` reads (the same rule as :func:`can_read`)."""
    if actor.system or actor.has("ministry_officer"):
        return true()
    clauses: list[ColumnElement[bool]] = []
    for g in actor.grants:
        n = _PREFIX.get(g.role)
        if not n or not g.scope:
            continue
        clauses.append(county_column == g.scope if n == 6 else county_column.startswith(g.scope[:n]))
    return or_(*clauses) if clauses else false()


def ensure_readable(actor: Actor, county_code: str | None, kind: str, record_id: str) -> None:
    if not can_read(actor, county_code):
        raise NotFound(en=f"No {kind} {record_id}", zh="记录不存在", id=record_id, type=kind)


def ensure_writable(actor: Actor, county_code: str | None, kind: str, record_id: str) -> None:
    """404 when ``actor`` may not read the record, 403 when it may read but not write it."""
    ensure_readable(actor, county_code, kind, record_id)
    if not can_write(actor, county_code):
        raise Forbidden(en="Only the county's agents change its field records",
                        zh="只有本县农技推广员可以修改本县的田间记录", id=record_id, type=kind)


def ensure_can_create(actor: Actor, county_code: str | None, kind: str) -> None:
    """A new record in a county: 403 for those who read it (officers), 404-like refusal for the rest."""
    if can_write(actor, county_code):
        return
    if can_read(actor, county_code):
        raise Forbidden(en="Only the county's agents record field data",
                        zh="只有本县农技推广员可以录入本县的田间记录", county=county_code, type=kind)
    raise Forbidden(en="You may record field data only in your own county", zh="只能录入本县的田间记录",
                    county=county_code, type=kind)
