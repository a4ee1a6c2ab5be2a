"""Administrative divisions (GB/T 2260): province → prefecture → county, with validity and code changes.

The network 部 → 省 → 市 → 县 is this tree with the ministry as its implicit root. Retired codes stay as rows
(``valid_to`` set) and map to their successors through ``DivisionChange``.
"""

from __future__ import annotations

import datetime as dt

import shapely
from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base
from catalog.geometry import GeometryType

LEVELS = ("province", "prefecture", "county")


class Division(Base):
    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    # The 2,851 units a county-level service covers (counties and prefectures without counties).
    county_equivalent: Mapped[bool] = mapped_column(Boolean, default=False)
    label_lng: Mapped[float | None] = mapped_column(Float)
    label_lat: Mapped[float | None] = mapped_column(Float)
    has_polygon: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # set on retired codes


class DivisionBoundary(Base):
    """The shipped (simplified) boundary of a division, WGS-84 lon/lat."""

    __tablename__ = "division_boundary"

    code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True)
    geom: Mapped[shapely.Geometry] = mapped_column(GeometryType("MULTIPOLYGON"))


class DivisionChange(Base):
    """One code-change event (新设, 撤县设市, 更名, 撤销, ...): old code → new code."""

    __tablename__ = "division_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    old_code: Mapped[str | None] = mapped_column(String(6), index=True)
    old_name: Mapped[str | None] = mapped_column(String(64))
    new_code: Mapped[str | None] = mapped_column(String(6), index=True)
    new_name: Mapped[str | None] = mapped_column(String(64))
    doc_no: Mapped[str | None] = mapped_column(Text)
