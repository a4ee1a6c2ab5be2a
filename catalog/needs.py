"""A need (需求) a park or county posts: the problem in its own words, what it grows, where, when, how much.

A need belongs to one site (catalog/sites.py). Its states: open (待对接) → matched (已对接, optionally naming
the result it found) → closed (已关闭); a matched or closed need may be reopened. Rules (who posts, who reads)
live in ``catalog.need_access``; writing in ``catalog.need_store``; ranking results for it in
``catalog.matching``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base, UTCDateTime, timestamp, utcnow, uuid_pk

STATES = ("open", "matched", "closed")
STATE_NAMES = {"open": "待对接", "matched": "已对接", "closed": "已关闭"}
# action → (states it may start from, state it leads to)
STEPS: dict[str, tuple[tuple[str, ...], str]] = {
    "match": (("open",), "matched"),
    "close": (("open", "matched"), "closed"),
    "reopen": (("matched", "closed"), "open"),
}
# Code fields of a need and the code list each takes (validated against catalog.codelists.current_codes).
CODE_FIELDS: dict[str, str] = {
    "crops": "crop",
    "industry_types": "industry_type",
    "scenarios": "scenario",
    "land_scenarios": "land_scenario",
}


class Need(Base):
    __tablename__ = "need"
    __table_args__ = (Index("ix_need_site_state", "site_id", "state"),)

    id: Mapped[uuid_pk]
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    # The site's province, kept here so officers' lists filter without a join (and the audit log scopes it).
    province_code: Mapped[str | None] = mapped_column(String(6), index=True)
    title: Mapped[str] = mapped_column(String(128))
    problem: Mapped[str] = mapped_column(Text, default="")  # in the site's own words
    crops: Mapped[list[str]] = mapped_column(JSON, default=list)
    industry_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scenarios: Mapped[list[str]] = mapped_column(JSON, default=list)
    land_scenarios: Mapped[list[str]] = mapped_column(JSON, default=list)
    season: Mapped[str | None] = mapped_column(String(32))  # e.g. 2026-autumn_grain
    area_m2: Mapped[float | None] = mapped_column(Float)   # the scale; shown in 亩
    scale_text: Mapped[str | None] = mapped_column(String(256))
    contact: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    matched_result_id: Mapped[str | None] = mapped_column(ForeignKey("result.id"))
    state_comment: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))

    def codes(self) -> dict[str, list[str]]:
        return {f: list(getattr(self, f) or []) for f in CODE_FIELDS}
