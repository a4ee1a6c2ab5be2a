"""Versioned code lists (zh and en names): technology field, industry type, scenario, crop, form, ...

A retired code keeps its row (``retired_in`` set) so old records still read; new records may not use it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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
