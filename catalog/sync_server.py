"""The server's half of sync protocol v1 (docs/sync.md): pull by cursor within a device's scope, push of
mutation batches with one answer each, conflict records, epoch and refetch.

The device's scope comes from its actor (its agent's counties), never from the request. Push applies each
mutation all or nothing (an edit in its own savepoint, a new record checked in full before it is written), so
one bad record never blocks the rest; a ``mutation_id`` seen before answers
``duplicate`` with the stored answer and writes nothing. Records are written through rules — a ``clean``
(validate plain wire values, raise ``ValidationFailed``) and an ``apply`` (write them) per record type — so the
same validation serves the API, the importer and sync.

``catalog`` does not import ``sync`` (DESIGN.md: imports run one way), so the wire shapes are plain dicts here
and the protocol's merge rule (``sync.merge.merge``) and cursor codec are passed in by the server.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import shapely
from shapely.geometry import mapping
from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog import changelog, field_access, field_rules
from catalog import review as yield_review
from catalog.access import Actor
from catalog.audit import acting_as
from catalog.changelog import ChangeLog
from catalog.codelists import Code, CodeList
from catalog.db import Base, UTCDateTime, is_postgres, new_id, timestamp
from catalog.deferred_logs import Pending, deferred_logs
from catalog.divisions import Division
from catalog.errors import CatalogError, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from catalog.field import SYNCED_MODELS, DemoPlot, Synced, YieldMeasurement
from catalog.privacy import contact_phone
from catalog.results import DIMENSIONS, Result
from catalog.sites import Site

# Columns devices never write (the server keeps them); ``deleted`` travels as the ``delete`` op.
SERVER_KEPT = frozenset({"id", "version", "field_versions", "deleted", "created_at", "updated_at", "created_by",
                         "updated_by", "flags"})


class Refetch(CatalogError):
    """The cursor is from another epoch, or older than the log kept: download the whole scope again."""

    code = "refetch"
    zh = "同步位置已失效，请重新下载本县数据"
    en = "The cursor is no longer valid: download your scope again"


class ServerState(Base):
    """One row: the server's epoch (changed on restore) and how far tombstones were trimmed."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[str] = mapped_column(String(40))
    trimmed_xid: Mapped[int] = mapped_column(BigInteger, default=0)
    trimmed_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[timestamp]


class AppliedMutation(Base):
    """Each mutation answered, so a repeat gets the same answer and nothing is written twice."""

    __tablename__ = "sync_applied"

    mutation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_id: Mapped[str | None] = mapped_column(String(36), index=True)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[timestamp]


class SyncConflict(Base):
    """A device's value that the server did not take (the field changed on the server meanwhile, or the record was
    deleted): both values kept for review, shown to the agent."""

    __tablename__ = "sync_conflict"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    field: Mapped[str] = mapped_column(String(64))
    device_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    server_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    base_version: Mapped[int | None] = mapped_column(Integer)
    server_version: Mapped[int] = mapped_column(Integer)
    mutation_id: Mapped[str] = mapped_column(String(36))
    token_id: Mapped[str | None] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)
    created_at: Mapped[timestamp]
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(64))


# --- epoch ---------------------------------------------------------------------------------------------------


def server_state(session: Session) -> ServerState:
    state = session.get(ServerState, 1)
    if state is None:
        values = {"id": 1, "epoch": secrets.token_hex(8), "trimmed_xid": 0, "trimmed_seq": 0, "backfilled": False}
        if is_postgres(session.get_bind()):  # two first requests at once: one row all the same
            session.execute(pg_insert(ServerState).values(**values).on_conflict_do_nothing())
        else:
            session.execute(insert(ServerState).prefix_with("OR IGNORE").values(**values))
        state = session.get(ServerState, 1)
        assert state is not None
    return state


