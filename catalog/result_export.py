"""Result lists to XLSX and CSV, and the import template.

XLSX: a main sheet, one row per result, codes with their Chinese names beside them, real numbers and Beijing-time
datetimes; one sheet per repeated group (institutions in order, suitable regions, key figures, IP) linked by the
result id. CSV: the main sheet as UTF-8 with BOM and CRLF, which Excel on Chinese Windows opens correctly. The
main sheet's importable columns carry the import headers, so an exported file imports again unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.codelists import Code, CodeList, all_codes, current_codes
from catalog.divisions import Division
from catalog.errors import FieldError, ValidationFailed
from catalog.lifecycle import STATE_NAMES
from catalog.privacy import contact_phone
from catalog.result_fields import CODE_FIELDS, IP_KINDS
from catalog.result_io import (
    COLUMNS,
    LIST_SEPARATOR,
    NAME_SUFFIX,
    SOURCE_NAMES,
    Column,
    beijing,
    csv_lines,
    now_beijing,
    safe_text,
)
from catalog.results import Result
from catalog.search import SearchQuery, ordered_ids

DEFAULT_EXPORT_MAX_ROWS = 100_000
CHUNK = 500
IP_NAMES = {"patents": "专利", "variety_rights": "品种权", "approvals": "审定登记号", "software": "软件著作权",
            "standards": "标准"}
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_HEADER_FONT = Font(bold=True)
_REQUIRED_FONT = Font(bold=True, color="C00000")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


# ------------------------------------------------------------------------------------------------- selection


def export_ids(session: Session, query: SearchQuery, max_rows: int = DEFAULT_EXPORT_MAX_ROWS) -> list[str]:
    """Ids of every result the list query matches, in the list's order, in one statement (so a result edited
    during the export is neither skipped nor repeated); refuse more than ``max_rows``."""
    found = ordered_ids(session, query, limit=max_rows + 1)
    if len(found) > max_rows:
        raise ValidationFailed([FieldError("q", "too_many_rows", f"超过 {max_rows} 条，请缩小检索范围后再导出",
                                           f"More than {max_rows} results; narrow the query to export")],
                               zh=f"导出结果超过 {max_rows} 条上限", en=f"The export exceeds {max_rows} results")
    return found


def iter_results(session: Session, ids: list[str]) -> Iterator[Result]:
    """Results in the order of ``ids``, loaded a chunk at a time."""
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        by_id = {r.id: r for r in session.scalars(select(Result).where(Result.id.in_(chunk)))}
        for rid in chunk:
            if rid in by_id:
                yield by_id[rid]


# ---------------------------------------------------------------------------------------------------- labels


class Labels:
    """Chinese names of codes (retired ones too: stored records may hold them) and divisions."""

    def __init__(self, session: Session) -> None:
        self.codes = all_codes(session)
        self.divisions = {code: (name, prov) for code, name, prov in session.execute(
            select(Division.code, Division.name, Division.province_code))}

    def code(self, list_id: str, code: str | None) -> str | None:
        if code is None:
            return None
        c = self.codes.get(list_id, {}).get(code)
        return c.name_zh if c else code

    def codes_of(self, list_id: str, codes: list[str]) -> str:
        return LIST_SEPARATOR.join(self.code(list_id, c) or c for c in codes)

    def division(self, code: str | None) -> str | None:
        return None if code is None else self.divisions.get(code, (code, code))[0]


def figures_text(figures: list[dict[str, Any]]) -> str:
    """Key figures as the import reads them: 名称：数值单位（依据）."""
    parts = []
    for f in figures or []:
        value = f.get("value")
        number = "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))
        parts.append(f"{f['name']}：{number}{f.get('unit') or ''}" + (f"（{f['evidence']}）" if f.get("evidence")
                                                                         else ""))
    return LIST_SEPARATOR.join(parts)


# -------------------------------------------------------------------------------------------------- main sheet


@dataclass(frozen=True)
class OutColumn:
    header: str
    value: Callable[[Result], Any]
    width: int = 14
    kind: str = "text"  # text | int | datetime


def _field_value(col: Column, labels: Labels, actor: Actor) -> list[OutColumn]:
    """The export column(s) of one import column: codes get a name column beside them."""
    f = col.field
    if f == "contact_phone":
        return [OutColumn(col.header, lambda r: contact_phone(actor, r), 16)]
    if col.kind == "codes":
        dim, list_id = CODE_FIELDS[f]
        return [OutColumn(col.header, lambda r: LIST_SEPARATOR.join(r.codes_of(dim))),
                OutColumn(col.header + NAME_SUFFIX, lambda r: labels.codes_of(list_id, r.codes_of(dim)), 20)]
    if col.kind == "code":
        list_id = col.code_list or f
        return [OutColumn(col.header, lambda r: getattr(r, f)),
                OutColumn(col.header + NAME_SUFFIX, lambda r: labels.code(list_id, getattr(r, f)))]
    if col.kind == "trl":
        return [OutColumn(col.header, lambda r: r.trl, 10, "int")]
    if col.kind == "regions":
        return [OutColumn(col.header, lambda r: LIST_SEPARATOR.join(r.region_codes)),
                OutColumn(col.header + NAME_SUFFIX,
                          lambda r: LIST_SEPARATOR.join(labels.division(c) or c for c in r.region_codes), 24)]
    if col.kind == "province":
        return [OutColumn(col.header, lambda r: r.source_province),
                OutColumn(col.header + NAME_SUFFIX, lambda r: labels.division(r.source_province))]
    if col.kind == "source":
        return [OutColumn(col.header, lambda r: SOURCE_NAMES.get(r.source, r.source))]
    if col.kind == "ip":
        kind = f.removeprefix("ip.")
        return [OutColumn(col.header, lambda r: LIST_SEPARATOR.join((r.ip or {}).get(kind, [])), 18)]
    if col.kind == "figures":
        return [OutColumn(col.header, lambda r: figures_text(r.key_figures), 24)]
    if col.kind == "list":
        return [OutColumn(col.header, lambda r: LIST_SEPARATOR.join(getattr(r, f) or []), 24)]
    width = 40 if f in ("name", "summary") else 16
    return [OutColumn(col.header, lambda r: getattr(r, f), width)]


def main_columns(labels: Labels, actor: Actor) -> list[OutColumn]:
    out = [OutColumn("成果ID", lambda r: r.id, 38)]
    for col in COLUMNS:
        out.extend(_field_value(col, labels, actor))
    out += [
        OutColumn("状态", lambda r: STATE_NAMES.get(r.state, r.state), 10),
        OutColumn("版本", lambda r: r.version, 8, "int"),
        OutColumn("审核意见", lambda r: r.review_comment, 20),
        OutColumn("创建时间", lambda r: beijing(r.created_at), 20, "datetime"),
        OutColumn("更新时间", lambda r: beijing(r.updated_at), 20, "datetime"),
        OutColumn("创建人", lambda r: r.created_by),
        OutColumn("更新人", lambda r: r.updated_by),
    ]
    return out


# ---------------------------------------------------------------------------------------------------- writers


def csv_export(session: Session, ids: list[str], actor: Actor) -> Iterator[bytes]:
    """The main sheet as CSV bytes, produced a chunk of results at a time (phones masked as ``actor`` sees them)."""
    cols = main_columns(Labels(session), actor)

    def rows() -> Iterator[list[Any]]:
        yield [c.header for c in cols]
        for r in iter_results(session, ids):
            yield [c.value(r) for c in cols]

    return csv_lines(rows())


def _cell(ws: Any, value: Any, *, number_format: str | None = None, font: Font | None = None) -> Any:
    cell = WriteOnlyCell(ws, value=safe_text(value) if isinstance(value, str) else value)
    if isinstance(value, str) and cell.data_type == "f":  # text starting '=' is data, never a formula
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    return cell


def _sheet(wb: Workbook, title: str, headers: list[tuple[str, int]]) -> Any:
    ws = wb.create_sheet(title)
    for i, (_h, width) in enumerate(headers, start=1):
        ws.column_dimensions[_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, h, font=_HEADER_FONT) for h, _w in headers])
    return ws


def _letter(i: int) -> str:
    return str(get_column_letter(i))


def write_xlsx(session: Session, ids: list[str], out: IO[bytes], actor: Actor,
               query: SearchQuery | None = None) -> int:
    """Write the results of ``ids`` as an XLSX workbook to ``out``; returns the number of results."""
    labels = Labels(session)
    cols = main_columns(labels, actor)
    wb = Workbook(write_only=True)
    main = _sheet(wb, "成果", [(c.header, c.width) for c in cols])
    link = [("成果ID", 38), ("成果名称", 40)]
    inst = _sheet(wb, "完成单位", [*link, ("序号", 6), ("完成单位", 40)])
    regions = _sheet(wb, "适宜区域",
                     [*link, ("区划代码", 10), ("区划名称", 16), ("所属省份代码", 12), ("所属省份", 14)])
    figures = _sheet(wb, "关键指标", [*link, ("序号", 6), ("指标", 16), ("数值", 10), ("单位", 10), ("依据", 40)])
    ip = _sheet(wb, "知识产权", [*link, ("类别", 12), ("编号或名称", 30)])
    count = 0
    for r in iter_results(session, ids):
        count += 1
        main.append([_cell(main, c.value(r), number_format=DATETIME_FORMAT if c.kind == "datetime" else None)
                     for c in cols])
        for n, name in enumerate(r.institutions or [], start=1):
            inst.append([r.id, _cell(inst, r.name), n, _cell(inst, name)])
        for code in r.region_codes:
            prov = labels.divisions.get(code, (code, code[:2] + "0000"))[1]
            regions.append([r.id, _cell(regions, r.name), code, labels.division(code), prov, labels.division(prov)])
        for n, f in enumerate(r.key_figures or [], start=1):
            figures.append([r.id, _cell(figures, r.name), n, _cell(figures, f.get("name")), f.get("value"),
                            _cell(figures, f.get("unit")), _cell(figures, f.get("evidence"))])
        for kind in IP_KINDS:
            for item in (r.ip or {}).get(kind, []):
                ip.append([r.id, _cell(ip, r.name), IP_NAMES[kind], _cell(ip, item)])
    about = _sheet(wb, "导出说明", [("项目", 14), ("内容", 60)])
    about.append(["导出时间", _cell(about, now_beijing(), number_format=DATETIME_FORMAT)])
    about.append(["时区", "北京时间（UTC+8）"])
    about.append(["成果数", count])
    if query is not None:
        about.append(["检索词", _cell(about, query.q or "（无）")])
        about.append(["筛选条件", _cell(about, "；".join(f"{k}={','.join(v)}" for k, v in query.filters.items())
                                         or "（无）")])
        about.append(["排序", query.sort])
    wb.save(out)
    return count


# --------------------------------------------------------------------------------------------------- template


def template_headers() -> list[str]:
    return [c.header for c in COLUMNS]


def template_csv() -> bytes:
    return b"".join(csv_lines([template_headers()]))


_CODE_SHEETS = ("tech_field", "industry_type", "scenario", "crop", "land_scenario", "trl", "stage", "form",
                "transfer_mode")


def write_template_xlsx(session: Session, out: IO[bytes]) -> None:
    """The import template: the header row to fill in, a sheet explaining each column, and the valid codes."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "成果"
    for i, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i, value=col.header)
        cell.font = _REQUIRED_FONT if col.required else _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.comment = Comment(f"{'必填' if col.required else '选填'}；{col.fmt}\n例：{col.example}", "yuanxian")
        ws.column_dimensions[_letter(i)].width = 40 if col.field in ("name", "summary") else 16
    ws.freeze_panes = "B2"
    _validations(ws)

    help_ws = wb.create_sheet("填写说明")
    help_ws.append(["列名", "英文字段名", "是否必填", "格式", "示例", "代码表"])
    for cell in help_ws[1]:
        cell.font = _HEADER_FONT
    names = {cl.id: cl.name_zh for cl in session.scalars(select(CodeList))}
    for col in COLUMNS:
        help_ws.append([col.header, col.field, "必填" if col.required else "选填", col.fmt, col.example,
                        f"见“代码-{names.get(col.code_list, col.code_list)}”" if col.code_list else ""])
    help_ws.append([])
    for line in ("数据从第2行开始，每行一条成果；请勿修改第1行列名。",
                 "有登记号时以登记号识别同一成果，否则以“项目编号+成果名称”识别；重复导入同一文件不会新增重复成果，"
                 "草稿和已提交的成果会被更新，已审核及以后的成果不会被修改。",
                 "代码列可填代码（如 TF01）或名称（如 种业与生物育种），多个值用；分隔。",
                 "文件有错误时不导入任何数据，并列出每个出错的行和列；也可选择只导入正确的行。"):
        help_ws.append([line])
    for letter, width in zip("ABCDEF", (14, 20, 10, 50, 30, 22), strict=True):
        help_ws.column_dimensions[letter].width = width

    for list_id in _CODE_SHEETS:
        codes: dict[str, Code] = current_codes(session, list_id)
        sheet = wb.create_sheet(f"代码-{names.get(list_id, list_id)}"[:31])
        sheet.append(["代码", "名称", "上级代码", "英文名称"])
        for cell in sheet[1]:
            cell.font = _HEADER_FONT
        for c in codes.values():
            sheet.append([c.code, c.name_zh, c.parent_code, c.name_en])
        for letter, width in zip("ABCD", (10, 26, 10, 40), strict=True):
            sheet.column_dimensions[letter].width = width
    divisions = wb.create_sheet("代码-行政区划")
    divisions.append(["代码", "名称", "级别", "上级代码"])
    level_names = {"province": "省级", "prefecture": "地级", "county": "县级"}
    for code, name, level, parent in session.execute(
            select(Division.code, Division.name, Division.level, Division.parent_code)
            .where(Division.valid_to.is_(None)).order_by(Division.code)):
        divisions.append([code, name, level_names.get(level, level), parent])
    wb.save(out)


