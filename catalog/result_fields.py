"""What a result record may hold, checked once for every way in (API, import, seed).

``clean_result_fields`` takes plain values (as JSON or a spreadsheet row gives them), checks each against the
code lists and the division table, and returns normalised values or every error found (field, code, zh, en).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.codelists import current_codes
from catalog.divisions import Division
from catalog.errors import FieldError
from catalog.results import SOURCES

# field → code list of the values it takes (multi-valued; the first tech field is the primary one)
CODE_FIELDS: dict[str, tuple[str, str]] = {
    # field: (dimension in ResultCode, code list)
    "tech_fields": ("tech_field", "tech_field"),
    "industry_types": ("industry_type", "industry_type"),
    "scenarios": ("scenario", "scenario"),
    "crops": ("crop", "crop"),
    "land_scenarios": ("land_scenario", "land_scenario"),
    "transfer_modes": ("transfer_mode", "transfer_mode"),
}
SCALAR_CODE_FIELDS: dict[str, str] = {"form": "form", "stage": "stage"}
TEXT_LIMITS: dict[str, int] = {
    "name": 256, "summary": 20000, "special_project": 128, "project_no": 64, "subject_no": 64,
    "registration_no": 64, "transfer_terms": 4000, "contact_name": 64, "contact_phone": 32,
    "contact_email": 128, "list_batch": 64, "trl_scale": 32,
}
LIST_FIELDS = ("keywords", "institutions", "people")
IP_KINDS = ("patents", "variety_rights", "approvals", "software", "standards")
DEFAULT_TRL_SCALE = "GB/T 22900-2022"
TRL_SCALES = ("GB/T 22900-2022", "GB/T 22900-2009")
ALL_FIELDS = (
    *TEXT_LIMITS, *LIST_FIELDS, *CODE_FIELDS, *SCALAR_CODE_FIELDS,
    "trl", "ip", "suitable_regions", "key_figures", "source", "source_province",
)
_PHONE = re.compile(r"^[0-9+\-() ]{5,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _err(field: str, code: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(field=field, code=code, zh=zh, en=en, value=value)


def as_list(value: Any) -> list[str]:
    """A list of strings from a list, or from text separated by ；;，,、| or newlines."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        items = [p.strip() for p in re.split(r"[;；,，、|\n]", str(value))]
    return [i for i in items if i]


