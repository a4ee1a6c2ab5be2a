"""Sites the action serves: national agricultural science parks, innovation counties, key assistance counties.

Sites are groups over the county tree (a park lies in one or more counties), not a second tree. A ``SiteList``
is one official list (e.g. 创新型县（市）第一批, 52 expected); lists known to be partial say so, and
``yuanxian sites import`` completes them from an official file (``catalog.site_import``).

Shipped data (``catalog/data``): ``site_lists.csv`` (each list, its expected size and where it came from),
``parks.csv``, ``innovation_counties.csv``, ``key_counties.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, Select, String, Text, delete, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.db import Base
from catalog.errors import NotFound

KINDS = ("park", "innovation_county", "key_county")
# Parks in these states are kept for the record but no longer served.
INACTIVE_STATUSES = ("cancelled", "failed_acceptance")

DATA = Path(__file__).parent / "data"


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


def county_site_id(list_id: str, code: str) -> str:
    """The stable id of a county on a county list: the same county imported twice is the same site."""
    return f"{list_id}-{code}"


# --------------------------------------------------------------------------------------------------- loading


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _join(*parts: str) -> str | None:
    return "; ".join(p for p in parts if p) or None


def _park(r: dict[str, str]) -> dict[str, Any]:
    status = r["status"].split("(", 1)[0]  # "failed_acceptance(no longer eligible)" → "failed_acceptance"
    return {
        "id": r["park_id"], "list_id": "NASTP", "kind": "park", "name": r["name"],
        "province_code": r["province_adcode"], "place_code": r["place_adcode"] or None, "batch": r["batch"],
        "status": status, "active": status not in INACTIVE_STATUSES,
        "notes": _join(r["notes"], r["evaluations"] and f"evaluations {r['evaluations']}",
                       r["place_match"] and f"place match: {r['place_match']}"),
    }


def _innovation_county(r: dict[str, str]) -> dict[str, Any]:
    list_id = f"IC{r['batch']}"
    passed = "passed" in r["note"]  # batch-1 rows whose source confirms the 2022 acceptance
    return {
        "id": county_site_id(list_id, r["adcode"]), "list_id": list_id, "kind": "innovation_county",
        "name": r["name"], "province_code": r["adcode"][:2] + "0000", "place_code": r["adcode"],
        "batch": r["batch"], "status": "accepted" if passed else "listed", "active": True,
        "notes": _join(r["theme"] and f"theme {r['theme']}", r["note"], r["source_url"]),
    }


def _key_county(r: dict[str, str]) -> dict[str, Any]:
    return {
        "id": county_site_id("KC", r["adcode"]), "list_id": "KC", "kind": "key_county", "name": r["name"],
        "province_code": r["province_adcode"], "place_code": r["adcode"], "batch": None, "status": "listed",
        "active": True, "notes": r["source_url"] or None,
    }


def load_sites(session: Session, folder: Path = DATA) -> dict[str, int]:
    """Upsert the shipped lists, sites and their division links; idempotent.

    Sites added by ``sites import`` are left alone; each list's ``complete`` flag is then recomputed.
    Returns counts: lists, sites, links.
    """
    lists = _csv(folder / "site_lists.csv")
    for r in lists:
        sl = session.get(SiteList, r["id"]) or SiteList(id=r["id"])
        sl.kind, sl.name_zh, sl.name_en, sl.source = r["kind"], r["name_zh"], r["name_en"], r["source"]
        sl.expected_count = int(r["expected_count"]) if r["expected_count"] else None
        sl.complete = r["complete"] == "1"
        session.add(sl)
    session.flush()

    sites = [_park(r) for r in _csv(folder / "parks.csv")]
    sites += [_innovation_county(r) for r in _csv(folder / "innovation_counties.csv")]
    sites += [_key_county(r) for r in _csv(folder / "key_counties.csv")]
    ids = [s["id"] for s in sites]
    existing = set(session.scalars(select(Site.id).where(Site.id.in_(ids))))
    if fresh := [s for s in sites if s["id"] not in existing]:
        session.execute(insert(Site), fresh)
    if stale := [s for s in sites if s["id"] in existing]:
        session.execute(update(Site), stale)

    # A park with no place code keeps no link; a park named after a prefecture links the prefecture.
    links = [{"site_id": s["id"], "division_code": s["place_code"]} for s in sites if s["place_code"]]
    session.execute(delete(SiteDivision).where(SiteDivision.site_id.in_(ids)))
    session.execute(insert(SiteDivision), links)
    for r in lists:
        refresh_list(session, r["id"])
    session.flush()
    return {"site_lists": len(lists), "sites": len(sites), "site_divisions": len(links)}


# --------------------------------------------------------------------------------------------------- queries


def get_site_list(session: Session, list_id: str) -> SiteList:
    sl = session.get(SiteList, list_id)
    if sl is None:
        raise NotFound(en=f"No site list '{list_id}'", zh=f"名单“{list_id}”不存在", list_id=list_id)
    return sl


def get_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(en=f"No site '{site_id}'", zh=f"园区或县“{site_id}”不存在", site_id=site_id)
    return site


def list_counts(session: Session) -> dict[str, tuple[int, int]]:
    """(sites, active sites) per list id."""
    rows = session.execute(
        select(Site.list_id, func.count(), func.count().filter(Site.active.is_(True))).group_by(Site.list_id)
    )
    return {list_id: (int(n), int(active)) for list_id, n, active in rows}


def refresh_list(session: Session, list_id: str) -> SiteList:
    """Mark a list complete once it holds the expected number of sites (a list without one keeps its flag)."""
    sl = get_site_list(session, list_id)
    if sl.expected_count is not None:
        session.flush()
        n = session.scalar(select(func.count()).select_from(Site).where(Site.list_id == list_id)) or 0
        sl.complete = n >= sl.expected_count
    return sl


def site_query(kind: str | None = None, province: str | None = None, active: bool | None = None,
               list_id: str | None = None) -> Select[Any]:
    """Sites filtered by kind, province code, active flag and list, ordered by id."""
    q = select(Site).order_by(Site.id)
    if kind:
        q = q.where(Site.kind == kind)
    if province:
        q = q.where(Site.province_code == province)
    if active is not None:
        q = q.where(Site.active.is_(active))
    if list_id:
        q = q.where(Site.list_id == list_id)
    return q


def site_divisions(session: Session, site_id: str) -> list[str]:
    return list(session.scalars(
        select(SiteDivision.division_code).where(SiteDivision.site_id == site_id).order_by(SiteDivision.division_code)
    ))