def new_epoch(session: Session) -> str:
    """Start a new epoch (after restoring a backup): every device's cursor is refused and it refetches."""
    state = server_state(session)
    state.epoch = secrets.token_hex(8)
    state.changed_at = dt.datetime.now(dt.UTC)
    session.flush()
    return state.epoch


def ensure_backfilled(session: Session) -> int:
    """Log the records loaded before the log existed, once (see :func:`catalog.changelog.backfill`)."""
    state = server_state(session)
    if state.backfilled:
        return 0
    written = changelog.backfill(session)
    state.backfilled = True
    session.flush()
    return written


def trim_log(session: Session, keep_days: int) -> int:
    """Drop tombstones older than ``keep_days``; cursors from before them will be told to refetch."""
    count, last = changelog.trim(session, dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days))
    if last is not None:
        state = server_state(session)
        if last > (state.trimmed_xid, state.trimmed_seq):
            state.trimmed_xid, state.trimmed_seq = last
        session.flush()
    return count


# --- scope ---------------------------------------------------------------------------------------------------


def device_counties(actor: Actor) -> list[str]:
    return sorted({s for s in actor.scopes("agent") if s})


def device_scopes(actor: Actor) -> list[str]:
    counties = device_counties(actor)
    return changelog.scopes_of_counties(counties) if counties else []


