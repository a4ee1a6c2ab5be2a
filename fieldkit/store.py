"""The field kit's local SQLite store: the synced records in the catalog's own model classes, beside the
kit's outbox, meta (server, token, cursor, epoch), per-record sync state, conflicts, pulled listings and files.

Only the synced tables are created here (``create_all(tables=...)``); their foreign keys name server tables
(divisions, sites, results) the kit does not mirror, so the kit's connection leaves SQLite's foreign-key
enforcement off: pulled records arrive in any order and reference data lives on the server.

Every method of the sync interface (``sync.client.SyncStore``) is one local transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Engine,
    Integer,
    String,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, defer, mapped_column

from catalog.access import Actor
from catalog.audit import act_as
from catalog.db import UTCDateTime, utcnow
from catalog.field import SYNCED_MODELS, Synced
from catalog.models import Base  # every model module, so the synced tables' foreign keys resolve
from fieldkit import codec
from fieldkit.local_schema import add_missing_columns
from sync.client import PendingFile, SyncState
from sync.wire import SCHEMA as WIRE_SCHEMA  # the record schema this kit speaks (not the local file's)

SCHEMA = 1
LISTING_TYPES = ("result", "codelist", "code", "site", "division")


class KitBase(DeclarativeBase):
    """The kit's own tables (never on the server's ``Base``)."""


class Outbox(KitBase):
    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # send order
    mutation_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    op: Mapped[str] = mapped_column(String(16))
    base_version: Mapped[int | None] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Meta(KitBase):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class RecordState(KitBase):
    """What the kit last heard of a record: the version and epoch of the last answer or pulled copy."""

    __tablename__ = "record_state"

    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)
    epoch: Mapped[str | None] = mapped_column(String(64))
    mine: Mapped[bool] = mapped_column(Boolean, default=False)  # created or changed on this device
    # During a refetch: whether the server sent it, and the version it holds.
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    server_version: Mapped[int | None] = mapped_column(Integer)


class ConflictRecord(KitBase):
    """A server answer the agent should see: a conflict (both values) or a refusal."""

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # conflict | rejected
    type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(36))
    mutation_id: Mapped[str] = mapped_column(String(36), unique=True)
    conflict_id: Mapped[str | None] = mapped_column(Text)  # the server's conflict record ids
    mine: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    server: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    code: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Listing(KitBase):
    """Reference records pulled for offline reading (results, code lists, sites)."""

    __tablename__ = "listing"

    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text, default="")  # what offline search matches


class FileUpload(KitBase):
    __tablename__ = "file_upload"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    uploaded: Mapped[bool] = mapped_column(Boolean, default=False)


SYNCED_TABLES = [m.__table__ for m in SYNCED_MODELS.values()]  # type: ignore[attr-defined]
# The catalog's flush hooks run on every Session in the process (the audit log; the sync change log), so the kit
# holds their tables too: they then keep a local record of the agent's own writes instead of failing.
HOOK_TABLES = [Base.metadata.tables[n] for n in ("audit_entry", "sync_change") if n in Base.metadata.tables]


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # a laptop lid shut mid-sync must not lose a committed answer
    cur.close()


def search_text(record: dict[str, Any]) -> str:
    """The words offline search matches: every string value of the record, lowercased."""
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(record)
    return " ".join(parts).lower()


def _referrers_first(states: Iterable[RecordState]) -> list[RecordState]:
    """Each re-push goes in front of the ones queued before it, so queue a plot's yields and photos first: the
    plot then goes out before the records that name it (SYNCED_MODELS lists the referred types first)."""
    rank = {t: i for i, t in enumerate(SYNCED_MODELS)}
    return sorted(states, key=lambda st: -rank.get(st.type, len(rank)))


class Store:
    """One kit's SQLite file. ``session()`` opens one transaction; the sync methods each use their own."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._actor: Actor | None = None
        self.engine: Engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
        event.listen(self.engine, "connect", _pragmas)
        Base.metadata.create_all(self.engine, tables=SYNCED_TABLES + HOOK_TABLES)
        add_missing_columns(self.engine, SYNCED_TABLES)  # a kit set up before a column existed (review, 0007)
        KitBase.metadata.create_all(self.engine)
        with self.session() as s:
            if s.get(Meta, "schema") is None:
                s.add(Meta(key="schema", value=SCHEMA))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with act_as(Session(self.engine, expire_on_commit=False), self.actor()) as s, s.begin():
            yield s

    def actor(self) -> Actor:
        if self._actor is None:
            with Session(self.engine) as s:
                row = s.get(Meta, "username")
            name = str(row.value) if row is not None and row.value else "fieldkit"
            self._actor = Actor(name, channel="sync")
        return self._actor

    # --- meta ----------------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self.session() as s:
            row = s.get(Meta, key)
            return default if row is None else row.value

    def set_meta(self, **values: Any) -> None:
        with self.session() as s:
            for key, value in values.items():
                _set(s, key, value)
        self._actor = None  # the username may have changed

    # --- mutations (called by fieldkit.records inside its transaction) -------------------------------------

    @staticmethod
    def enqueue(s: Session, type_: str, record_id: str, op: str, fields: dict[str, Any]) -> Outbox:
        """Queue a mutation; an unsent one for the same record absorbs it (one mutation, one base version)."""
        state = s.get(RecordState, (type_, record_id))
        if state is None:
            state = RecordState(type=type_, record_id=record_id, version=None, epoch=None, mine=True)
            s.add(state)
        state.mine = True
        last = s.scalars(select(Outbox).where(Outbox.type == type_, Outbox.record_id == record_id)
                         .order_by(Outbox.seq.desc()).limit(1)).first()
        if last is not None and last.attempts == 0:
            if op == "delete" and last.op == "upsert" and state.version is None and \
                    not s.scalar(select(func.count()).select_from(Outbox).where(
                        Outbox.type == type_, Outbox.record_id == record_id, Outbox.seq != last.seq)):
                s.delete(last)  # born and deleted offline: the server never needs to hear of it
                return last
            if last.op == "upsert":
                last.op = op
                last.fields = {**last.fields, **fields} if op == "upsert" else {}
                return last
        base = state.version
        if last is not None:
            base = last.base_version  # chained on an unanswered mutation: rebased when its answer arrives
        row = Outbox(seq=_next_seq(s), mutation_id=str(uuid.uuid4()), type=type_, record_id=record_id, op=op,
                     base_version=base, fields=fields, attempts=0)
        s.add(row)
        return row

    # --- sync.client.SyncStore -----------------------------------------------------------------------------

    def state(self) -> SyncState:
        with self.session() as s:
            return SyncState(_get(s, "cursor", ""), _get(s, "epoch"), bool(_get(s, "refetching", False)))

    def pending_count(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(Outbox)) or 0)

    def next_batch(self, limit: int) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(select(Outbox).order_by(Outbox.seq).limit(limit)).all()
            batch: list[Outbox] = []
            seen: set[tuple[str, str]] = set()
            for row in rows:
                key = (row.type, row.record_id)
                if key in seen:
                    break  # its base version depends on the answer to the one before: next batch
                seen.add(key)
                batch.append(row)
            if batch:  # one statement, not an update of each row through the unit of work; the rows loaded
                # here are not read again (their ``attempts`` stays stale in this session): no synchronising
                s.execute(update(Outbox).where(Outbox.seq.in_([r.seq for r in batch]))
                          .values(attempts=Outbox.attempts + 1), execution_options={"synchronize_session": False})
            return [{"mutation_id": r.mutation_id, "type": r.type, "id": r.record_id, "op": r.op,
                     "base_version": r.base_version, "fields": r.fields, "schema": WIRE_SCHEMA} for r in batch]

    def apply_answers(self, mutations: list[dict[str, Any]], answers: list[dict[str, Any]], epoch: str | None
                      ) -> None:
        with self.session() as s:
            epoch = epoch or _get(s, "epoch")
            ids = [m["mutation_id"] for m in mutations]
            # without their fields (a plot's whole boundary, as JSON): only a conflict reads them, one at a time
            rows = {r.mutation_id: r for r in s.scalars(select(Outbox).options(defer(Outbox.fields))
                                                        .where(Outbox.mutation_id.in_(ids)))}
            conflicted = {(rows[m["mutation_id"]].type, rows[m["mutation_id"]].record_id)
                          for m, a in zip(mutations, answers, strict=True)
                          if m["mutation_id"] in rows and _status(a) == "conflict"}
            batch = _Answered.load(s, list(rows.values()), conflicted)
            answered: list[Outbox] = []
            for m, a in zip(mutations, answers, strict=True):
                row = rows.pop(m["mutation_id"], None)
                if row is None:
                    continue  # answered before (a repeated batch)
                self._apply_answer(s, row, a, epoch, batch)
                batch.queued[(row.type, row.record_id)].remove(row)
                answered.append(row)
            if answered:  # one statement, not a DELETE of each row through the unit of work (what changed in the
                # session, a rebase of a row among them included, is flushed before it: autoflush)
                s.execute(delete(Outbox).where(Outbox.seq.in_([r.seq for r in answered])),
                          execution_options={"synchronize_session": False})
            batch.write_versions(s)
            _set(s, "last_push", utcnow().isoformat())

    def _apply_answer(self, s: Session, row: Outbox, a: dict[str, Any], epoch: str | None, batch: _Answered
                      ) -> None:
        if a.get("status") == "duplicate" and isinstance(a.get("original"), dict):
            a = a["original"]  # what the first, lost, answer said: a conflict must still be recorded here
        status = a.get("status")
        key = (row.type, row.record_id)
        state = batch.states.get(key)
        if state is None:
            state = batch.states[key] = RecordState(type=row.type, record_id=row.record_id, mine=True)
            s.add(state)
        version = a.get("version")
        if status == "rejected" and row.op == "delete" and a.get("code") == "not_found":
            return  # already gone there (a restored server that never heard of it): the intent holds
        if status == "rejected":
            s.add(ConflictRecord(kind="rejected", type=row.type, record_id=row.record_id,
                                 mutation_id=row.mutation_id, mine=row.fields, code=a.get("code"),
                                 field=a.get("field"), message=_message(a.get("message"))))
            return
        if status == "conflict":
            server = dict(a.get("fields") or {})
            mine = {k: v for k, v in row.fields.items() if k in server} or dict(row.fields)
            if not s.scalar(select(ConflictRecord.id).where(ConflictRecord.mutation_id == row.mutation_id)):
                s.add(ConflictRecord(kind="conflict", type=row.type, record_id=row.record_id,
                                     mutation_id=row.mutation_id,
                                     conflict_id=",".join(a.get("conflict_ids") or []) or _str(a.get("conflict_id")),
                                     mine=mine, server=server))
            obj = batch.records.get(key)
            if obj is not None:
                later: dict[str, Any] = {}
                for r in batch.queued[key]:
                    if r.seq > row.seq:
                        later.update(r.fields)
                codec.set_fields(row.type, obj, {k: v for k, v in server.items() if k not in later})
                if a.get("deleted"):
                    obj.deleted = True  # an edit of a record deleted meanwhile: it stays deleted
        if isinstance(version, int):
            # Later mutations of this record were made on top of this one: they build on its answer.
            for later_row in batch.queued[key]:
                if later_row.seq > row.seq and later_row.base_version == row.base_version:
                    later_row.base_version = version
            if state.version is None or version >= state.version or state.epoch != epoch:
                state.version, state.epoch = version, epoch
            obj = batch.records.get(key)
            if obj is None:
                batch.versions[key] = max(version, batch.versions.get(key, 0))
            elif (obj.version or 0) < version:
                obj.version = version

    @staticmethod
    def _pending_fields(s: Session, type_: str, record_id: str, after: int | None = None) -> dict[str, Any]:
        q = select(Outbox).where(Outbox.type == type_, Outbox.record_id == record_id).order_by(Outbox.seq)
        if after is not None:
            q = q.where(Outbox.seq > after)
        out: dict[str, Any] = {}
        for r in s.scalars(q):
            out.update(r.fields)
        return out

    def apply_page(self, changes: list[dict[str, Any]], cursor: str, epoch: str) -> None:
        with self.session() as s:
            refetching = bool(_get(s, "refetching", False))
            for c in changes:
                if c["type"] in SYNCED_MODELS:
                    self._apply_record(s, c, epoch, refetching)
                else:
                    self._apply_listing(s, c)
            _set(s, "cursor", cursor)
            _set(s, "epoch", epoch)
            _set(s, "last_pull", utcnow().isoformat())

    def _apply_record(self, s: Session, c: dict[str, Any], epoch: str, refetching: bool) -> None:
        type_, rid, op = c["type"], str(c["id"]), c["op"]
        version = c.get("version")
        model = codec.model_of(type_)
        state = s.get(RecordState, (type_, rid))
        if refetching and state is not None and op != "out_of_scope":
            state.seen, state.server_version = True, version
        pending = self._pending_fields(s, type_, rid)
        ops = set(s.scalars(select(Outbox.op).where(Outbox.type == type_, Outbox.record_id == rid)))
        has_pending = bool(ops)
        obj = s.get(model, rid)
        if state is not None and state.version is not None and isinstance(version, int) and \
                version < state.version:
            if state.epoch == epoch or (state.mine and refetching):
                return  # older than what we heard (or a restored server's older copy, re-pushed after)
        if op == "out_of_scope":
            if obj is not None and not has_pending:
                s.delete(obj)
                if state is not None and not state.mine:
                    s.delete(state)
            return
        if obj is None:
            if op == "delete":
                return  # a tombstone of a record this device never had
            obj = model(id=rid)
            s.add(obj)
        if op == "delete":
            obj.deleted = True
        else:
            # The server's copy, with this device's unsent edits kept on top of it.
            codec.set_fields(type_, obj, {k: v for k, v in (c.get("record") or {}).items() if k not in pending})
            if "delete" in ops:
                obj.deleted = True
        if isinstance(version, int):
            obj.version = version
            if state is None:
                state = RecordState(type=type_, record_id=rid, mine=False, seen=refetching, server_version=version)
                s.add(state)
            if state.version is None or version >= state.version or state.epoch != epoch:
                state.version, state.epoch = version, epoch
        s.flush()

    @staticmethod
    def _apply_listing(s: Session, c: dict[str, Any]) -> None:
        key = (c["type"], str(c["id"]))
        row = s.get(Listing, key)
        if c["op"] in ("delete", "out_of_scope"):
            if row is not None:
                s.delete(row)
            return
        record = c.get("record") or {}
        if row is None:
            s.add(Listing(type=key[0], record_id=key[1], version=c.get("version"), record=record,
                          text=search_text(record)))
        else:
            row.version, row.record, row.text = c.get("version"), record, search_text(record)

    def start_refetch(self) -> None:
        with self.session() as s:
            _set(s, "cursor", "")
            _set(s, "refetching", True)
            for st in s.scalars(select(RecordState)):
                st.seen, st.server_version = False, None
            s.execute(delete(Listing))  # listings come again in full; what is gone must go

    def finish_refetch(self, epoch: str) -> int:
        """Queue, in front of the outbox, every own record the new server lacks or holds older."""
        requeued = 0
        with self.session() as s:
            front = (s.scalar(select(func.min(Outbox.seq))) or 1) - 1
            pending = {(t, r) for t, r in s.execute(select(Outbox.type, Outbox.record_id))}
            for st in s.scalars(select(RecordState).where(RecordState.mine.is_(False),
                                                          RecordState.seen.is_(False))).all():
                if (st.type, st.record_id) not in pending:
                    # Gone from the server (or from this device's scope): the copy here goes too.
                    obj = s.get(codec.model_of(st.type), st.record_id)
                    if obj is not None:
                        s.delete(obj)
                    s.delete(st)
            for st in _referrers_first(s.scalars(select(RecordState).where(RecordState.mine.is_(True))).all()):
                if st.version is None:
                    continue  # never answered: still in the outbox
                if st.seen and st.server_version is not None and st.server_version >= st.version:
                    st.epoch = epoch
                    continue  # the server holds what this device last heard, or newer
                obj = s.get(codec.model_of(st.type), st.record_id)
                if obj is None:
                    continue
                base = st.server_version if st.seen else None
                if obj.deleted:
                    if base is None:
                        continue  # deleted here and unknown there: nothing to restore
                    op, fields = "delete", {}
                else:
                    op, fields = "upsert", codec.record_fields(st.type, obj)
                s.add(Outbox(seq=front, mutation_id=str(uuid.uuid4()), type=st.type, record_id=st.record_id,
                             op=op, base_version=base, fields=fields, attempts=0))
                for later in s.scalars(select(Outbox).where(Outbox.type == st.type,
                                                            Outbox.record_id == st.record_id,
                                                            Outbox.seq > front)):
                    later.base_version = base  # rebased on the re-push's answer
                front -= 1
                st.version, st.epoch = base, epoch
                requeued += 1
            _set(s, "refetching", False)
        return requeued

    def pending_files(self) -> list[PendingFile]:
        with self.session() as s:
            return [PendingFile(f.sha256, Path(f.path), f.size)
                    for f in s.scalars(select(FileUpload).where(FileUpload.uploaded.is_(False)))]

    def file_uploaded(self, sha256: str) -> None:
        with self.session() as s:
            row = s.get(FileUpload, sha256)
            if row is not None:
                row.uploaded = True

    # --- reading -------------------------------------------------------------------------------------------

    def conflicts(self) -> list[ConflictRecord]:
        with self.session() as s:
            return list(s.scalars(select(ConflictRecord).order_by(ConflictRecord.id)))

    def outbox(self) -> list[Outbox]:
        with self.session() as s:
            return list(s.scalars(select(Outbox).order_by(Outbox.seq)))

    def records(self, type_: str, *, include_deleted: bool = False) -> list[Synced]:
        model = codec.model_of(type_)
        with self.session() as s:
            q = select(model)
            if not include_deleted:
                q = q.where(model.deleted.is_(False))
            return list(s.scalars(q))