def _validations(ws: Any) -> None:
    """Drop-downs on the single-valued columns; multi-valued code columns stay free text."""
    letters = {c.field: _letter(i) for i, c in enumerate(COLUMNS, start=1)}
    picks = {"form": "品种,技术规程,装备,产品,软件,标准", "stage": "初期,中期,成熟应用", "source": "国家,地方"}
    for field, options in picks.items():
        dv = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True, showErrorMessage=True,
                            errorTitle="取值无效", error="请从下拉列表中选择")
        dv.add(f"{letters[field]}2:{letters[field]}20001")
        ws.add_data_validation(dv)
    trl = DataValidation(type="whole", operator="between", formula1="1", formula2="9", allow_blank=True,
                         showErrorMessage=True, errorTitle="取值无效", error="技术成熟度应为1至9的整数")
    trl.add(f"{letters['trl']}2:{letters['trl']}20001")
    ws.add_data_validation(trl)


def export_filename(ext: str, at: dt.datetime | None = None) -> tuple[str, str]:
    """(Chinese name, ASCII fallback) for an export made at ``at`` (Beijing time)."""
    stamp = (at or now_beijing()).strftime("%Y%m%d-%H%M")
    return f"成果清单_{stamp}.{ext}", f"results_{stamp}.{ext}"


def template_filename(ext: str) -> tuple[str, str]:
    return f"成果导入模板.{ext}", f"results_import_template.{ext}"
