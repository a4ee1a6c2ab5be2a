"""Versioned code lists (zh and en names): technology field, industry type, scenario, crop, form, ...

A retired code keeps its row (``retired_in`` set) so old records still read; new records may not use it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, event, select
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from catalog.db import Base


class CodeList(Base):
    __tablename__ = "code_list"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Code(Base):
    __tablename__ = "code"

    list_id: Mapped[str] = mapped_column(ForeignKey("code_list.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(256))
    parent_code: Mapped[str | None] = mapped_column(String(32))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    introduced_in: Mapped[int] = mapped_column(Integer, default=1)
    retired_in: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


DATA = Path(__file__).parent / "data"


def load_code_lists(session: Session, folder: Path = DATA) -> int:
    """Upsert the shipped code lists; a code no longer in the data is retired, not deleted.

    Returns the number of codes in the data.
    """
    session.info.pop(_CACHE_KEY, None)
    lists = {row["list_id"]: row for row in _rows(folder / "code_lists.csv")}
    for list_id, row in lists.items():
        cl = session.get(CodeList, list_id) or CodeList(id=list_id)
        cl.name_zh, cl.name_en, cl.version = row["name_zh"], row["name_en"], int(row["version"])
        session.add(cl)
    session.flush()
    existing = {(c.list_id, c.code): c for c in session.scalars(select(Code))}
    seen: set[tuple[str, str]] = set()
    for row in _rows(folder / "codes.csv"):
        key = (row["list_id"], row["code"])
        seen.add(key)
        code = existing.get(key) or Code(list_id=key[0], code=key[1],
                                          introduced_in=int(lists[key[0]]["version"]))
        code.parent_code = row["parent_code"] or None
        code.name_zh, code.name_en = row["name_zh"], row["name_en"]
        code.sort = int(row["sort"])
        code.extra = json.loads(row["extra"]) if row["extra"] else None
        code.retired_in = None
        session.add(code)
    for key, code in existing.items():
        if key not in seen and code.retired_in is None:
            code.retired_in = int(lists[key[0]]["version"]) if key[0] in lists else code.introduced_in
    session.flush()
    return len(seen)


_CACHE_KEY = "yx_current_codes"


@event.listens_for(Session, "after_transaction_end")
def _forget_codes(session: Session, transaction: SessionTransaction) -> None:
    # The cached rows belong to one transaction: after it ends they may be expired or detached.
    if transaction.parent is None:
        session.info.pop(_CACHE_KEY, None)


def current_codes(session: Session, list_id: str) -> dict[str, Code]:
    """Codes a new record may use: not retired. Cached for the transaction: an import checks every row
    against the same lists, and code lists change only through :func:`load_code_lists`, which clears it."""
    cache: dict[str, dict[str, Code]] = session.info.setdefault(_CACHE_KEY, {})
    if list_id not in cache:
        rows = session.scalars(
            select(Code).where(Code.list_id == list_id, Code.retired_in.is_(None)).order_by(Code.sort)
        )
        cache[list_id] = {c.code: c for c in rows}
    return cache[list_id]


def all_codes(session: Session) -> dict[str, dict[str, Code]]:
    """Every code (retired too) by list, for labelling stored records."""
    out: dict[str, dict[str, Code]] = {}
    for c in session.scalars(select(Code).order_by(Code.list_id, Code.sort)):
        out.setdefault(c.list_id, {})[c.code] = c
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