# --- wire values ---------------------------------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    if isinstance(value, shapely.Geometry):
        return mapping(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [to_wire(v) for v in value]
    return value


def record_of(obj: Synced) -> dict[str, Any]:
    """A synced record as devices receive it (``field_versions`` stay on the server)."""
    return {c.key: to_wire(getattr(obj, c.key)) for c in inspect(obj).mapper.column_attrs
            if c.key != "field_versions"}


def result_listing(actor: Actor, r: Result) -> dict[str, Any]:
    """A listed result as the field kit shows it offline (the contact phone as the agent may see it)."""
    out = {c: to_wire(getattr(r, c)) for c in (
        "id", "name", "summary", "keywords", "institutions", "trl", "stage", "form", "ip", "key_figures",
        "transfer_terms", "contact_name", "contact_email", "source", "source_province", "list_batch", "version",
        "updated_at")}
    out["contact_phone"] = contact_phone(actor, r)
    out["codes"] = {dim: r.codes_of(dim) for dim in DIMENSIONS}
    out["regions"] = r.region_codes
    return out


def code_list_of(cl: CodeList, codes: list[Code]) -> dict[str, Any]:
    return {"id": cl.id, "name_zh": cl.name_zh, "name_en": cl.name_en, "version": cl.version,
            "codes": [{"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en, "parent_code": c.parent_code,
                       "sort": c.sort, "retired_in": c.retired_in} for c in codes]}


def site_of(s: Site) -> dict[str, Any]:
    return {c: getattr(s, c) for c in ("id", "list_id", "kind", "name", "province_code", "place_code", "batch",
                                       "status", "active")}


# --- pull ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullResult:
    epoch: str
    changes: list[dict[str, Any]]
    horizon: int   # the snapshot's xmin (0 on SQLite)
    xid: int       # the position after the page
    seq: int
    has_more: bool


def pull(session: Session, actor: Actor, cursor: tuple[str, int, int] | None, limit: int) -> PullResult:
    """The changes in ``actor``'s scope after ``cursor`` (epoch, xid, seq; None: from the start), at most
    ``limit``. Raises :class:`Refetch` for another epoch's cursor or one older than the trimmed log."""
    state = server_state(session)
    if cursor is not None and cursor[0] != state.epoch:
        raise Refetch(en="The server was restored (a new epoch): download your scope again",
                      zh="服务器数据已恢复，请重新下载本县数据", epoch=state.epoch)
    if cursor is not None and cursor[1:] < (state.trimmed_xid, state.trimmed_seq):
        raise Refetch(en="The cursor is older than the change log kept: download your scope again",
                      zh="同步位置过旧，请重新下载本县数据", epoch=state.epoch)
    scopes = device_scopes(actor)
    after = (cursor[1], cursor[2]) if cursor is not None else (-1, -1)
    rows, top, has_more = changelog.read(session, scopes, after, limit) if scopes else ([], 0, False)
    changes = _render(session, actor, set(scopes), rows)
    last = (rows[-1].xid, rows[-1].seq) if rows else (max(after[0], 0), max(after[1], 0))
    return PullResult(state.epoch, changes, top if top < 2 ** 62 else 0, last[0], last[1], has_more)


def _change(rtype: str, rid: str, op: str, version: int, record: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": rtype, "id": rid, "op": op, "version": version}
    if record is not None:
        out["record"] = record
    return out


def _render(session: Session, actor: Actor, scopes: set[str], rows: list[ChangeLog]) -> list[dict[str, Any]]:
    ids: dict[str, set[str]] = {}
    for row in rows:
        if row.op == "upsert":
            ids.setdefault(row.type, set()).add(row.record_id)
    loaded: dict[tuple[str, str], Any] = {}
    for rtype, wanted in ids.items():
        found: Iterable[Any]
        if rtype in SYNCED_MODELS:
            model = SYNCED_MODELS[rtype]
            found = session.scalars(select(model).where(model.id.in_(wanted)))  # type: ignore[attr-defined]
        elif rtype == "result":
            found = session.scalars(select(Result).where(Result.id.in_(wanted)))
        elif rtype == "site":
            found = session.scalars(select(Site).where(Site.id.in_(wanted)))
        else:
            found = session.scalars(select(CodeList).where(CodeList.id.in_(wanted)))
        loaded.update({(rtype, str(o.id)): o for o in found})
    codes: dict[str, list[Code]] = {}
    if "code_list" in ids:
        for c in session.scalars(select(Code).where(Code.list_id.in_(ids["code_list"]))
                                 .order_by(Code.list_id, Code.sort, Code.code)):
            codes.setdefault(c.list_id, []).append(c)
    out = []
    for row in rows:
        if row.op != "upsert":
            out.append(_change(row.type, row.record_id, row.op, row.version))
            continue
        obj = loaded.get((row.type, row.record_id))
        change = _upsert(actor, scopes, row, obj, codes)
        out.append(change)
    return out


def _upsert(actor: Actor, scopes: set[str], row: ChangeLog, obj: Any, codes: Mapping[str, list[Code]]
            ) -> dict[str, Any]:
    # The record as it is now: it may have left the device's scope since this row was written (its own row
    # saying so comes later); the device never receives what it may no longer see.
    if obj is None:
        return _change(row.type, row.record_id, "delete", row.version)
    if isinstance(obj, Synced):
        county: str = getattr(obj, "county_code")  # noqa: B009
        if changelog.county_scope(county) not in scopes:
            return _change(row.type, row.record_id, "out_of_scope", obj.version)
        if obj.deleted:
            return _change(row.type, row.record_id, "delete", obj.version)
        return _change(row.type, row.record_id, "upsert", obj.version, record_of(obj))
    if isinstance(obj, Result):
        if changelog.result_scope(obj.state, obj.source, obj.source_province) not in scopes:
            return _change(row.type, row.record_id, "out_of_scope", obj.version)
        return _change("result", obj.id, "upsert", obj.version, result_listing(actor, obj))
    if isinstance(obj, Site):
        if changelog.site_scope(obj.province_code) not in scopes:
            return _change(row.type, row.record_id, "out_of_scope", 1)
        return _change("site", obj.id, "upsert", 1, site_of(obj))
    return _change("code_list", obj.id, "upsert", obj.version, code_list_of(obj, list(codes.get(obj.id, []))))


# --- rules ---------------------------------------------------------------------------------------------------

# normalise(session, actor, record, wire fields) → the fields as the server would store them (to compare with the
# record before merging); raises ValidationFailed.
Normalise = Callable[[Session, Actor, Synced, dict[str, Any]], dict[str, Any]]
# write(session, actor, record id, wire fields, new) → the record created or edited (only the given fields),
# flushed; raises ValidationFailed, NotFound (unreadable), Forbidden (not writable). ``new``: the batch's locking
# read found no such record, so the writer need not look again.
Write = Callable[[Session, Actor, str, dict[str, Any], bool], Synced]
Rules = Mapping[str, tuple[Normalise, Write]]

_CLEAN: dict[str, Callable[..., tuple[dict[str, Any], list[FieldError]]]] = {
    "plot": field_rules.clean_plot, "yield": field_rules.clean_yield, "observation": field_rules.clean_observation,
    "soil_sample": field_rules.clean_soil_sample, "photo": field_rules.clean_photo}


def _normaliser(kind: str) -> Normalise:
    def normalise(session: Session, actor: Actor, record: Synced, fields: dict[str, Any]) -> dict[str, Any]:
        data = {**fields, "id": getattr(record, "id")}  # noqa: B009
        if kind == "plot":
            assert isinstance(record, DemoPlot)
            values, errors = field_rules.clean_plot(session, data, True, current=record)
        else:
            plot = session.get(DemoPlot, getattr(record, "plot_id"))  # noqa: B009
            values, errors = _CLEAN[kind](session, data, True, current=record, plot=plot)
        if errors:
            raise ValidationFailed(errors)
        return values

    return normalise


def _writer(kind: str) -> Write:
    def write(session: Session, actor: Actor, rid: str, fields: dict[str, Any], new: bool) -> Synced:
        applied: field_rules.Applied[Synced] = field_rules.APPLY[kind](session, actor, fields, record_id=rid,
                                                                       new=new)
        return applied.record

    return write


def default_rules() -> dict[str, tuple[Normalise, Write]]:
    """The field-record rules of ``catalog.field_rules``: the same checks as the API and the ledger import."""
    return {kind: (_normaliser(kind), _writer(kind)) for kind in SYNCED_MODELS}


# --- push ----------------------------------------------------------------------------------------------------


class MutationLike(Protocol):
    """One pushed change (``sync.wire.Mutation``)."""

    @property
    def mutation_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def base_version(self) -> int | None: ...
    @property
    def fields(self) -> dict[str, Any]: ...
    @property
    def schema(self) -> int: ...


class MergeLike(Protocol):
    @property
    def apply(self) -> dict[str, Any]: ...
    @property
    def conflicts(self) -> dict[str, tuple[Any, Any]]: ...


# The protocol's field-merge rule (``sync.merge.merge``): field_versions, server values, base version, device values.
MergeRule = Callable[[Mapping[str, int], Mapping[str, Any], int | None, Mapping[str, Any]], MergeLike]


@dataclass
class _Batch:
    session: Session
    actor: Actor
    rules: Rules
    merge: MergeRule
    schemas: tuple[int, int]
    records: dict[tuple[str, str], Synced] = field(default_factory=dict)
    conflicts: int = 0
    pending: Pending | None = None  # the batch's audit entries and change-log rows, written at its end
    careful: bool = False  # every mutation in a savepoint (see push)
    held: list[Any] = field(default_factory=list)  # reference rows the rules look up (kept in the identity map)

    def flush(self) -> None:
        """Write the new records still waiting (``field_rules.DEFER_NEW``); the database refusing one aborts the
        transaction (no savepoint of their own): :class:`_Unsaved`."""
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise _Unsaved from exc

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """One mutation's writes: all or nothing, their audit entries and log rows with them."""
        self.flush()  # the waiting records' entries come before the mark: a rollback here must not drop them
        mark = self.pending.mark() if self.pending is not None else None
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            if self.pending is not None and mark is not None:
                self.pending.drop_after(mark)
            raise


def _answer(status: str, **values: Any) -> dict[str, Any]:
    return {"status": status, **{k: v for k, v in values.items() if v is not None}}


def _rejected(code: str, zh: str, en: str, field_name: str | None = None) -> dict[str, Any]:
    return _answer("rejected", code=code, message={"zh": zh, "en": en}, field=field_name)


def _load(session: Session, mutations: Sequence[MutationLike]) -> dict[tuple[str, str], Synced]:
    wanted: dict[str, set[str]] = {}
    for m in mutations:
        wanted.setdefault(m.type, set()).add(m.id)
    out: dict[tuple[str, str], Synced] = {}
    for rtype, ids in wanted.items():
        model = SYNCED_MODELS[rtype]
        col = model.id  # type: ignore[attr-defined]
        # Locked in id order: two batches touching the same records wait for each other instead of deadlocking,
        # and a merge never works from a version another writer is changing.
        query = select(model).where(col.in_(sorted(ids))).order_by(col).with_for_update()
        out.update({(rtype, str(o.id)): o for o in session.scalars(query)})  # type: ignore[attr-defined]
    # The plots that the batch's yields, photos, ... hang on, in one query; held in ``out`` so the session's
    # (weak) identity map keeps them and the rules find them without a query per mutation.
    plot_ids = {str(m.fields.get("plot_id")) for m in mutations if m.type != "plot" and m.fields.get("plot_id")}
    plot_ids |= {str(getattr(r, "plot_id")) for r in out.values() if not isinstance(r, DemoPlot)}  # noqa: B009
    plot_ids -= {rid for (rtype, rid) in out if rtype == "plot"}
    if plot_ids:
        for plot in session.scalars(select(DemoPlot).where(DemoPlot.id.in_(sorted(plot_ids)))):
            out[("plot", plot.id)] = plot
    # A city or province measurement verifies one below it on its plot: the plots' measurements are loaded
    # together, and the rule picks among them instead of a query for each (``review.HELD_YIELDS``).
    if any(m.type == "yield" and m.fields.get("level") not in (None, "", "county") for m in mutations):
        yield_review.hold_yields(session, {str(m.fields["plot_id"]) for m in mutations
                                           if m.type == "yield" and m.fields.get("plot_id")}
                                 | {r.plot_id for r in out.values() if isinstance(r, YieldMeasurement)})
    return out


def _divisions(session: Session, mutations: Sequence[MutationLike]) -> list[Division]:
    """The divisions the batch's plots name, in one query: held by the batch, the plot rule's look-up of each
    finds it in the session's identity map."""
    codes = {str(m.fields["county_code"]) for m in mutations if m.type == "plot" and m.fields.get("county_code")}
    return list(session.scalars(select(Division).where(Division.code.in_(sorted(codes))))) if codes else []


def push(session: Session, actor: Actor, mutations: Sequence[MutationLike], merge: MergeRule,
         schemas: tuple[int, int] = (1, 1), rules: Rules | None = None) -> list[dict[str, Any]]:
    """Apply a batch: one answer per mutation, in order. Writes the answers (``AppliedMutation``) in one statement
    at the end; two requests applying the same mutation at once make the later one fail there as a whole
    (IntegrityError) — the caller rolls back and calls again, and then gets ``duplicate`` answers. The audit
    entries and change-log rows of the whole batch are written together at the end (``catalog.deferred_logs``):
    a mutation rolled back to its savepoint leaves none.

    A new record is checked in full, then added to the session without a savepoint of its own, and the batch's
    new records are flushed together (``field_rules.DEFER_NEW``: at the batch's end, or before a query or an
    edit's savepoint that must see them; the overlap check reads the plots still waiting from the session). If
    that write still fails in the database (a record of the same id committed meanwhile), the transaction is
    aborted: this rolls the session back — whatever the caller wrote in it before is lost too — and applies the
    batch again with every mutation in its own savepoint and flush."""
    try:
        return _push(session, actor, mutations, merge, schemas, rules, careful=False)
    except _Unsaved:
        session.rollback()
        return _push(session, actor, mutations, merge, schemas, rules, careful=True)


class _Unsaved(Exception):
    """A write without a savepoint failed in the database: the transaction must be rolled back."""


def _push(session: Session, actor: Actor, mutations: Sequence[MutationLike], merge: MergeRule,
          schemas: tuple[int, int], rules: Rules | None, *, careful: bool) -> list[dict[str, Any]]:
    # The state row (the epoch of the answer) before any record or county lock: on a new database it is inserted
    # here, and a first pull inserts it before its backfill's change-log rows, so the two wait in one order.
    server_state(session)
    ids = list(dict.fromkeys(m.mutation_id for m in mutations))
    batch = _Batch(session, actor, rules or default_rules(), merge, schemas, careful=careful)
    # Lock the records first: a concurrent push of the same batch then waits here until the first commits, and
    # the query below (a new snapshot) already sees its answers.
    answers: list[dict[str, Any]] = []
    fresh: list[dict[str, Any]] = []
    try:
        batch.records = _load(session, mutations)
        batch.held = _divisions(session, mutations)
        stored: dict[str, dict[str, Any]] = {
            mid: answer for mid, answer in session.execute(
                select(AppliedMutation.mutation_id, AppliedMutation.answer)
                .where(AppliedMutation.mutation_id.in_(ids)))
        } if ids else {}
        if not careful:
            session.info[field_rules.DEFER_NEW] = []
        # the new records are flushed together: their audit entries name the device's agent
        with acting_as(session, actor), deferred_logs(session) as batch.pending:
            for m in mutations:
                if m.mutation_id in stored:
                    answers.append(_answer("duplicate", original=stored[m.mutation_id]))
                    continue
                answer = _one(batch, m)
                answers.append(answer)
                stored[m.mutation_id] = answer
                fresh.append({"mutation_id": m.mutation_id, "token_id": actor.token_id, "answer": answer,
                              "at": dt.datetime.now(dt.UTC)})
            batch.flush()
    finally:
        session.info.pop(field_rules.DEFER_NEW, None)
        yield_review.release_yields(session)
    if fresh:
        session.execute(insert(AppliedMutation), fresh)
    return answers


def _one(batch: _Batch, m: MutationLike) -> dict[str, Any]:
    low, high = batch.schemas
    if not low <= m.schema <= high:
        return _rejected("unsupported_schema", "外业工具版本与服务器不兼容，请更新",
                         f"schema {m.schema} is not between {low} and {high}", "schema")
    key = (m.type, m.id)
    record = batch.records.get(key)
    session = batch.session
    fields = {k: v for k, v in m.fields.items() if k not in SERVER_KEPT}
    try:
        if record is not None:
            field_access.ensure_readable(batch.actor, getattr(record, "county_code"), m.type, m.id)  # noqa: B009
        if m.op == "delete":
            return _delete(batch, m, record)
        normalise, write = batch.rules[m.type]
        if record is None:
            if batch.careful:
                with batch.savepoint():
                    created = write(session, batch.actor, m.id, fields, True)
            else:
                try:  # checked in full, then added: flushed with the batch's other new records
                    created = write(session, batch.actor, m.id, fields, True)
                except IntegrityError as exc:
                    raise _Unsaved from exc
            batch.records[key] = created
            return _answer("applied", version=created.version)
        field_access.ensure_writable(batch.actor, getattr(record, "county_code"), m.type, m.id)  # noqa: B009
        if record.deleted:
            with batch.savepoint():
                ids = _conflicts(batch, m, record, {"deleted": (m.fields, True)})
            return _answer("conflict", version=record.version, fields={"deleted": True}, conflict_ids=ids)
        values = normalise(session, batch.actor, record, fields)
        yield_review.ensure_unlocked(record, values)  # an approved measurement is locked: rejected ``locked``
        names = [name for name in fields if name in values]
        result = batch.merge(record.field_versions or {}, {n: to_wire(getattr(record, n)) for n in names},
                       m.base_version, {n: to_wire(values[n]) for n in names})
        with batch.savepoint():
            if result.apply:
                chosen = {n: fields[n] for n in result.apply}
                if "boundary" in chosen and "source_crs" in fields:  # the boundary is read in its own CRS
                    chosen["source_crs"] = fields["source_crs"]
                write(session, batch.actor, m.id, chosen, False)
            ids = _conflicts(batch, m, record, result.conflicts)
        if ids:
            return _answer("conflict", version=record.version, conflict_ids=ids,
                          fields={name: server for name, (_dev, server) in result.conflicts.items()})
        return _answer("applied", version=record.version)
    except ValidationFailed as exc:
        first = exc.errors[0] if exc.errors else FieldError("_schema", "invalid", exc.zh, exc.en)
        _forget_if_new(batch, key)
        return _rejected("validation_failed", first.zh, first.en, first.field)
    except NotFound as exc:
        _forget_if_new(batch, key)
        return _rejected("not_found", exc.zh, exc.en)
    except Forbidden as exc:
        _forget_if_new(batch, key)
        return _rejected("forbidden", exc.zh, exc.en)
    except yield_review.Locked as exc:
        return _rejected(exc.code, exc.zh, exc.en)
    except IntegrityError as exc:
        if not session.is_active:  # a flush outside any savepoint (waiting new records) failed: all rolled back
            raise _Unsaved from exc
        _forget_if_new(batch, key)
        return _rejected("conflict", "与已有数据冲突，未保存", f"Refused: {exc}"[:300])
    except Conflict as exc:
        _forget_if_new(batch, key)
        return _rejected("conflict", "与已有数据冲突，未保存", f"Refused: {exc}"[:300])


def _forget_if_new(batch: _Batch, key: tuple[str, str]) -> None:
    # A record created in a savepoint that rolled back is gone from the session.
    record = batch.records.get(key)
    if record is not None and inspect(record).transient:
        batch.records.pop(key)


def _delete(batch: _Batch, m: MutationLike, record: Synced | None) -> dict[str, Any]:
    if record is None:
        return _rejected("not_found", "记录不存在", f"No {m.type} {m.id}")
    with batch.savepoint():  # deleting twice is deleting once
        field_rules.delete_record(batch.session, batch.actor, m.type, m.id)
    return _answer("applied", version=record.version)


def _conflicts(batch: _Batch, m: MutationLike, record: Synced, conflicts: Mapping[str, tuple[Any, Any]]) -> list[str]:
    rows = []
    for name, (device_value, server_value) in conflicts.items():
        rows.append(SyncConflict(
            id=new_id(), record_type=m.type, record_id=m.id, field=name, device_value=device_value,
            server_value=server_value, base_version=m.base_version, server_version=record.version,
            mutation_id=m.mutation_id, token_id=batch.actor.token_id, user_id=batch.actor.user_id,
            county_code=getattr(record, "county_code")))  # noqa: B009
    batch.session.add_all(rows)
    batch.session.flush()
    return [r.id for r in rows]


# --- conflicts -----------------------------------------------------------------------------------------------


def open_conflicts(session: Session, actor: Actor, limit: int = 500) -> list[SyncConflict]:
    """The conflicts of ``actor``'s pushes still waiting for review, newest first."""
    return list(session.scalars(
        select(SyncConflict).where(SyncConflict.user_id == actor.user_id, SyncConflict.resolved_at.is_(None))
        .order_by(SyncConflict.created_at.desc(), SyncConflict.id).limit(limit)))


def conflict_dict(c: SyncConflict) -> dict[str, Any]:
    return {"id": c.id, "type": c.record_type, "record_id": c.record_id, "field": c.field,
            "device_value": c.device_value, "server_value": c.server_value, "base_version": c.base_version,
            "server_version": c.server_version, "mutation_id": c.mutation_id, "created_at": c.created_at.isoformat()}
