"""Bulk import of results from XLSX or CSV, all or nothing unless asked for the good rows only.

Each row is read through the column table of ``result_io``; codes may be given as codes or names (resolved
through the code lists), regions as division codes or unambiguous names. Every row is checked before anything is
written, so a refused file leaves no trace. A row whose key — the registration number where there is one, else
(project number, name) — matches an existing result updates it while it is editable (draft/submitted); otherwise
it is reported as unchanged or locked. The caller owns the transaction and commits.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.access import Actor, can_act, can_read, ensure_can_create
from catalog.codelists import current_codes
from catalog.divisions import Division
from catalog.errors import FieldError, Forbidden, ValidationFailed
from catalog.lifecycle import EDITABLE_STATES
from catalog.result_fields import CODE_FIELDS, as_list, clean_result_fields
from catalog.result_io import (
    COLUMN_BY_FIELD,
    COLUMNS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    Column,
    Table,
    cell_text,
    column_lookup,
    header_key,
    is_export_only,
    read_table,
)
from catalog.result_store import create_result, update_result
from catalog.results import Result

STATUSES = ("created", "updated", "unchanged", "locked", "skipped")
_SOURCE_ALIASES = {"national": "national", "国家": "national", "国家级": "national",
                   "local": "local", "地方": "local", "地方级": "local"}
_TRL = re.compile(r"^(?:trl)?\s*(\d+)\s*(?:级.*)?$", re.IGNORECASE)
_FIGURE = re.compile(r"^(?P<name>[^:：]+)[:：]\s*(?P<value>[-+]?\d+(?:\.\d+)?)?\s*(?P<unit>[^（(]*?)\s*"
                     r"(?:[（(](?P<evidence>.*)[)）])?$")
_FIGURE_SPLIT = re.compile(r"[;；|\n]")


@dataclass(frozen=True)
class RowOutcome:
    row: int
    status: str            # one of STATUSES
    name: str
    result_id: str | None = None


@dataclass
class ImportReport:
    file: str
    format: str
    encoding: str | None
    sheet: str | None
    rows: int
    dry_run: bool
    good_only: bool
    outcomes: list[RowOutcome] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def locked(self) -> int:
        return self.count("locked")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "format": self.format, "encoding": self.encoding, "sheet": self.sheet,
            "rows": self.rows, "dry_run": self.dry_run, "good_only": self.good_only,
            **{s: self.count(s) for s in STATUSES},
            "outcomes": [dataclasses.asdict(o) for o in self.outcomes],
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def import_results(session: Session, content: bytes, filename: str, *, actor: Actor,
                   good_only: bool = False, dry_run: bool = False, max_rows: int = DEFAULT_MAX_ROWS,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> ImportReport:
    """Import the results of an XLSX/CSV file; raise ValidationFailed (row-numbered errors) when nothing is
    imported: the file has bad rows and ``good_only`` is off, or no row is good. ``dry_run`` writes nothing."""
    table = read_table(content, filename, max_rows=max_rows, max_bytes=max_bytes)
    columns, warnings = _map_headers(table)
    report = ImportReport(filename, table.format, table.encoding, table.sheet, len(table.rows), dry_run,
                          good_only, warnings=warnings)
    if not table.rows:
        raise _refusal(report, [FieldError("file", "empty", "文件中没有数据行", "The file has no data rows")])
    reader = _RowReader(session, columns)
    plans = _plan(session, table, reader, report, actor)
    if report.errors and (not good_only or not plans):
        raise _refusal(report, report.errors)
    for plan in plans:
        if not dry_run:
            if plan.status == "created":
                plan.result_id = create_result(session, plan.clean, actor.name).id
            elif plan.status == "updated" and plan.target is not None:
                update_result(session, plan.target, plan.clean, actor.name)
        report.outcomes.append(RowOutcome(plan.row, plan.status, plan.name, plan.result_id))
    report.outcomes.sort(key=lambda o: o.row)
    return report


def _refusal(report: ImportReport, errors: list[FieldError]) -> ValidationFailed:
    bad = len({e.row for e in errors if e.row is not None})
    return ValidationFailed(
        errors,
        zh=f"文件有 {bad} 行数据有误，未导入任何数据；请修改后重新导入，或选择只导入正确的行" if bad
        else "文件无法导入，未导入任何数据",
        en=f"{bad} row(s) have errors; nothing was imported. Fix them, or import the good rows only" if bad
        else "The file cannot be imported; nothing was imported",
        rows=report.rows, bad_rows=bad, format=report.format, encoding=report.encoding,
    )


# ------------------------------------------------------------------------------------------------- headers


def _map_headers(table: Table) -> tuple[list[Column | None], list[FieldError]]:
    lookup = column_lookup()
    columns: list[Column | None] = []
    errors: list[FieldError] = []
    warnings: list[FieldError] = []
    seen: dict[str, str] = {}
    for raw in table.headers:
        col = lookup.get(header_key(raw)) if raw else None
        if col is not None and col.field in seen:
            errors.append(FieldError(col.field, "duplicate_column", f"列“{raw}”与“{seen[col.field]}”重复",
                                     f"Column '{raw}' repeats '{seen[col.field]}'", row=1))
            col = None
        elif col is not None:
            seen[col.field] = raw
        elif raw and not is_export_only(raw):
            warnings.append(FieldError(raw, "ignored_column", f"未识别的列“{raw}”，已忽略",
                                       f"Unknown column '{raw}' ignored", row=1))
        columns.append(col)
    for col in COLUMNS:
        if col.required and col.field not in seen:
            errors.append(FieldError(col.field, "missing_column", f"缺少必填列“{col.header}”",
                                     f"The required column '{col.header}' ({col.field}) is missing", row=1))
    if errors:
        raise ValidationFailed(errors, zh="表头有误，未导入任何数据",
                               en="The header row is wrong; nothing was imported")
    return columns, warnings


# ---------------------------------------------------------------------------------------------------- rows


class _RowReader:
    """Turns one row's cells into the plain values ``clean_result_fields`` takes, resolving names to codes."""

    def __init__(self, session: Session, columns: list[Column | None]) -> None:
        self.session = session
        self.columns = columns
        self.codes = _CodeNames(session, {c.code_list for c in columns if c is not None and c.code_list})
        self._regions: _RegionNames | None = None

    @property
    def regions(self) -> _RegionNames:
        if self._regions is None:  # 3,000+ rows: load only when a file has a region column
            self._regions = _RegionNames(self.session)
        return self._regions

    def read(self, row: int, cells: list[Any]) -> tuple[dict[str, Any], set[str], list[FieldError]]:
        """The row's data, the fields its columns give, and the errors found while resolving names."""
        data: dict[str, Any] = {}
        given: set[str] = set()
        errors: list[FieldError] = []

        def fail(col: Column, code: str, zh: str, en: str, value: Any = None) -> None:
            errors.append(FieldError(col.field, code, f"{col.header}：{zh}", f"{col.en}: {en}", row, value))

        for i, col in enumerate(self.columns):
            if col is None:
                continue
            text = cell_text(cells[i]) if i < len(cells) else None
            if col.kind == "ip":
                data.setdefault("ip", {})[col.field.removeprefix("ip.")] = as_list(text)
                given.add("ip")
                continue
            given.add(col.field)
            if col.kind in ("codes", "code") and col.code_list:
                values, problems = self.codes.resolve(col.code_list, text)
                for bad, zh, en in problems:
                    fail(col, "ambiguous_code", zh, en, bad)
                data[col.field] = values if col.kind == "codes" else (values[0] if values else None)
                if col.kind == "code" and len(values) > 1:
                    fail(col, "invalid", "只能填写一个值", "Only one value is allowed", text)
            elif col.kind == "trl":
                data[col.field] = self.codes.trl(text)
            elif col.kind == "source":
                data[col.field] = _SOURCE_ALIASES.get((text or "national").lower(), text)
            elif col.kind in ("regions", "province"):
                codes: list[str] = []
                for item in as_list(text):
                    code, problem = self.regions.resolve(item, provinces_only=col.kind == "province")
                    if problem is not None:
                        fail(col, *problem, item)
                    elif code is not None:
                        codes.append(code)
                data[col.field] = codes if col.kind == "regions" else (codes[0] if codes else None)
                if col.kind == "province" and len(codes) > 1:
                    fail(col, "invalid", "只能填写一个省份", "Only one province is allowed", text)
            elif col.kind == "figures":
                data[col.field], unreadable = _figures(text)
                for item in unreadable:
                    fail(col, "invalid", f"无法识别“{item}”，应为 名称：数值单位（依据）",
                         f"Cannot read '{item}'; write name: value unit (evidence)", item)
            else:
                data[col.field] = text
        return data, given, errors