def clean_result_fields(session: Session, data: Mapping[str, Any], *, partial: bool = False
                        ) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalise ``data``; with ``partial`` only the given fields are checked (an edit)."""
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    unknown = [k for k in data if k not in ALL_FIELDS]
    for key in unknown:
        errors.append(_err(key, "unknown_field", "未知字段", "Unknown field"))

    def given(field: str) -> bool:
        return field in data or not partial

    for field, limit in TEXT_LIMITS.items():
        if not given(field):
            continue
        raw = data.get(field)
        value = None if raw is None else str(raw).strip()
        if field == "name" and not value:
            errors.append(_err(field, "required", "成果名称必填", "The name is required"))
            continue
        if value and len(value) > limit:
            errors.append(_err(field, "too_long", f"超过{limit}个字符", f"Longer than {limit} characters",
                               len(value)))
            continue
        out[field] = value or (None if field != "summary" else "")
    if out.get("contact_phone") and not _PHONE.match(out["contact_phone"]):
        errors.append(_err("contact_phone", "invalid", "电话号码格式不正确", "Not a phone number",
                           out["contact_phone"]))
    if out.get("contact_email") and not _EMAIL.match(out["contact_email"]):
        errors.append(_err("contact_email", "invalid", "电子邮箱格式不正确", "Not an e-mail address",
                           out["contact_email"]))
    if given("trl_scale") and not out.get("trl_scale"):
        out["trl_scale"] = DEFAULT_TRL_SCALE
    if out.get("trl_scale") and out["trl_scale"] not in TRL_SCALES:
        errors.append(_err("trl_scale", "unknown_code", "未知的成熟度标准", "Unknown TRL scale",
                           out["trl_scale"]))

    for field in LIST_FIELDS:
        if given(field):
            out[field] = as_list(data.get(field))

    _check_codes(session, data, out, errors, given)
    _check_trl(data, out, errors, given)
    _check_source(session, data, out, errors, given)
    if given("suitable_regions"):
        out["suitable_regions"] = _check_regions(session, as_list(data.get("suitable_regions")), errors)
    if given("ip"):
        out["ip"] = _check_ip(data.get("ip"), errors)
    if given("key_figures"):
        out["key_figures"] = _check_figures(data.get("key_figures"), errors)
    return out, errors


def _check_codes(session: Session, data: Mapping[str, Any], out: dict[str, Any], errors: list[FieldError],
                 given: Any) -> None:
    for field, (_dim, list_id) in CODE_FIELDS.items():
        if not given(field):
            continue
        values = list(dict.fromkeys(as_list(data.get(field))))
        valid = current_codes(session, list_id)
        bad = [v for v in values if v not in valid]
        if bad:
            errors.append(_err(field, "unknown_code", f"代码不在“{list_id}”代码表中：{'、'.join(bad)}",
                               f"Not in code list '{list_id}': {', '.join(bad)}", bad))
        if field == "tech_fields" and not values:
            errors.append(_err(field, "required", "至少需要一个技术领域", "At least one technology field"))
        out[field] = [v for v in values if v in valid]
    for field, list_id in SCALAR_CODE_FIELDS.items():
        if not given(field):
            continue
        value = data.get(field)
        value = str(value).strip() if value not in (None, "") else None
        if value is not None and value not in current_codes(session, list_id):
            errors.append(_err(field, "unknown_code", f"代码不在“{list_id}”代码表中", f"Not in code list "
                               f"'{list_id}'", value))
            continue
        out[field] = value


def _check_trl(data: Mapping[str, Any], out: dict[str, Any], errors: list[FieldError], given: Any) -> None:
    if not given("trl"):
        return
    raw = data.get("trl")
    if raw in (None, ""):
        out["trl"] = None
        return
    try:
        trl = int(str(raw).strip())
        if str(trl) != str(raw).strip().split(".")[0] or trl < 1 or trl > 9:
            raise ValueError
    except ValueError:
        errors.append(_err("trl", "out_of_range", "技术成熟度应为1至9的整数",
                           "TRL must be a whole number from 1 to 9", raw))
        return
    out["trl"] = trl


def _check_source(session: Session, data: Mapping[str, Any], out: dict[str, Any], errors: list[FieldError],
                  given: Any) -> None:
    if given("source"):
        source = str(data.get("source") or "national").strip()
        if source not in SOURCES:
            errors.append(_err("source", "unknown_code", "来源应为 national（国家）或 local（地方）",
                               "Source must be national or local", source))
        out["source"] = source
    if given("source_province"):
        prov = str(data.get("source_province") or "").strip() or None
        if prov is not None:
            row = session.get(Division, prov)
            if row is None or row.level != "province" or row.valid_to is not None:
                errors.append(_err("source_province", "unknown_division", "不是有效的省级区划代码",
                                   "Not a current province code", prov))
        out["source_province"] = prov
    if out.get("source") == "local" and given("source_province") and not out.get("source_province"):
        errors.append(_err("source_province", "required", "地方成果须注明所属省份",
                           "A local result needs its province"))


def _check_regions(session: Session, codes: list[str], errors: list[FieldError]) -> list[str]:
    """Division codes; retired codes become their successors, unknown codes are errors."""
    if not codes:
        return []
    found = {d.code: d for d in session.scalars(select(Division).where(Division.code.in_(codes)))}
    out: list[str] = []
    for code in codes:
        div = found.get(code)
        if div is None:
            errors.append(_err("suitable_regions", "unknown_division", f"区划代码不存在：{code}",
                               f"No such division code: {code}", code))
        elif div.valid_to is not None:
            from catalog.divisions import successors

            out.extend(successors(session, code))
        else:
            out.append(code)
    return list(dict.fromkeys(out))


def _check_ip(raw: Any, errors: list[FieldError]) -> dict[str, list[str]]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, Mapping):
        errors.append(_err("ip", "invalid", "知识产权应为对象", "IP must be an object"))
        return {}
    out: dict[str, list[str]] = {}
    for kind, values in raw.items():
        if kind not in IP_KINDS:
            errors.append(_err(f"ip.{kind}", "unknown_field", "未知的知识产权类别", "Unknown kind of IP"))
            continue
        items = as_list(values)
        if items:
            out[kind] = items
    return out


def _check_figures(raw: Any, errors: list[FieldError]) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        errors.append(_err("key_figures", "invalid", "关键指标应为列表", "Key figures must be a list"))
        return []
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not str(item.get("name") or "").strip():
            errors.append(_err(f"key_figures.{i}", "invalid", "关键指标须有名称", "A key figure needs a name"))
            continue
        value = item.get("value")
        if value is not None and not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                errors.append(_err(f"key_figures.{i}.value", "invalid", "指标值应为数字",
                                   "The value must be a number", value))
                continue
        out.append({"name": str(item["name"]).strip(), "value": value,
                    "unit": (str(item.get("unit") or "").strip() or None),
                    "evidence": (str(item.get("evidence") or "").strip() or None)})
    return out
