"""Import of a county's existing plot and yield ledger (台账) from XLSX or CSV: all or nothing unless asked for the
good rows only.

One sheet (``台账``, else the first), one row per yield measurement of a plot, the plot's columns beside it: rows
with the same county, season and plot name are one plot (its columns are read from its first row), each row's
yield columns (when 测产方法 is filled) add one measurement. A plot without a yield has its yield columns empty.
Values may be codes or Chinese names (作物 玉米 or maize, 季别 2026秋粮 or 2026-autumn_grain). Percent columns
(含水率（%）…) take numbers such as 13.8, not Excel's percent format. 边界 is WKT or GeoJSON in the 坐标系 given
(WGS-84 by default); without a boundary the ledger's 面积（亩） is kept as the plot's area.

Every row is checked through ``catalog.field_rules`` before anything is written; a file with a bad row writes
nothing (``ValidationFailed`` lists every row and field in zh/en) unless ``good_only``. Importing the same ledger
again finds its plots (county, season, name) and measurements (plot, method, level, date) and creates no copies.
The caller owns the transaction and commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import review
from catalog.access import Actor, Grant
from catalog.codelists import current_codes
from catalog.db import new_id
from catalog.errors import FieldError, ValidationFailed
from catalog.field import DemoPlot, YieldMeasurement
from catalog.field_access import can_import
from catalog.field_rules import apply_plot, apply_yield, clean_plot, clean_yield
from catalog.result_io import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, cell_text, header_key, read_table
from gis.area import M2_PER_MU


@dataclass(frozen=True)
class LedgerColumn:
    header: str
    field: str
    en: str
    kind: str = "text"  # text | number | percent | code:<list> | choice:<map> | season | date | list
    required: bool = False
    yield_column: bool = False


_METHODS = {"实收": "harvest", "实收测产": "harvest", "实打实收": "harvest", "理论": "theoretical",
            "理论测产": "theoretical"}
_LEVELS = {"县": "county", "县级": "county", "市": "city", "市级": "city", "省": "province", "省级": "province",
           "部": "ministry", "部级": "ministry"}
_BASELINES = {"对照田": "control_plot", "对照品种": "check_variety", "ck": "check_variety",
              "县平均": "county_average", "全县平均": "county_average"}
_DEMO = {"品种示范": "variety", "耕地质量提升": "land_quality", "耕地质量提升核心示范": "land_quality"}
_CRS = {"wgs-84": "wgs84", "wgs84": "wgs84", "gcj-02": "gcj02", "gcj02": "gcj02", "bd-09": "bd09", "bd09": "bd09",
        "cgcs2000": "cgcs2000", "高德": "gcj02", "腾讯": "gcj02", "百度": "bd09", "gps": "wgs84"}
CHOICES = {"method": _METHODS, "level": _LEVELS, "baseline_type": _BASELINES, "demo_type": _DEMO, "source_crs": _CRS}

COLUMNS: tuple[LedgerColumn, ...] = (
    LedgerColumn("县代码", "county_code", "County code"),
    LedgerColumn("地块名称", "name", "Plot name", required=True),
    LedgerColumn("季别", "season", "Season", "season", required=True),
    LedgerColumn("作物", "crop", "Crop", "code:crop", required=True),
    LedgerColumn("品种", "variety", "Variety"),
    LedgerColumn("示范类型", "demo_type", "Demo type", "choice"),
    LedgerColumn("耕地场景", "land_scenario", "Land scenario", "code:land_scenario"),
    LedgerColumn("边界", "boundary", "Boundary (WKT or GeoJSON)"),
    LedgerColumn("坐标系", "source_crs", "CRS", "choice"),
    LedgerColumn("面积（亩）", "area_mu", "Area (mu)", "number"),
    LedgerColumn("农户", "farmer_name", "Farmer"),
    LedgerColumn("联系电话", "farmer_phone", "Phone"),
    LedgerColumn("合作社", "cooperative", "Cooperative"),
    LedgerColumn("对照田", "control_plot", "Control plot (name)"),
    LedgerColumn("备注", "notes", "Notes"),
    LedgerColumn("测产方法", "method", "Method", "choice", yield_column=True),
    LedgerColumn("测产级别", "level", "Level", "choice", yield_column=True),
    LedgerColumn("测产日期", "measured_on", "Date measured", "date", yield_column=True),
    LedgerColumn("测产作物", "yield_crop", "Crop measured (rice type)", "code:crop", yield_column=True),
    LedgerColumn("收获面积（亩）", "s.area_mu", "Harvested area (mu)", "number", yield_column=True),
    LedgerColumn("鲜重（kg）", "s.fresh_kg", "Fresh weight (kg)", "number", yield_column=True),
    LedgerColumn("含水率（%）", "s.moisture", "Moisture (%)", "percent", yield_column=True),
    LedgerColumn("杂质率（%）", "s.impurity", "Impurity (%)", "percent", yield_column=True),
    LedgerColumn("出粒率（%）", "s.shelling_rate", "Shelling rate (%)", "percent", yield_column=True),
    LedgerColumn("亩穗数", "s.ears_per_mu", "Ears per mu", "number", yield_column=True),
    LedgerColumn("穗粒数", "s.grains_per_ear", "Grains per ear", "number", yield_column=True),
    LedgerColumn("结实率（%）", "s.seed_setting", "Seed setting (%)", "percent", yield_column=True),
    LedgerColumn("千粒重（g）", "s.thousand_grain_g", "1000-grain weight (g)", "number", yield_column=True),
    LedgerColumn("对照产量（kg/亩）", "baseline_kg_per_mu", "Baseline (kg/mu)", "number", yield_column=True),
    LedgerColumn("对照类型", "baseline_type", "Baseline type", "choice", yield_column=True),
    LedgerColumn("测产专家", "panel", "Panel", "list", yield_column=True),
)
BY_FIELD = {c.field: c for c in COLUMNS}
# A field error of field_rules → the column the user sees.
_RULE_FIELD = {"samples": "s.fresh_kg", "crop": "crop", "boundary": "boundary"}
STATUSES = ("created", "updated", "unchanged", "skipped")


@dataclass(frozen=True)
class RowOutcome:
    row: int
    kind: str  # plot | yield
    status: str
    name: str
    record_id: str | None = None


@dataclass
class LedgerReport:
    file: str
    rows: int
    dry_run: bool
    good_only: bool
    outcomes: list[RowOutcome] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    def count(self, kind: str, status: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind and o.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "dry_run": self.dry_run, "good_only": self.good_only,
                **{f"{k}_{s}": self.count(k, s) for k in ("plot", "yield") for s in STATUSES},
                "outcomes": [dataclasses.asdict(o) for o in self.outcomes],
                "errors": [e.as_dict() for e in self.errors], "warnings": [w.as_dict() for w in self.warnings]}


def _fail(errors: list[FieldError], row: int, col: LedgerColumn, code: str, zh: str, en: str, value: Any = None
          ) -> None:
    errors.append(FieldError(col.field, code, f"{col.header}：{zh}", f"{col.en}: {en}", row, value))


@dataclass
class _Row:
    row: int
    plot: dict[str, Any]
    yield_data: dict[str, Any] | None
    control: str | None
    area_mu: float | None
    errors: list[FieldError]


class _Reader:
    def __init__(self, session: Session, headers: list[str], county: str | None) -> None:
        lookup = {header_key(n): c for c in COLUMNS for n in (c.header, c.field)}
        self.columns = [lookup.get(header_key(h)) if h else None for h in headers]
        self.session, self.county = session, county
        self.names: dict[str, dict[str, str]] = {}
        missing = [c for c in COLUMNS if c.required and c not in self.columns]
        if county is None and BY_FIELD["county_code"] not in self.columns:
            missing.insert(0, BY_FIELD["county_code"])
        if missing:
            raise ValidationFailed([FieldError(c.field, "missing_column", f"缺少必填列“{c.header}”",
                                               f"The required column '{c.header}' ({c.field}) is missing", row=1)
                                    for c in missing], zh="表头有误，未导入任何数据",
                                   en="The header row is wrong; nothing was imported")

    def code(self, list_id: str, text: str) -> str:
        if list_id not in self.names:
            codes = current_codes(self.session, list_id)
            self.names[list_id] = {k: c.code for c in codes.values() for k in (c.code.lower(), c.name_zh,
                                                                                  c.name_en.lower())}
        return self.names[list_id].get(text.lower(), self.names[list_id].get(text, text))

    def season(self, text: str) -> str:
        m = re.match(r"^(\d{4})\s*(?:年|-|\s)?\s*(.+)$", text)
        return f"{m.group(1)}-{self.code('season', m.group(2).strip())}" if m else text

    def read(self, row: int, cells: list[Any]) -> _Row:
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        for i, col in enumerate(self.columns):
            text = cell_text(cells[i]) if col is not None and i < len(cells) else None
            if col is None or text is None:
                continue
            kind = col.kind
            if kind in ("number", "percent"):
                try:
                    number = float(text.rstrip("%").strip())
                except ValueError:
                    _fail(errors, row, col, "invalid", "应为数字", "Not a number", text)
                    continue
                values[col.field] = number / 100 if kind == "percent" else number
            elif kind.startswith("code:"):
                values[col.field] = self.code(kind[5:], text)
            elif kind == "choice":
                values[col.field] = CHOICES[col.field].get(text.lower(), CHOICES[col.field].get(text, text))
            elif kind == "season":
                values[col.field] = self.season(text)
            else:
                values[col.field] = text
        if self.county and not values.get("county_code"):
            values["county_code"] = self.county
        plot = {c.field: values[c.field] for c in COLUMNS if not c.yield_column and c.field in values
                and c.field not in ("area_mu", "control_plot")}
        data = None
        if any(c.yield_column and c.field in values for c in COLUMNS):
            sample = {k[2:]: v for k, v in values.items() if k.startswith("s.")}
            data = {k: v for k, v in values.items() if k in ("method", "level", "measured_on",
                                                             "baseline_kg_per_mu", "baseline_type", "panel")}
            data["samples"] = [sample]
            if values.get("yield_crop"):
                data["crop"] = values["yield_crop"]
        return _Row(row, plot, data, values.get("control_plot"), values.get("area_mu"), errors)


def _located(error: FieldError, row: int) -> FieldError:
    name = error.field.split(".")[0]
    col = BY_FIELD.get(name) or BY_FIELD.get(_RULE_FIELD.get(name, ""))
    if error.field.startswith("samples."):
        col = None  # a sample's error names its value; the sample is the row itself
    if col is None:
        return dataclasses.replace(error, row=row)
    return dataclasses.replace(error, row=row, zh=f"{col.header}：{error.zh}", en=f"{col.en}: {error.en}")


@dataclass
class _PlotPlan:
    key: tuple[str, str, str]
    first: _Row
    rows: list[_Row]
    plot_id: str
    existing: DemoPlot | None
    control_key: tuple[str, str, str] | None = None  # a control plot of this file
    control_id: str | None = None  # a control plot already stored
    ok: bool = True


def import_ledger(session: Session, content: bytes, filename: str, *, actor: Actor, county: str | None = None,
                  good_only: bool = False, dry_run: bool = False, max_rows: int = DEFAULT_MAX_ROWS,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> LedgerReport:
    """Import a ledger; raise ValidationFailed (row-numbered, zh/en) when nothing is imported: the file has bad
    rows and ``good_only`` is off, or no row is good. ``dry_run`` checks everything and writes nothing."""
    table = read_table(content, filename, max_rows=max_rows, max_bytes=max_bytes, sheet="台账")
    reader = _Reader(session, table.headers, county)
    report = LedgerReport(filename, len(table.rows), dry_run, good_only)
    if not table.rows:
        raise ValidationFailed([FieldError("file", "empty", "文件中没有数据行", "The file has no data rows")],
                               zh="文件中没有数据行", en="The file has no data rows")
    rows = [reader.read(n, cells) for n, cells in table.rows]
    plans = _plan_plots(session, rows, actor)
    yields = _plan_yields(session, plans)
    for plan in plans.values():
        for r in plan.rows:
            report.errors.extend(r.errors)
    report.errors.sort(key=lambda e: (e.row or 0, e.field))
    good = [p for p in plans.values() if p.ok]
    if report.errors and (not good_only or not good):
        bad = len({e.row for e in report.errors})
        raise ValidationFailed(report.errors,
                               zh=f"台账有 {bad} 行数据有误，未导入任何数据；请修改后重新导入，或选择只导入正确的行",
                               en=f"{bad} row(s) have errors; nothing was imported. Fix them, or import the good "
                                  "rows only", rows=report.rows, bad_rows=bad)
    if dry_run:
        for plan in good:
            report.outcomes.append(RowOutcome(plan.first.row, "plot", "updated" if plan.existing else "created",
                                              plan.first.plot.get("name", ""), plan.plot_id))
        for bad_row in sorted({e.row for e in report.errors if e.row}):
            report.outcomes.append(RowOutcome(bad_row, "plot", "skipped", ""))
        report.outcomes.sort(key=lambda o: o.row)
        return report
    _write(session, actor, plans, yields, report)
    report.outcomes.sort(key=lambda o: (o.row, o.kind))
    return report


def _plan_plots(session: Session, rows: list[_Row], actor: Actor) -> dict[tuple[str, str, str], _PlotPlan]:
    plans: dict[tuple[str, str, str], _PlotPlan] = {}
    for r in rows:
        key = (str(r.plot.get("county_code") or ""), str(r.plot.get("season") or ""), str(r.plot.get("name") or ""))
        if key in plans:
            plans[key].rows.append(r)
            continue
        existing = session.scalar(select(DemoPlot).where(
            DemoPlot.county_code == key[0], DemoPlot.season == key[1], DemoPlot.name == key[2],
            DemoPlot.deleted.is_(False)).limit(1)) if all(key) else None
        plans[key] = _PlotPlan(key, r, [r], existing.id if existing else new_id(), existing)
    by_name = {(k[0], k[1], k[2]): p for k, p in plans.items()}
    for plan in plans.values():
        r = plan.first
        if r.errors:
            plan.ok = False
            continue
        if r.plot.get("county_code") and not can_import(actor, r.plot["county_code"]):
            _fail(r.errors, r.row, BY_FIELD["county_code"], "forbidden", "只能导入本县的台账",
                  "You may import only your own county's ledger", r.plot["county_code"])
        data = dict(r.plot)
        if r.control:
            ckey = (plan.key[0], plan.key[1], r.control)
            if ckey in by_name and ckey != plan.key:
                plan.control_key = ckey  # a plot of this file: linked once it is written
            else:
                control = session.scalar(select(DemoPlot.id).where(
                    DemoPlot.county_code == plan.key[0], DemoPlot.name == r.control, DemoPlot.deleted.is_(False),
                    DemoPlot.id != plan.plot_id).limit(1))
                if control is None:
                    _fail(r.errors, r.row, BY_FIELD["control_plot"], "not_found", "找不到该对照田",
                          "No such control plot", r.control)
                data["control_plot_id"] = plan.control_id = control
        if plan.existing is not None:
            data = {k: v for k, v in data.items() if k != "county_code"}
        _clean, errors = clean_plot(session, data, plan.existing is not None, current=plan.existing)
        r.errors.extend(_located(e, r.row) for e in errors if e.field != "control_plot_id" or not r.control)
        plan.ok = not r.errors
    return plans


def _transient(plan: _PlotPlan, session: Session) -> DemoPlot:
    if plan.existing is not None:
        return plan.existing
    clean, _errors = clean_plot(session, plan.first.plot)
    area = clean.get("area_m2") or (plan.first.area_mu * M2_PER_MU if plan.first.area_mu else None)
    return DemoPlot(id=plan.plot_id, crop=clean.get("crop"), area_m2=area, season=clean.get("season"),
                    county_code=clean.get("county_code"), boundary=clean.get("boundary"))


def _plan_yields(session: Session, plans: Mapping[tuple[str, str, str], _PlotPlan]
                 ) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for plan in plans.values():
        # Yields are checked even when their plot has errors, so every bad field is reported at once.
        plot = _transient(plan, session)
        for r in plan.rows:
            if r is not plan.first and r.errors:
                plan.ok = False
            if r.yield_data is None or plot.crop is None:
                continue
            if r.yield_data.get("baseline_type") == "control_plot" and r.yield_data.get("baseline_kg_per_mu") is None:
                r.yield_data.pop("baseline_type")  # resolved from the control plot when written
                r.yield_data["_from_control"] = True
            data = {k: v for k, v in r.yield_data.items() if not k.startswith("_")}
            _clean, errors = clean_yield(session, data, plot=plot)
            r.errors.extend(_located(e, r.row) for e in errors)
            current = _existing_yield(session, plan.plot_id, data) if plan.existing is not None else None
            if not errors and current is not None and review.is_locked(current):
                values, _errors = clean_yield(session, data, True, current=current, plot=plot)
                try:
                    review.ensure_unlocked(current, values)  # as apply_yield would refuse it, but as this row's error
                except review.Locked as exc:
                    r.errors.append(FieldError("yield", exc.code, f"第 {r.row} 行：{exc.zh}", f"Row {r.row}: {exc.en}",
                                               r.row, current.id))
            if r.errors:
                plan.ok = False
            out[r.row] = r.yield_data
    return out


def _write(session: Session, actor: Actor, plans: Mapping[tuple[str, str, str], _PlotPlan],
           yields: Mapping[int, dict[str, Any]], report: LedgerReport) -> None:
    order = sorted((p for p in plans.values() if p.ok), key=lambda p: p.control_key is not None)
    for plan in order:
        r = plan.first
        writer = actor if actor.system else Actor(  # a county officer imports as the county's agent would write
            actor.name, actor.user_id, (*actor.grants, Grant("agent", plan.key[0])), "import", actor.token_id)
        data = dict(r.plot)
        if plan.control_key is not None:
            data["control_plot_id"] = plans[plan.control_key].plot_id
        elif plan.control_id is not None:
            data["control_plot_id"] = plan.control_id
        if plan.existing is not None:
            data.pop("county_code", None)
        applied = apply_plot(session, writer, data, record_id=plan.plot_id)
        if plan.existing is None and applied.record.area_m2 is None and r.area_mu:
            applied.record.area_m2 = r.area_mu * M2_PER_MU  # no boundary: the ledger's area is all there is
            session.flush()
        status = "created" if applied.created else "updated" if applied.changed else "unchanged"
        report.outcomes.append(RowOutcome(r.row, "plot", status, r.plot.get("name", ""), plan.plot_id))
        report.warnings.extend(dataclasses.replace(w, row=r.row) for w in applied.warnings)
        for row in plan.rows:
            planned = yields.get(row.row)
            if planned is None:
                continue
            if planned.pop("_from_control", False):
                planned["baseline_type"] = "control_plot"
            data = {**planned, "plot_id": plan.plot_id}
            existing = _existing_yield(session, plan.plot_id, data)
            done = apply_yield(session, writer, data, record_id=existing.id if existing else None)
            ystatus = "created" if done.created else "updated" if done.changed else "unchanged"
            report.outcomes.append(RowOutcome(row.row, "yield", ystatus, r.plot.get("name", ""), done.record.id))
    for plan in plans.values():
        if not plan.ok:
            for r in plan.rows:
                report.outcomes.append(RowOutcome(r.row, "plot" if r is plan.first else "yield", "skipped",
                                                  plan.key[2]))


def _existing_yield(session: Session, plot_id: str, data: Mapping[str, Any]) -> YieldMeasurement | None:
    """The plot's measurement a ledger row stands for: same method, level and day."""
    return session.scalar(select(YieldMeasurement).where(
        YieldMeasurement.plot_id == plot_id, YieldMeasurement.method == data.get("method"),
        YieldMeasurement.level == (data.get("level") or "county"),
        YieldMeasurement.measured_on == _date(data.get("measured_on")),
        YieldMeasurement.deleted.is_(False)).limit(1))


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
