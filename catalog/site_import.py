"""Completing a county list (创新型县, 重点帮扶县) from an official file, CSV or XLSX.

Columns (header names in Chinese or English): 省份/province and 县名/name are required; 地市/prefecture
narrows an ambiguous name; 批次/batch is stored. Each name is matched within its province
(``catalog.county_names``). A file with any bad row imports nothing and raises ``ValidationFailed`` listing
every bad row, unless ``good_only``; a county already on the list is updated, never duplicated (its site id is
``<list>-<code>``). The caller owns the transaction: a dry run is a rollback.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from catalog.county_names import CountyNames, Match, clean
from catalog.errors import FieldError, ValidationFailed
from catalog.sites import (
    Site,
    SiteDivision,
    SiteList,
    county_site_id,
    get_site_list,
    list_counts,
    refresh_list,
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "province": ("省份", "省", "省份名称", "省(区、市)", "省（区、市）", "省区市", "province"),
    "name": ("县名", "县", "县(市、区)", "县（市、区）", "县市区", "县区", "名称", "name", "county"),
    "prefecture": ("地市", "市", "地级市", "市州", "地区", "prefecture", "city"),
    "batch": ("批次", "batch"),
}
REQUIRED = ("province", "name")
COUNTY_KINDS = ("innovation_county", "key_county")
HEADER_SEARCH_ROWS = 20


@dataclass(frozen=True)
class ImportedRow:
    row: int
    given: str
    code: str
    name: str
    how: str
    site_id: str
    action: str  # "created" | "updated" | "unchanged" | "duplicate" (the same county earlier in the file)


@dataclass
class ImportReport:
    list_id: str
    rows: int = 0
    imported: list[ImportedRow] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    list_count: int = 0
    list_complete: bool = False

    def count(self, action: str) -> int:
        return sum(1 for r in self.imported if r.action == action)


# --------------------------------------------------------------------------------------------------- reading


def read_table(path: Path) -> tuple[int, list[str], list[list[str]]]:
    """(header row number, header, data rows) of the first sheet of an XLSX file, or of a CSV file.

    CSV is read as UTF-8 (with or without BOM), falling back to GB18030, which Excel on Chinese Windows writes.
    Row numbers are the spreadsheet's (1-based), so an officer finds the row the report names.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]
    # The header is the first row naming the required columns: official files put a title above it.
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if all(key in _columns(row) for key in REQUIRED):
            return i + 1, row, rows[i + 1:]
    for i, row in enumerate(rows):
        if any(row):
            return i + 1, row, rows[i + 1:]
    return 0, [], []