class _CodeNames:
    """Codes of the current code lists by code (any case), Chinese name or English name."""

    def __init__(self, session: Session, list_ids: Iterable[str]) -> None:
        self.codes = {lid: current_codes(session, lid) for lid in {*list_ids, "trl"}}
        self.names: dict[str, dict[str, list[str]]] = {}
        for lid, codes in self.codes.items():
            names: dict[str, list[str]] = defaultdict(list)
            for c in codes.values():
                for key in {c.code.lower(), c.name_zh, c.name_en.lower()}:
                    names[key].append(c.code)
            self.names[lid] = names

    def resolve(self, list_id: str, text: str | None) -> tuple[list[str], list[tuple[str, str, str]]]:
        """Codes for a cell; unknown values pass through (the field rules report them), ambiguous ones don't."""
        if not text:
            return [], []
        names = self.names[list_id]
        # Names such as 蔬菜、食用菌与花卉 contain a list separator: take them whole before splitting.
        for name in sorted((n for n in names if re.search(r"[;；,，、|]", n)), key=len, reverse=True):
            if name in text and len(names[name]) == 1:
                text = text.replace(name, names[name][0])
        out: list[str] = []
        problems: list[tuple[str, str, str]] = []
        for item in as_list(text):
            found = self._one(list_id, item)
            if len(found) > 1:
                problems.append((item, f"“{item}”不唯一，可能是 {'、'.join(found)}，请填写代码",
                                 f"'{item}' is ambiguous ({', '.join(found)}); give the code"))
            else:
                out.append(found[0] if found else item)
        return list(dict.fromkeys(out)), problems

    def _one(self, list_id: str, item: str) -> list[str]:
        names = self.names[list_id]
        found = names.get(item) or names.get(item.lower())
        if found:
            return found
        # "TF01 种业与生物育种" or "种业与生物育种(TF01)": a code written beside its name.
        m = re.match(r"^(\S+)\s+\S", item) or re.search(r"[（(]([^（()）]+)[)）]$", item)
        if m and m.group(1).lower() in names and m.group(1).lower() == names[m.group(1).lower()][0].lower():
            return names[m.group(1).lower()]
        return []

    def trl(self, text: str | None) -> str | None:
        """1–9 from "7", "7级", "TRL7" or a level name; anything else passes through to be refused."""
        if not text:
            return None
        m = _TRL.match(text.strip())
        if m:
            return m.group(1)
        found = self.names["trl"].get(text.strip())
        return found[0] if found and len(found) == 1 else text


