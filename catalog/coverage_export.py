"""The coverage of a scope and season as tables: one XLSX sheet per table, or one CSV (UTF-8 with BOM) per table.

Numbers are real numbers (areas in 亩, gains and shares in %), never text; every table that shows yields says
which review level its figures stand on (审核层级: how many plots' figures rest on 县级自测, 市级初测, 省级复测,
部级抽测), and only approved measurements enter a figure. The command line (``yuanxian report coverage``) and the
dashboard's export write the same tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from catalog.codelists import all_codes
from catalog.coverage import BASELINE_NAMES, LEVEL_NAMES, Coverage, CoverageRow, coverage
from catalog.db import BEIJING
from catalog.field import LEVELS
from catalog.gaps import Gaps, gaps
from catalog.result_io import csv_lines, safe_text
from catalog.seasons import season_name
from catalog.targets import TargetProgress, progress

LEVEL_ROW_NAMES = {"country": "全国", "province": "省", "prefecture": "市", "county": "县", "site": "站点"}
SITE_KIND_NAMES = {"park": "农业科技园区", "innovation_county": "创新型县（市）", "key_county": "重点帮扶县"}
UNIT_NAMES = {"count": "个", "mu": "亩", "pct": "%", "scenarios": "类", "grade": "等"}
REASON_NAMES = {"below_median": "完成率低于全国中位数", "deadline_passed": "已过截止日期仍未完成计划",
                "no_plan": "本季未填报计划"}
FLAG_NAMES = {"outside_county": "超出所在县", "overlaps": "与其他地块重叠", "implausible_yield": "产量异常"}
_BOLD = Font(bold=True)


@dataclass
class Table:
    """One table of the report: a sheet of the workbook, a CSV file."""

    key: str                    # file-name part: scope, children, sites, gains, land, targets, gap_sites …
    title: str                  # sheet name (Chinese, ≤ 31 characters)
    headers: list[str]
    rows: list[list[Any]]
    widths: list[int] | None = None


def _mu(m2: float | None) -> float | None:
    from gis.area import M2_PER_MU

    return None if m2 is None else round(m2 / M2_PER_MU, 2)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _pct(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 2)


def _levels(row: CoverageRow) -> list[Any]:
    return [row.review_levels.get(lv, 0) for lv in LEVELS]


ROW_HEADERS = ["代码", "名称", "层级", "类型", "成果对接数", "成果落地数", "示范地块数", "示范面积（亩）",
               "品种示范面积（亩）", "耕地质量核心示范面积（亩）", "上报推广面积（亩）", "上报辐射面积（亩）",
               "测产记录数", "已审核测产数", "有已审核测产的地块数",
               *(f"审核层级：{LEVEL_NAMES[lv][0]}（地块）" for lv in LEVELS),
               "计划地块数", "计划面积（亩）", "完成地块数（计划县）", "按期", "逾期", "完成率（%）", "截止日期",
               "对接活动数", "需求待对接", "需求已对接"]


def _row_cells(row: CoverageRow) -> list[Any]:
    c = row.completeness
    return [row.code, row.name, LEVEL_ROW_NAMES.get(row.level, row.level), SITE_KIND_NAMES.get(row.kind or "", ""),
            row.results_matched, row.results_landed, row.plots, _mu(row.plot_area_m2), _mu(row.variety_area_m2),
            _mu(row.land_area_m2), _mu(row.extension_area_m2), _mu(row.radiated_area_m2), row.measurements,
            row.approved_measurements, row.measured_plots, *_levels(row), c.expected or None,
            _mu(c.expected_area_m2) if c.expected else None, c.approved if c.expected else None,
            c.on_time if c.expected else None, c.late if c.expected else None, _pct(c.share), c.deadline,
            row.events_held, row.needs_open, row.needs_met]


def coverage_tables(session: Session, scope: str | None, season: str, *, today: dt.date | None = None,
                    cov: Coverage | None = None, targets: list[TargetProgress] | None = None,
                    found: Gaps | None = None) -> list[Table]:
    """Every table of the coverage report of ``scope`` and ``season`` (computed here unless given)."""
    cov = cov or coverage(session, scope, season, today=today)
    targets = targets if targets is not None else progress(session, cov.scope.code, cov.season, cov=cov, today=today)
    found = found or gaps(session, cov.scope.code, cov.season, today=today, cov=cov)
    codes = all_codes(session)
    crop_names = {k: v.name_zh for k, v in codes.get("crop", {}).items()}
    scenario_names = {k: v.name_zh for k, v in codes.get("land_scenario", {}).items()}
    rows = [cov.scope, *cov.children, *cov.sites] if cov.scope.level != "site" else [cov.scope]

    tables = [
        Table("scope", "概况", ["项目", "内容"], [
            ["范围", f"{cov.scope.name}（{cov.scope.code}）"], ["季别", season_name(session, cov.season)],
            ["季别代码", cov.season],
            ["计算时间（北京时间）", cov.computed_at.astimezone(BEIJING).replace(tzinfo=None)],
            ["审核层级", cov.scope.review_basis()],
            ["说明", "产量与增产只计已审核测产，每块地取其最高层级的已审核测产"
                   "（部级抽测 > 省级复测 > 市级初测 > 县级自测），按地块面积加权；"
                   "上报推广、辐射面积单列，不计入实测示范面积。"]], [22, 90]),
        Table("figures", "覆盖情况", ROW_HEADERS, [_row_cells(cov.scope)]),
    ]
    if cov.children:
        tables.append(Table("children", "下级区划", ROW_HEADERS, [_row_cells(r) for r in cov.children]))
    if cov.sites and cov.scope.level != "site":
        tables.append(Table("sites", "站点", ROW_HEADERS, [_row_cells(r) for r in cov.sites]))
    gains = []
    for r in rows:
        for g in r.gains:
            gains.append([r.code, r.name, "品种示范" if g.demo_type == "variety" else "耕地质量提升",
                          crop_names.get(g.crop or "", g.crop or "全部作物"),
                          BASELINE_NAMES.get(g.baseline_type or "", ("全部对照类型",))[0], g.plots, _mu(g.area_m2),
                          _r(g.yield_kg_per_mu, 1), _r(g.gain_pct, 2), r.review_basis()])
    tables.append(Table("gains", "增产", ["代码", "名称", "示范类型", "作物", "对照类型", "地块数", "面积（亩）",
                                         "面积加权亩产（kg/亩）", "面积加权增产（%）", "审核层级"], gains))
    land = []
    for r in rows:
        for lf in r.land:
            land.append([r.code, r.name, scenario_names.get(lf.land_scenario or "", lf.land_scenario or "未注明"),
                         lf.plots, _mu(lf.area_m2), lf.graded_plots, _mu(lf.graded_area_m2), _r(lf.grade_change, 2)])
    tables.append(Table("land", "耕地质量", ["代码", "名称", "耕地类型", "核心示范地块数", "核心示范面积（亩）",
                                           "有两次以上评价的地块数", "其面积（亩）", "面积加权等级提升（等）"], land))
    tables.append(Table("targets", "目标进度", ["目标", "单位", "累计方式", "目标值", "当前值", "完成比例（%）",
                                              "其中", "主要贡献（下级）", "主要贡献（站点）", "依据"], [
        [t.name_zh, UNIT_NAMES.get(t.unit, t.unit), "累计" if t.accumulate == "cumulative" else "本季", t.target,
         _r(t.value, 2), _pct(t.share),
         "；".join(f"{_part_name(k)} {v:,.2f}" for k, v in t.parts.items()),
         "；".join(f"{c.name} {c.value:,.2f}" for c in t.contributors),
         "；".join(f"{c.name} {c.value:,.2f}" for c in t.sites), t.basis] for t in targets]))
    tables.append(Table("gap_sites", "缺口-站点", ["站点", "名称", "类型", "省份代码", "无落地成果", "本季无示范地块",
                                              "本季无已审核测产"], [
        [g.site_id, g.name, SITE_KIND_NAMES.get(g.kind, g.kind), g.province_code, _yes(g.no_landed_result),
         _yes(g.no_demo_plot), _yes(g.no_yield)] for g in found.sites]))
    tables.append(Table("gap_counties", "缺口-重点帮扶县", ["站点", "县代码", "名称", "计划地块数", "完成地块数",
                                                      "完成率（%）", "全国中位数（%）", "截止日期", "原因"], [
        [b.site_id, b.county_code, b.name, b.expected, b.approved, _pct(b.share), _pct(found.median_share),
         b.deadline, "；".join(REASON_NAMES.get(x, x) for x in b.reasons)] for b in found.behind]))
    tables.append(Table("gap_plots", "缺口-待核地块", ["地块ID", "名称", "县代码", "作物", "问题",
                                                   "已审核亩产（kg/亩）", "合理下限", "合理上限"], [
        [f.plot_id, f.name, f.county_code, crop_names.get(f.crop, f.crop),
         "；".join(FLAG_NAMES.get(x, x) for x in f.flags), _r(f.yield_kg_per_mu, 1),
         _r(f.fence[0], 1) if f.fence else None, _r(f.fence[1], 1) if f.fence else None] for f in found.flagged]))
    if cov.plots:
        tables.append(Table("plots", "地块", ["地块ID", "名称", "县代码", "作物", "品种", "示范类型", "面积（亩）",
                                             "审核层级", "测产方法", "亩产（kg/亩）", "增产（%）", "对照类型",
                                             "测产日期", "标记"], [
            [p.id, p.name, p.county_code, crop_names.get(p.crop, p.crop), p.variety,
             "品种示范" if p.demo_type == "variety" else "耕地质量提升", _mu(p.area_m2),
             LEVEL_NAMES[p.level][0] if p.level else "无已审核测产",
             {"harvest": "实收测产", "theoretical": "理论测产"}.get(p.method or "", None), _r(p.yield_kg_per_mu, 1),
             _r(p.gain_pct, 2), BASELINE_NAMES.get(p.baseline_type or "", (None,))[0], p.measured_on,
             "；".join(FLAG_NAMES.get(x, x) for x in p.flags)] for p in cov.plots]))
    return tables


def _part_name(key: str) -> str:
    return {"walked_mu": "实测示范（亩）", "reported_mu": "上报推广（亩）"}.get(
        key, BASELINE_NAMES.get(key, (key,))[0] + "（%）")


def _yes(flag: bool) -> str:
    return "是" if flag else ""


def _cell(ws: Any, value: Any, bold: bool = False) -> Any:
    cell = WriteOnlyCell(ws, value=safe_text(value) if isinstance(value, str) else value)
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"
    if isinstance(value, dt.datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"
    if bold:
        cell.font = _BOLD
    return cell


def write_xlsx(tables: list[Table], out: IO[bytes]) -> None:
    """One sheet per table, the header row bold and frozen; numbers stay numbers."""
    wb = Workbook(write_only=True)
    for t in tables:
        ws = wb.create_sheet(t.title[:31])
        for i, h in enumerate(t.headers, start=1):
            width = t.widths[i - 1] if t.widths and i <= len(t.widths) else max(10, min(30, len(h) * 2 + 2))
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        ws.append([_cell(ws, h, bold=True) for h in t.headers])
        for r in t.rows:
            ws.append([_cell(ws, v) for v in r])
    wb.save(out)


def csv_bytes(table: Table) -> Iterator[bytes]:
    """One table as CSV: UTF-8 with BOM, CRLF (what Excel on Chinese Windows opens)."""
    def rows() -> Iterator[list[Any]]:
        yield table.headers
        for r in table.rows:
            yield [v.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if isinstance(v, dt.datetime) and v.tzinfo
                   else v for v in r]
    return csv_lines(rows())