def _xlsx_rows(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return [[_cell(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()  # read-only workbooks keep the file open until closed


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _columns(header: list[str]) -> dict[str, int]:
    wanted = {clean(alias).lower(): key for key, aliases in COLUMNS.items() for alias in aliases}
    out: dict[str, int] = {}
    for i, title in enumerate(header):
        key = wanted.get(clean(title).lower())
        if key and key not in out:
            out[key] = i
    return out


# --------------------------------------------------------------------------------------------------- importing


def import_sites(session: Session, path: Path, list_id: str, good_only: bool = False) -> ImportReport:
    """Match every row of ``path`` and add its counties to the list; see the module docstring."""
    site_list = get_site_list(session, list_id)
    if site_list.kind not in COUNTY_KINDS:
        raise ValidationFailed([FieldError(
            "list", "not_a_county_list", zh=f"名单“{list_id}”不是县级名单，不能按县名导入",
            en=f"List '{list_id}' is not a county list; counties cannot be imported into it", value=list_id)])
    header_row, header, rows = read_table(path)
    columns = _columns(header)
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        raise ValidationFailed([
            FieldError(key, "missing_column", zh=f"缺少“{COLUMNS[key][0]}”列",
                       en=f"The file has no '{key}' column ({' / '.join(COLUMNS[key])})", row=header_row)
            for key in missing
        ])

    names = CountyNames(session)
    report = ImportReport(list_id=list_id)
    good: list[tuple[int, str, str, str | None, Match]] = []
    for offset, row in enumerate(rows, start=header_row + 1):
        if not any(row):
            continue
        report.rows += 1
        values = {key: row[i] if i < len(row) else "" for key, i in columns.items()}
        outcome = _match_row(names, offset, values)
        if isinstance(outcome, Match):
            good.append((offset, values["name"], outcome.codes[0], values.get("batch") or None, outcome))
        else:
            report.errors += outcome

    if report.errors and not good_only:
        raise ValidationFailed(report.errors, en=f"{len(report.errors)} bad rows; nothing was imported",
                               zh=f"有 {len(report.errors)} 行数据有误，未导入任何数据", list_id=list_id,
                               rows=report.rows)
    if not good:
        raise ValidationFailed(report.errors or [FieldError(
            "_file", "empty", zh="文件中没有数据行", en="The file has no data rows", row=header_row or None)],
            en="Nothing to import", zh="没有可导入的数据", list_id=list_id, rows=report.rows)

    seen: set[str] = set()
    for row_no, given, code, batch, match in good:
        report.imported.append(_upsert(session, names, site_list, path.name, row_no, given, code, batch, match,
                                       duplicate=code in seen))
        seen.add(code)
    refresh_list(session, list_id)
    session.flush()
    report.list_count = list_counts(session).get(list_id, (0, 0))[0]
    report.list_complete = site_list.complete
    return report


def _match_row(names: CountyNames, row: int, values: dict[str, str]) -> Match | list[FieldError]:
    """The one county a row names, or why not."""
    province_value, name = values.get("province", ""), values.get("name", "")
    errors: list[FieldError] = []
    if not province_value:
        errors.append(FieldError("province", "required", zh="省份为空", en="The province is empty", row=row))
    if not name:
        errors.append(FieldError("name", "required", zh="县名为空", en="The county name is empty", row=row))
    if errors:
        return errors
    province = names.province(province_value)
    if province is None:
        return [FieldError("province", "unknown_province", zh=f"无法识别的省份“{province_value}”",
                                 en=f"Unknown province '{province_value}'", row=row, value=province_value)]
    prov_name = names.divisions[province].name
    match = names.match(province, name, values.get("prefecture"))
    if not match.codes:
        return [FieldError("name", "unmatched", zh=f"在{prov_name}找不到“{name}”（含曾用名和简称）",
                                 en=f"No county '{name}' in {prov_name} (current, former or short names)",
                                 row=row, value=name)]
    if len(match.codes) > 1:
        listed = "、".join(f"{c} {names.divisions[c].name}（{names.prefecture_name(c) or prov_name}）"
                          for c in match.codes)
        hint_zh = "请填写“地市”列区分" if not values.get("prefecture") else "“地市”列也无法区分"
        hint_en = "fill in the prefecture column" if not values.get("prefecture") else "the prefecture does not decide"
        return [FieldError("name", "ambiguous", zh=f"“{name}”在{prov_name}对应多个县：{listed}；{hint_zh}",
                                 en=f"'{name}' matches several counties in {prov_name}: "
                                    + ", ".join(f"{c} ({names.prefecture_name(c) or prov_name})" for c in match.codes)
                                    + f"; {hint_en}",
                                 row=row, value=name)]
    return match


def _upsert(session: Session, names: CountyNames, site_list: SiteList, file_name: str, row: int, given: str,
            code: str, batch: str | None, match: Match, duplicate: bool) -> ImportedRow:
    division = names.divisions[code]
    site_id = county_site_id(site_list.id, code)
    how = match.how or "name"
    if duplicate:
        return ImportedRow(row, given, code, division.name, how, site_id, "duplicate")
    site = session.get(Site, site_id)
    wanted = {"name": division.name, "province_code": division.province_code, "place_code": code}
    if batch:
        wanted["batch"] = batch
    if site is None:
        note = f"imported from {file_name} row {row}" + (f" as “{given}” ({how})" if given != division.name else "")
        session.add(Site(id=site_id, list_id=site_list.id, kind=site_list.kind, status="listed", active=True,
                         notes=note, **wanted))
        session.add(SiteDivision(site_id=site_id, division_code=code))
        action = "created"
    else:
        changed = {k: v for k, v in wanted.items() if getattr(site, k) != v}
        for key, value in changed.items():
            setattr(site, key, value)
        if session.get(SiteDivision, (site_id, code)) is None:
            session.add(SiteDivision(site_id=site_id, division_code=code))
        action = "updated" if changed else "unchanged"
    return ImportedRow(row, given, code, division.name, how, site_id, action)
