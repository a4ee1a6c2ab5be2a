"""Periodic result lists: the national list (国家科技计划成果清单) and one local list per province
(地方先进适用技术成果清单), each published as numbered issues (2026年第4期).

An issue is composed as a draft from reviewed results, then published: it takes the next number of its list in
the year of publication (Beijing time), every entry keeps a snapshot of its result as published, and from then on
nothing of the issue changes — the guard below refuses any write to a published issue or its entries, on every
path. Publishing an issue is what makes its results "published" (``catalog.lifecycle``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from catalog.db import Base, UTCDateTime, timestamp, uuid_pk
from catalog.divisions import Division
from catalog.errors import Conflict

NATIONAL = "national"
LOCAL_SUFFIX = "地方先进适用技术成果清单"
ISSUE_STATES = ("draft", "published")


class ResultList(Base):
    __tablename__ = "result_list"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # "national", "local-410000"
    kind: Mapped[str] = mapped_column(String(16))                   # national / local
    province_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"))
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(256))

    @property
    def batch_prefix(self) -> str:
        """What a result's ``list_batch`` says before the issue's title: the province of a local list."""
        return self.name_zh.removesuffix(LOCAL_SUFFIX) if self.kind == "local" else ""


class ListIssue(Base):
    __tablename__ = "list_issue"
    __table_args__ = (UniqueConstraint("list_id", "year", "number"),)

    id: Mapped[uuid_pk]
    list_id: Mapped[str] = mapped_column(ForeignKey("result_list.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    year: Mapped[int | None] = mapped_column(Integer)    # given at publication
    number: Mapped[int | None] = mapped_column(Integer)  # 第 N 期 within the year
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]
    created_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(64))

    result_list: Mapped[ResultList] = relationship(lazy="joined")
    entries: Mapped[list[ListEntry]] = relationship(cascade="all, delete-orphan", order_by="ListEntry.position",
                                                    lazy="selectin", back_populates="issue")

    @property
    def title_zh(self) -> str:
        return f"{self.year}年第{self.number}期" if self.number else "草稿"

    @property
    def title_en(self) -> str:
        return f"{self.year} issue {self.number}" if self.number else "draft"


class ListEntry(Base):
    __tablename__ = "list_entry"

    issue_id: Mapped[str] = mapped_column(ForeignKey("list_issue.id", ondelete="CASCADE"), primary_key=True)
    result_id: Mapped[str] = mapped_column(ForeignKey("result.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the result as published

    issue: Mapped[ListIssue] = relationship(back_populates="entries")


def list_id_of(province_code: str | None) -> str:
    return f"local-{province_code}" if province_code else NATIONAL


def load_lists(session: Session) -> int:
    """The national list and one local list per current province; idempotent. Returns how many exist."""
    have = {r.id: r for r in session.scalars(select(ResultList))}
    wanted = [(NATIONAL, "national", None, "国家科技计划成果清单", "National list of S&T programme results")]
    for code, name in session.execute(select(Division.code, Division.name).where(
            Division.level == "province", Division.valid_to.is_(None)).order_by(Division.code)):
        wanted.append((list_id_of(code), "local", code, f"{name}{LOCAL_SUFFIX}",
                       f"Local list of advanced applicable technologies: {name}"))
    for list_id, kind, province, zh, en in wanted:
        row = have.get(list_id) or ResultList(id=list_id)
        row.kind, row.province_code, row.name_zh, row.name_en = kind, province, zh, en
        session.add(row)
    session.flush()
    return len(wanted)


# --- a published issue never changes ---------------------------------------------------------------------------

class IssueFrozen(Conflict):
    code = "list_issue_published"
    zh = "已发布的清单期次不可修改"
    en = "A published list issue cannot change"


@event.listens_for(Session, "before_flush")
def _guard_published(session: Session, _ctx: Any, _instances: Any) -> None:
    """Refuse any write to an issue that is published in the database, or to its entries. The database's
    state counts (not the object's), so publishing itself — entries and state in one flush — goes through."""
    touched: set[str] = set()
    for obj in (*session.dirty, *session.deleted, *session.new):
        if isinstance(obj, ListIssue) and obj not in session.new and (
                obj in session.deleted or session.is_modified(obj, include_collections=False)):
            touched.add(obj.id)
        elif isinstance(obj, ListEntry) and (obj not in session.dirty or session.is_modified(obj)):
            touched.add(obj.issue_id or (obj.issue.id if obj.issue is not None else ""))
    touched.discard("")
    if not touched:
        return
    with session.no_autoflush:
        frozen = session.scalar(select(ListIssue.id).where(ListIssue.id.in_(touched),
                                                           ListIssue.state == "published").limit(1))
    if frozen is not None:
        raise IssueFrozen(issue=frozen)
