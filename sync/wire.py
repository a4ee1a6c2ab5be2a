"""The wire format of sync protocol v1 (docs/sync.md): constants, header names and the JSON shapes.

Plain dataclasses with ``to_json``/``from_json`` so both ends (server and field kit) read and write the same
shapes; ``from_json`` refuses anything malformed with :class:`WireError` (the field that is wrong, and why).
Imports nothing of ours.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

PROTOCOL = 1
SCHEMA = 2  # the record schema both ends speak; a kit below the server's minimum gets 426 update_required

# What each schema added to the records, by type. Only additive changes come here: a kit of an older schema keeps
# syncing, is answered without the fields it does not know, and everything it sends is applied. A change that
# renames, retypes or removes a field instead raises the server's minimum (SYNC_MIN_SCHEMA): those kits must update.
SCHEMA_ADDED: dict[int, dict[str, frozenset[str]]] = {
    # 2: a yield's review (approval by the level above; a rejection's comment goes back to the agent)
    2: {"yield": frozenset({"verifies_id", "review_state", "reviewed_by", "reviewed_at", "review_comment"})},
}


def unknown_fields(type_: str, schema: int) -> frozenset[str]:
    """The fields of ``type_`` that a kit speaking ``schema`` does not know (added by later schemas)."""
    out: frozenset[str] = frozenset()
    for version, added in SCHEMA_ADDED.items():
        if version > schema:
            out |= added.get(type_, frozenset())
    return out


def record_for_schema(type_: str, record: dict[str, Any] | None, schema: int) -> dict[str, Any] | None:
    """``record`` as a kit speaking ``schema`` receives it: without the fields later schemas added."""
    unknown = unknown_fields(type_, schema)
    if record is None or not unknown:
        return record
    return {k: v for k, v in record.items() if k not in unknown}

HEADER_SYNC = "X-Yuanxian-Sync"          # on every sync answer: a 200 without it is a captive portal's page
HEADER_PROTOCOL = "X-Yuanxian-Protocol"
HEADER_SCHEMA = "X-Yuanxian-Schema"
HEADER_UPLOAD_OFFSET = "X-Upload-Offset"
HEADER_UPLOAD_LENGTH = "X-Upload-Length"
HEADER_UPLOAD_COMPLETE = "X-Upload-Complete"

CHUNK_MIN = 64 * 1024
CHUNK_MAX = 256 * 1024

RECORD_TYPES = ("plot", "yield", "observation", "soil_sample", "photo")   # what devices push
LISTING_TYPES = ("result", "code_list", "site")                            # what devices only pull

Op = Literal["upsert", "delete", "out_of_scope"]
PULL_OPS: tuple[str, ...] = ("upsert", "delete", "out_of_scope")
PUSH_OPS: tuple[str, ...] = ("upsert", "delete")
STATUSES = ("applied", "duplicate", "conflict", "rejected")


class WireError(ValueError):
    """A body that does not follow the protocol: ``field`` says where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _need(data: Any, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    if not isinstance(data, dict) or key not in data:
        raise WireError(where + key, "missing")
    value = data[key]
    # bool is an int in Python; a version of True is still wrong.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise WireError(where + key, "wrong type")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _uuid(value: str, where: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise WireError(where, "not a UUID") from None


@dataclass(frozen=True)
class Change:
    """One entry of a pull page."""

    type: str
    id: str
    op: str
    version: int
    record: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "id": self.id, "op": self.op, "version": self.version}
        if self.record is not None:
            out["record"] = self.record
        return out

    @classmethod
    def from_json(cls, data: Any) -> Change:
        op = _need(data, "op", str)
        if op not in PULL_OPS:
            raise WireError("op", f"one of {', '.join(PULL_OPS)}")
        record = data.get("record")
        if record is not None and not isinstance(record, dict):
            raise WireError("record", "wrong type")
        return cls(_need(data, "type", str), _need(data, "id", str), op, _need(data, "version", int), record)


@dataclass(frozen=True)
class PullPage:
    epoch: str
    changes: list[Change]
    cursor: str
    has_more: bool

    def to_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "changes": [c.to_json() for c in self.changes], "cursor": self.cursor,
                "has_more": self.has_more}

    @classmethod
    def from_json(cls, data: Any) -> PullPage:
        changes = _need(data, "changes", list)
        return cls(_need(data, "epoch", str), [Change.from_json(c) for c in changes], _need(data, "cursor", str),
                   _need(data, "has_more", bool))


@dataclass(frozen=True)
class Mutation:
    """One change a device pushes: ``fields`` holds only the fields it changed (all of them for a new record)."""

    mutation_id: str
    type: str
    id: str
    op: str = "upsert"
    base_version: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA

    def to_json(self) -> dict[str, Any]:
        return {"mutation_id": self.mutation_id, "type": self.type, "id": self.id, "op": self.op,
                "base_version": self.base_version, "fields": self.fields, "schema": self.schema}

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> Mutation:
        mid = _uuid(_need(data, "mutation_id", str, where), where + "mutation_id")
        rtype = _need(data, "type", str, where)
        if rtype not in RECORD_TYPES:
            raise WireError(where + "type", f"one of {', '.join(RECORD_TYPES)}")
        rid = _uuid(_need(data, "id", str, where), where + "id")
        op = data.get("op", "upsert")
        if op not in PUSH_OPS:
            raise WireError(where + "op", f"one of {', '.join(PUSH_OPS)}")
        base = data.get("base_version")
        if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 0):
            raise WireError(where + "base_version", "a non-negative integer or null")
        fields = data.get("fields", {})
        if not isinstance(fields, dict):
            raise WireError(where + "fields", "wrong type")
        schema = data.get("schema", SCHEMA)
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise WireError(where + "schema", "wrong type")
        return cls(mid, rtype, rid, op, base, fields, schema)


def mutations_from_json(body: Any, max_batch: int) -> list[Mutation]:
    """The mutations of a push body ``{"mutations": [...]}``; at most ``max_batch``."""
    items = _need(body, "mutations", list)
    if len(items) > max_batch:
        raise WireError("mutations", f"at most {max_batch} per batch")
    return [Mutation.from_json(m, f"mutations.{i}.") for i, m in enumerate(items)]


@dataclass(frozen=True)
class Answer:
    """The server's answer to one mutation (see docs/sync.md for each status)."""

    status: str
    version: int | None = None
    fields: dict[str, Any] | None = None          # conflict: the server's values that stayed
    conflict_ids: list[str] | None = None         # conflict: one conflict record per field
    code: str | None = None                       # rejected
    message: dict[str, str] | None = None         # rejected: {"zh", "en"}
    field: str | None = None                      # rejected: the field at fault
    original: dict[str, Any] | None = None        # duplicate: the answer given the first time

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        for key in ("version", "fields", "conflict_ids", "code", "message", "field", "original"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: Any) -> Answer:
        status = _need(data, "status", str)
        if status not in STATUSES:
            raise WireError("status", f"one of {', '.join(STATUSES)}")
        return cls(status, data.get("version"), data.get("fields"), data.get("conflict_ids"), data.get("code"),
                   data.get("message"), data.get("field"), data.get("original"))

    @property
    def final(self) -> Answer:
        """What happened to the mutation: for a duplicate, the first answer."""
        return Answer.from_json(self.original) if self.status == "duplicate" and self.original else self
