"""Field records: demo plots and what agents record on them (yields, observations, soil samples, photos).

Records are born on a device or the server with a UUID, carry a server-kept integer ``version`` and, per field,
the version that last changed it (``field_versions``) so that edits of different fields from two devices merge
and edits of the same field become conflicts (see ``sync``). A deleted record stays as a tombstone
(``deleted``) so the deletion reaches every device.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base, UTCDateTime, timestamp, utcnow, uuid_pk
from catalog.geometry import GeometryType

DEMO_TYPES = ("variety", "land_quality")        # 品种示范 / 耕地质量提升核心示范
SOURCE_CRS = ("wgs84", "gcj02", "bd09", "cgcs2000")
METHODS = ("harvest", "theoretical")            # 实收测产 / 理论测产
LEVELS = ("county", "city", "province", "ministry")
BASELINE_TYPES = ("control_plot", "check_variety", "county_average")  # 对照田 / 对照品种(CK) / 县平均
REVIEW_STATES = ("pending", "approved", "rejected")  # 待审核 / 已审核（锁定）/ 退回


class Synced:
    """Columns every synced record has."""

    version: Mapped[int] = mapped_column(Integer, default=1)
    field_versions: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))


class DemoPlot(Synced, Base):
    __tablename__ = "demo_plot"

    id: Mapped[uuid_pk]
    county_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"))  # the park, if any
    name: Mapped[str] = mapped_column(String(128))
    boundary: Mapped[shapely.Geometry | None] = mapped_column(GeometryType("MULTIPOLYGON"))  # WGS-84
    source_crs: Mapped[str] = mapped_column(String(16), default="wgs84")
    area_m2: Mapped[float | None] = mapped_column(Float)  # geodesic, from the boundary
    crop: Mapped[str] = mapped_column(String(32))
    variety: Mapped[str | None] = mapped_column(String(128))
    result_id: Mapped[str | None] = mapped_column(ForeignKey("result.id"), index=True)
    land_scenario: Mapped[str | None] = mapped_column(String(16))
    demo_type: Mapped[str] = mapped_column(String(16), default="variety")
    season: Mapped[str] = mapped_column(String(32), index=True)  # e.g. "2026-autumn_grain"
    farmer_name: Mapped[str | None] = mapped_column(String(64))
    farmer_phone: Mapped[str | None] = mapped_column(String(32))
    farmer_id_no: Mapped[str | None] = mapped_column(String(32))
    cooperative: Mapped[str | None] = mapped_column(String(128))
    control_plot_id: Mapped[str | None] = mapped_column(String(36))
    flags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # outside_county, overlaps: for review
    notes: Mapped[str | None] = mapped_column(Text)


class YieldMeasurement(Synced, Base):
    __tablename__ = "yield_measurement"

    id: Mapped[uuid_pk]
    plot_id: Mapped[str] = mapped_column(ForeignKey("demo_plot.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)  # the plot's, for scoping and sync
    method: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16), default="county")
    measured_on: Mapped[dt.date | None] = mapped_column(Date)
    crop: Mapped[str] = mapped_column(String(32))  # with its type: rice_indica / rice_japonica
    panel: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 实收: [{"area_mu", "fresh_kg", "moisture", "impurity", "shelling_rate"?}]
    # 理论: [{"ears_per_mu", "grains_per_ear", "thousand_grain_g", "seed_setting"?}]
    samples: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    standard_moisture: Mapped[float | None] = mapped_column(Float)
    yield_kg_per_mu: Mapped[float | None] = mapped_column(Float)  # computed by catalog.yields
    baseline_kg_per_mu: Mapped[float | None] = mapped_column(Float)
    baseline_type: Mapped[str | None] = mapped_column(String(16))
    gain_pct: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    # Approval: each level's measurement is its own record; ``verifies_id`` names the measurement of the level
    # below on the same plot (a county self-test has none). Approved records are locked; a rejection carries
    # its comment back to the agent's field kit.
    verifies_id: Mapped[str | None] = mapped_column(String(36), index=True)
    review_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending",
                                              index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str | None] = mapped_column(Text)


class Observation(Synced, Base):
    __tablename__ = "observation"

    id: Mapped[uuid_pk]
    plot_id: Mapped[str] = mapped_column(ForeignKey("demo_plot.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    observed_on: Mapped[dt.date | None] = mapped_column(Date)
    stage: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")


class SoilSample(Synced, Base):
    __tablename__ = "soil_sample"

    id: Mapped[uuid_pk]
    plot_id: Mapped[str] = mapped_column(ForeignKey("demo_plot.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    sampled_on: Mapped[dt.date | None] = mapped_column(Date)
    depth_cm: Mapped[str | None] = mapped_column(String(16))
    lab: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # organic matter g/kg, pH, ...
    grade: Mapped[int | None] = mapped_column(Integer)  # evaluated, 1 best
    grade_scale: Mapped[str] = mapped_column(String(32), default="GB/T 33469-2016")


class Photo(Synced, Base):
    __tablename__ = "photo"

    id: Mapped[uuid_pk]
    plot_id: Mapped[str] = mapped_column(ForeignKey("demo_plot.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # from EXIF
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    caption: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # exif time/place mismatch


SYNCED_MODELS: dict[str, type[Synced]] = {
    "plot": DemoPlot, "yield": YieldMeasurement, "observation": Observation, "soil_sample": SoilSample,
    "photo": Photo,
}


def is_control_plot() -> Any:
    """SQL: the plot serves as a live plot's control plot (coverage counts only the demonstrating plots)."""
    # IN over the (few) control plots, computed once: a correlated EXISTS makes SQLite scan every plot per plot
    # when its statistics say the column is mostly empty.
    control = DemoPlot.__table__.alias("control_of")
    return DemoPlot.id.in_(select(control.c.control_plot_id).where(control.c.control_plot_id.is_not(None),
                                                                   control.c.deleted.is_(False)))
