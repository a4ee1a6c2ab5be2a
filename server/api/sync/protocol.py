"""The protocol's pieces put together: ``catalog.sync_server`` (the records) with ``sync`` (cursor codec, merge
rule, wire shapes), which ``catalog`` may not import."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from catalog import sync_server
from catalog.access import Actor
from catalog.sync_server import Refetch
from sync import cursor as cursors
from sync.merge import merge
from sync.wire import SCHEMA, Answer, Change, Mutation, PullPage, record_for_schema


def pull_page(session: Session, actor: Actor, cursor_text: str, limit: int, schema: int = SCHEMA) -> PullPage:
    """A page of changes as a kit speaking ``schema`` reads them (fields of later schemas left out)."""
    try:
        cur = cursors.decode(cursor_text)
    except cursors.BadCursor:
        raise Refetch(en="The cursor is not one this server made: download your scope again") from None
    got = sync_server.pull(session, actor, (cur.epoch, cur.xid, cur.seq) if cur else None, limit)
    cursor = cursors.encode(cursors.Cursor(got.epoch, got.horizon, got.xid, got.seq))
    changes = [Change.from_json({**c, "record": record_for_schema(c["type"], c.get("record"), schema)})
               if c.get("record") is not None else Change.from_json(c) for c in got.changes]
    return PullPage(got.epoch, changes, cursor, got.has_more)


def push_batch(session: Session, actor: Actor, mutations: Sequence[Mutation], min_schema: int = 1) -> list[Answer]:
    answers = sync_server.push(session, actor, mutations, merge, (min_schema, SCHEMA))
    return [Answer.from_json(a) for a in answers]