class _RegionNames:
    """Current divisions by 6-digit code, by name, and by name qualified with its province/prefecture."""

    _STRIP = re.compile(r"[\s/\-·|]")

    def __init__(self, session: Session) -> None:
        rows = list(session.execute(
            select(Division.code, Division.name, Division.level, Division.parent_code, Division.province_code)
            .where(Division.valid_to.is_(None))))
        by_code = {r.code: r for r in rows}
        self.codes = set(by_code)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.labels: dict[str, str] = {}
        for r in rows:
            chain = [r.name]
            parent = by_code.get(r.parent_code) if r.parent_code else None
            while parent is not None:
                chain.insert(0, parent.name)
                parent = by_code.get(parent.parent_code) if parent.parent_code else None
            self.labels[r.code] = "".join(chain)
            keys = {r.name, "".join(chain), chain[0] + r.name, "".join(chain[-2:])}
            if r.level == "province":  # 河北 for 河北省, 广西 for 广西壮族自治区
                keys.add(re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", r.name))
            for key in keys:
                if key and r.code not in self.by_name[key]:
                    self.by_name[key].append(r.code)
        self.level = {r.code: r.level for r in rows}

    def resolve(self, item: str, *, provinces_only: bool = False
                ) -> tuple[str | None, tuple[str, str, str] | None]:
        """A code for ``item``, or why not (code, zh, en). Codes pass through: the field rules check them,
        and map retired codes to their successors."""
        if re.fullmatch(r"\d{6}", item):
            return item, None
        found = self.by_name.get(self._STRIP.sub("", item), [])
        if provinces_only:
            found = [c for c in found if self.level.get(c) == "province"]
        if len(found) == 1:
            return found[0], None
        if not found:
            return None, ("unknown_division", f"找不到区划“{item}”", f"No division named '{item}'")
        options = "、".join(f"{self.labels[c]} {c}" for c in found[:6])
        return None, ("ambiguous_division", f"区划名称“{item}”不唯一（{options}），请填写代码或加上级名称",
                      f"The division name '{item}' is ambiguous ({', '.join(found[:6])}); give the code or its parent")


def _figures(text: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    figures: list[dict[str, Any]] = []
    bad: list[str] = []
    for item in (p.strip() for p in _FIGURE_SPLIT.split(text or "")):
        if not item:
            continue
        m = _FIGURE.match(item)
        if m is None or m.group("value") is None:
            bad.append(item)
            continue
        figures.append({"name": m.group("name").strip(), "value": float(m.group("value")),
                        "unit": m.group("unit").strip() or None, "evidence": (m.group("evidence") or "").strip()
                        or None})
    return figures, bad


# ------------------------------------------------------------------------------------------------ planning


@dataclass
class _Plan:
    row: int
    status: str
    name: str
    clean: dict[str, Any]
    target: Result | None = None
    result_id: str | None = None


def _permission(actor: Actor, clean: dict[str, Any], target: Result | None, row: int, name: str
                ) -> list[FieldError]:
    """A row may create a result only where the actor may, and change only results it may edit."""
    if target is None:
        try:
            ensure_can_create(actor, clean)
        except Forbidden:
            return [FieldError("institutions", "forbidden", "只能导入本单位或本辖区的成果",
                               "You may import only results of your own institution or scope", row, name)]
        return []
    if not can_read(actor, target) or (_differs(target, clean) and target.state in EDITABLE_STATES
                                       and not can_act(actor, target, "edit")):
        return [FieldError("name", "forbidden", "无权修改该成果", "You may not change this result", row, name)]
    if "institutions" in clean and clean["institutions"] != target.institutions and target.state in EDITABLE_STATES:
        try:  # as in the API: a holder cannot hand its result to another institution
            ensure_can_create(actor, clean)
        except Forbidden:
            return [FieldError("institutions", "forbidden", "只能导入本单位或本辖区的成果",
                               "You may import only results of your own institution or scope", row, name)]
    return []


def _plan(session: Session, table: Table, reader: _RowReader, report: ImportReport, actor: Actor
          ) -> list[_Plan]:
    """Check every row and decide what it does; nothing is written here."""
    read = [(row, *reader.read(row, cells)) for row, cells in table.rows]
    known = _Existing(session, [d for _r, d, _g, _e in read])
    by_reg: dict[str, int] = {}
    by_pn: dict[tuple[str | None, str], tuple[int, str | None]] = {}
    targets: dict[str, int] = {}
    plans: list[_Plan] = []
    for row, data, given, errors in read:
        name = str(data.get("name") or "").strip()
        reg = str(data.get("registration_no") or "").strip() or None
        pn = (str(data.get("project_no") or "").strip() or None, name)
        earlier = by_reg.get(reg) if reg else None
        if earlier is None and pn in by_pn and (reg is None or by_pn[pn][1] is None):
            earlier = by_pn[pn][0]
        if earlier is not None and name:
            col = COLUMN_BY_FIELD["registration_no" if reg else "name"]
            errors.append(FieldError(col.field, "duplicate_row", f"{col.header}：与第 {earlier} 行是同一成果",
                                     f"{col.en}: the same result as row {earlier}", row, reg or name))
        if reg:
            by_reg.setdefault(reg, row)
        by_pn.setdefault(pn, (row, reg))

        target, key_error = known.match(reg, pn)
        if key_error:
            errors.append(dataclasses.replace(key_error, row=row))
        if target is not None and target.id in targets and earlier is None:
            col = COLUMN_BY_FIELD["name"]
            errors.append(FieldError("name", "duplicate_row", f"{col.header}：与第 {targets[target.id]} 行指向同一成果",
                                     f"{col.en}: refers to the same result as row {targets[target.id]}", row, name))
        elif target is not None:
            targets.setdefault(target.id, row)
        if target is None:
            clean, field_errors = clean_result_fields(session, data)
        else:
            update = {k: v for k, v in data.items() if k in given}
            if "ip" in update:  # only the IP kinds the file has columns for
                merged = {k: list(v) for k, v in (target.ip or {}).items()}
                merged.update(update["ip"])
                update["ip"] = {k: v for k, v in merged.items() if v}
            if not reg:  # an empty cell never erases a registration number: it is the record's key
                update.pop("registration_no", None)
            clean, field_errors = clean_result_fields(session, update, partial=True)
        errors.extend(_located(e, row) for e in field_errors)
        if not errors:
            errors.extend(_permission(actor, clean, target, row, name))
        if errors:
            report.errors.extend(errors)
            report.outcomes.append(RowOutcome(row, "skipped", name))
            continue
        if target is None:
            plans.append(_Plan(row, "created", name, clean))
        elif not _differs(target, clean):
            plans.append(_Plan(row, "unchanged", name, clean, target, target.id))
        elif target.state not in EDITABLE_STATES:
            plans.append(_Plan(row, "locked", name, clean, target, target.id))
        else:
            plans.append(_Plan(row, "updated", name, clean, target, target.id))
    order = {c.field: i for i, c in enumerate(COLUMNS)}
    report.errors.sort(key=lambda e: (e.row or 0, order.get(e.field, order.get(e.field.split(".")[0], -1))))
    if report.errors and not report.good_only:
        report.outcomes.clear()
    return plans


def _located(error: FieldError, row: int) -> FieldError:
    """A field-rule error with its row and the column's name, as the user sees the column."""
    col = COLUMN_BY_FIELD.get(error.field) or COLUMN_BY_FIELD.get(error.field.split(".")[0])
    if col is None:
        return dataclasses.replace(error, row=row)
    return dataclasses.replace(error, row=row, zh=f"{col.header}：{error.zh}", en=f"{col.en}: {error.en}")


class _Existing:
    """The results a file's rows may refer to, fetched in a few queries rather than one per row."""

    def __init__(self, session: Session, rows: list[dict[str, Any]]) -> None:
        self.session = session
        regs = sorted({str(d["registration_no"]).strip() for d in rows if d.get("registration_no")})
        names = sorted({str(d["name"]).strip() for d in rows if d.get("name")})
        self.by_reg: dict[str, str] = {}
        self.by_pn: dict[tuple[str | None, str], list[tuple[str, str | None]]] = defaultdict(list)
        for start in range(0, max(len(regs), len(names)), 500):
            cond = or_(Result.registration_no.in_(regs[start:start + 500]), Result.name.in_(names[start:start + 500]))
            for rid, reg, pno, name in session.execute(
                    select(Result.id, Result.registration_no, Result.project_no, Result.name).where(cond)):
                if reg:
                    self.by_reg[reg] = rid
                entry = (rid, reg)
                if entry not in self.by_pn[(pno or None, name)]:
                    self.by_pn[(pno or None, name)].append(entry)

    def match(self, reg: str | None, pn: tuple[str | None, str]) -> tuple[Result | None, FieldError | None]:
        if reg and reg in self.by_reg:
            return self.session.get(Result, self.by_reg[reg]), None
        # Without a registration number (or with one not yet recorded): the same project number and name.
        candidates = [rid for rid, r in self.by_pn.get(pn, []) if not reg or r is None]
        if len(candidates) > 1:
            col = COLUMN_BY_FIELD["name"]
            return None, FieldError("name", "ambiguous_key",
                                    f"{col.header}：已有 {len(candidates)} 条成果的项目编号和名称与此相同，"
                                    "请填写登记号",
                                    f"{col.en}: {len(candidates)} results share this project number and name; "
                                    "give the registration number", value=pn[1])
        if candidates:
            return self.session.get(Result, candidates[0]), None
        return None, None


def _differs(result: Result, clean: Mapping[str, Any]) -> bool:
    """Whether applying ``clean`` would change ``result``."""
    for key, value in clean.items():
        if key in CODE_FIELDS:
            current: Any = result.codes_of(CODE_FIELDS[key][0])
        elif key == "suitable_regions":
            current, value = sorted(result.region_codes), sorted(value)
        elif key == "ip":
            current = {k: v for k, v in (result.ip or {}).items() if v}
        else:
            current = getattr(result, key)
        if current != value and not (current in (None, "", [], {}) and value in (None, "", [], {})):
            return True
    return False
