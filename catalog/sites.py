"""Sites the action serves: national agricultural science parks, innovation counties, key assistance counties.

Sites are groups over the county tree (a park lies in one or more counties), not a second tree. A ``SiteList``
is one official list (e.g. 创新型县（市）第一批, 52 expected); lists known to be partial say so, and
``yuanxian sites import`` completes them from an official file.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base

KINDS = ("park", "innovation_county", "key_county")


class SiteList(Base):
    __tablename__ = "site_list"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(256))
    expected_count: Mapped[int | None] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str | None] = mapped_column(Text)


class Site(Base):
    __tablename__ = "site"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # NASTP001, IC1-320583, KC-150422
    list_id: Mapped[str] = mapped_column(ForeignKey("site_list.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    province_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)
    # The division the site is named after / located in (county, or prefecture for many parks).
    place_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)
    batch: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(64), default="listed")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str | None] = mapped_column(Text)


class SiteDivision(Base):
    """A county (or prefecture) a site covers."""

    __tablename__ = "site_division"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True, index=True)
