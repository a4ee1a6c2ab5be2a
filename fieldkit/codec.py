"""Synced records to and from their wire fields (JSON values): geometry as GeoJSON, dates as ISO 8601.

Server-kept columns (``version``, ``field_versions``, timestamps, authors, review ``flags``, a yield's review state
and comment) never travel in a mutation: the server owns them. ``deleted`` travels as the ``delete`` op, not as a field.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Date, inspect
from sqlalchemy.orm import Mapper

from catalog.db import UTCDateTime
from catalog.field import SYNCED_MODELS, Synced
from catalog.geometry import GeometryType

SERVER_KEPT = frozenset({"id", "version", "field_versions", "deleted", "created_at", "updated_at", "created_by",
                         "updated_by", "flags"})
# The review of a yield measurement (catalog.review) is the officers' decision: pulled and shown, never sent.
SERVER_KEPT |= {"review_state", "reviewed_by", "reviewed_at", "review_comment"}


def model_of(type_: str) -> type[Any]:
    """The model class of a record type (typed loosely: ``Synced`` is a column mixin without ``id``)."""
    try:
        return SYNCED_MODELS[type_]
    except KeyError:
        raise ValueError(f"unknown record type {type_!r}") from None


def _mapper(type_: str) -> Mapper[Any]:
    mapper: Mapper[Any] = inspect(model_of(type_))
    return mapper


def field_names(type_: str) -> list[str]:
    """The columns of a record type that devices write."""
    return [c.key for c in _mapper(type_).column_attrs if c.key not in SERVER_KEPT]


def to_wire(type_: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    col = _mapper(type_).columns[name]
    if isinstance(col.type, GeometryType):
        return mapping(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def from_wire(type_: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    col = _mapper(type_).columns[name]
    if isinstance(col.type, GeometryType):
        if isinstance(value, str):
            return shapely.from_wkt(value) if not value.lstrip().startswith("{") else shape(json.loads(value))
        return shape(value)
    if isinstance(col.type, UTCDateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(col.type, Date):
        return dt.date.fromisoformat(value[:10])
    return value


def record_fields(type_: str, obj: Synced) -> dict[str, Any]:
    """Every device-written field of a local record, in wire form."""
    return {name: to_wire(type_, name, getattr(obj, name)) for name in field_names(type_)}


def set_fields(type_: str, obj: Synced, fields: dict[str, Any]) -> None:
    """Copy wire fields onto a local record; names the kit does not know are ignored (a newer server)."""
    columns = _mapper(type_).columns
    for name, value in fields.items():
        if name in columns and name != "id":
            setattr(obj, name, from_wire(type_, name, value))
