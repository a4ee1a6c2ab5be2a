"""The research result (成果) record of DOMAIN.md and its facet links.

Multi-valued classifications live in ``ResultCode`` rows (dimension, code), so every facet is counted by
one query shape; suitable regions live in ``ResultRegion`` with their province for the province facet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.db import Base, UTCDateTime, new_id, timestamp, utcnow, uuid_pk

STATES = ("draft", "submitted", "reviewed", "published", "withdrawn")
SOURCES = ("national", "local")

# Facet dimensions stored in ResultCode, each with the code list its codes come from.
DIMENSIONS: dict[str, str] = {
    "tech_field": "tech_field",          # primary first (role='primary'), then secondary
    "industry_type": "industry_type",
    "scenario": "scenario",
    "crop": "crop",
    "land_scenario": "scenario",         # SC0101–SC0104, a subset of the scenario list
    "transfer_mode": "transfer_mode",
}


class Result(Base):
    __tablename__ = "result"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(256))
    summary: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # origin
    special_project: Mapped[str | None] = mapped_column(String(128), index=True)
    project_no: Mapped[str | None] = mapped_column(String(64), index=True)
    subject_no: Mapped[str | None] = mapped_column(String(64))
    institutions: Mapped[list[str]] = mapped_column(JSON, default=list)  # completing institutions, in order
    # The first institution: the result's holder, whose accounts edit it until it is reviewed.
    lead_institution: Mapped[str | None] = mapped_column(String(128), index=True)
    people: Mapped[list[str]] = mapped_column(JSON, default=list)
    # classification scalars (multi-valued ones are ResultCode rows)
    trl: Mapped[int | None] = mapped_column(Integer, index=True)
    trl_scale: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(16))  # 成果所处阶段: early / middle / mature
    form: Mapped[str | None] = mapped_column(String(16), index=True)
    # IP: {"patents": [...], "variety_rights": [...], "approvals": [...], "software": [...], "standards": [...]}
    ip: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    registration_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    # fit: [{"name": "增产", "value": 8.5, "unit": "%", "evidence": "..."}]
    key_figures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # transfer
    transfer_terms: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(128))
    # administration
    source: Mapped[str] = mapped_column(String(16), default="national", index=True)
    source_province: Mapped[str | None] = mapped_column(ForeignKey("division.code"))
    list_batch: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))

    codes: Mapped[list[ResultCode]] = relationship(
        cascade="all, delete-orphan", order_by="ResultCode.position", lazy="selectin"
    )
    regions: Mapped[list[ResultRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    def codes_of(self, dimension: str) -> list[str]:
        """The codes given for ``dimension``, in order (implied parents left out)."""
        return [c.code for c in self.codes if c.dimension == dimension and not c.implied]

    @property
    def region_codes(self) -> list[str]:
        return [r.division_code for r in self.regions]


class ResultCode(Base):
    __tablename__ = "result_code"
    # Covering index for facet counts: (dimension, code) → result ids without touching the table.
    __table_args__ = (Index("ix_result_code_facet", "dimension", "code", "result_id"),)

    result_id: Mapped[str] = mapped_column(ForeignKey("result.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0 = primary where the dimension has one
    # A parent code stored so that filtering and counting by TF02 also finds TF0201; not shown as given.
    implied: Mapped[bool] = mapped_column(Boolean, default=False)


class ResultRegion(Base):
    __tablename__ = "result_region"
    __table_args__ = (Index("ix_result_region_facet", "province_code", "result_id"),)

    result_id: Mapped[str] = mapped_column(ForeignKey("result.id", ondelete="CASCADE"), primary_key=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(6))


class ResultEvent(Base):
    """Who did what to a result, and when: every create, edit and lifecycle step."""

    __tablename__ = "result_event"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    result_id: Mapped[str] = mapped_column(ForeignKey("result.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[timestamp]