@dataclass
class _Answered:
    """What a batch of answers touches, read in a few queries: the records' sync states, every queued mutation
    of those records (in send order), and the records themselves only where an answer is a conflict (its server
    values are written into them). The other records just take their new version, in one UPDATE per type at the
    end (:meth:`write_versions`): loading a plot through the ORM for that was most of a push's cost on the kit."""

    states: dict[tuple[str, str], RecordState]
    queued: dict[tuple[str, str], list[Outbox]]
    records: dict[tuple[str, str], Synced]
    versions: dict[tuple[str, str], int]

    @classmethod
    def load(cls, s: Session, rows: list[Outbox], conflicted: set[tuple[str, str]]) -> _Answered:
        keys = {(r.type, r.record_id) for r in rows}
        by_type: dict[str, set[str]] = defaultdict(set)
        for type_, rid in keys:
            by_type[type_].add(rid)
        states: dict[tuple[str, str], RecordState] = {}
        queued: dict[tuple[str, str], list[Outbox]] = defaultdict(list)
        records: dict[tuple[str, str], Synced] = {}
        for type_, rids in by_type.items():
            for st in s.scalars(select(RecordState).where(RecordState.type == type_,
                                                          RecordState.record_id.in_(rids))):
                states[(st.type, st.record_id)] = st
            for r in s.scalars(select(Outbox).options(defer(Outbox.fields))
                               .where(Outbox.type == type_, Outbox.record_id.in_(rids)).order_by(Outbox.seq)):
                queued[(r.type, r.record_id)].append(r)
            wanted = sorted(rid for rid in rids if (type_, rid) in conflicted)
            if wanted:
                model = codec.model_of(type_)
                for obj in s.scalars(select(model).where(model.id.in_(wanted))):
                    records[(type_, str(obj.id))] = obj
        return cls(states, queued, records, {})

    def write_versions(self, s: Session) -> None:
        """The new versions of the records not loaded, never lowering one (a later pull may be ahead)."""
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (type_, rid), version in self.versions.items():
            by_type[type_].append({"rid": rid, "v": version})
        for type_, params in by_type.items():
            table = codec.model_of(type_).__table__
            s.execute(update(table).where(table.c.id == bindparam("rid"),
                                          or_(table.c.version.is_(None), table.c.version < bindparam("v")))
                      .values(version=bindparam("v")), params)


def _status(answer: dict[str, Any]) -> Any:
    """An answer's status, a ``duplicate`` read as the answer it repeats."""
    if answer.get("status") == "duplicate" and isinstance(answer.get("original"), dict):
        return answer["original"].get("status")
    return answer.get("status")


def _next_seq(s: Session) -> int:
    return int(s.scalar(select(func.max(Outbox.seq))) or 0) + 1


def _get(s: Session, key: str, default: Any = None) -> Any:
    row = s.get(Meta, key)
    return default if row is None else row.value


def _set(s: Session, key: str, value: Any) -> None:
    row = s.get(Meta, key)
    if row is None:
        s.add(Meta(key=key, value=value))
    else:
        row.value = value


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _message(m: Any) -> str | None:
    if isinstance(m, dict):
        return " / ".join(str(m[k]) for k in ("zh", "en") if m.get(k))
    return None if m is None else str(m)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
