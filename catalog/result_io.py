"""The spreadsheet shape of a result, shared by import, export and the template.

``COLUMNS`` is the one table of columns (Chinese header, field, format, example); ``read_table`` turns an
uploaded XLSX or CSV into header + numbered rows, refusing files that are not what they claim; the writers'
helpers (CSV lines for Excel on Chinese Windows, Beijing time, RFC 5987 file names) live here too.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from catalog.db import BEIJING
from catalog.errors import FieldError, ValidationFailed

DEFAULT_MAX_ROWS = 20000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# An XLSX is a zip: refuse archives that inflate far beyond their size (zip bombs) before openpyxl reads them.
MAX_INFLATED_BYTES = 400 * 1024 * 1024
LIST_SEPARATOR = "；"  # what exports write between list items; imports accept ；;，,、| and newlines



@dataclass(frozen=True)
class Column:
    """One spreadsheet column of a result: its Chinese header and how its cells are read."""

    header: str
    field: str        # key for clean_result_fields; ``ip.<kind>`` for one kind of IP
    en: str
    kind: str         # text | list | codes | code | trl | regions | province | source | ip | figures
    fmt: str
    example: str = ""
    code_list: str | None = None
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("成果名称", "name", "Name", "text", "文本，不超过256字", "耐密高产玉米新品种郑单1002", required=True),
    Column("成果简介", "summary", "Summary", "text", "文本", "适宜黄淮海夏播区种植，耐密抗倒……"),
    Column("关键词", "keywords", "Keywords", "list", "多个用；分隔", "玉米；耐密；机收"),
    Column("重点专项", "special_project", "Key special project", "text", "文本", "七大农作物育种"),
    Column("项目编号", "project_no", "Project number", "text", "文本", "2018YFD0100100"),
    Column("课题编号", "subject_no", "Subject number", "text", "文本", "2018YFD0100101"),
    Column("完成单位", "institutions", "Institutions", "list", "按排序填写，多个用；分隔",
           "河南省农业科学院；中国农业大学"),
    Column("完成人", "people", "People", "list", "多个用；分隔", "张三；李四"),
    Column("技术领域", "tech_fields", "Technology fields", "codes", "代码或名称，多个用；分隔，第一个为主领域",
           "TF01；TF03", "tech_field", required=True),
    Column("服务产业类型", "industry_types", "Industry types", "codes", "代码或名称，多个用；分隔", "IT0103",
           "industry_type"),
    Column("应用场景", "scenarios", "Scenarios", "codes", "代码或名称，多个用；分隔", "SC0201；SC0301", "scenario",
           aliases=("产业应用场景",)),
    Column("作物", "crops", "Crops", "codes", "代码或名称，多个用；分隔", "maize", "crop"),
    Column("耕地场景", "land_scenarios", "Land scenarios", "codes", "代码或名称，多个用；分隔", "SC0102",
           "land_scenario"),
    Column("技术成熟度", "trl", "TRL", "trl", "1至9的整数", "7", "trl"),
    Column("成熟度标准", "trl_scale", "TRL scale", "text", "GB/T 22900-2022（默认）或 GB/T 22900-2009",
           "GB/T 22900-2022", aliases=("技术成熟度标准",)),
    Column("成果所处阶段", "stage", "Stage", "code", "代码或名称：初期、中期、成熟应用", "成熟应用", "stage"),
    Column("成果形式", "form", "Form", "code", "代码或名称：品种、技术规程、装备、产品、软件、标准", "品种", "form"),
    Column("登记号", "registration_no", "Registration number", "text",
           "成果登记号；有登记号时以它识别同一成果，重复导入不会新增", "9412023Y0123", aliases=("成果登记号",)),
    Column("适宜区域", "suitable_regions", "Suitable regions", "regions",
           "6位区划代码或名称（如 河北省、石家庄市），重名时写上级名称（南京市鼓楼区）；多个用；分隔",
           "河南省；130100"),
    Column("专利", "ip.patents", "Patents", "ip", "多个用；分隔", "ZL201810123456.7"),
    Column("品种权", "ip.variety_rights", "Plant variety rights", "ip", "多个用；分隔", "CNA20191234.5"),
    Column("审定登记号", "ip.approvals", "Variety approvals", "ip", "多个用；分隔", "国审玉20200001",
           aliases=("审定/登记号", "品种审定登记号")),
    Column("软件著作权", "ip.software", "Software copyrights", "ip", "多个用；分隔", "2019SR0123456"),
    Column("标准", "ip.standards", "Standards", "ip", "多个用；分隔", "NY/T 1234-2019"),
    Column("关键指标", "key_figures", "Key figures", "figures", "名称：数值单位（依据），多个用；分隔",
           "增产：8.5%（2022年区域试验）；节本：120元/亩"),
    Column("转化方式", "transfer_modes", "Transfer modes", "codes",
           "代码或名称：自行投资实施、转让、许可、合作实施、作价投资、其他", "许可；合作实施", "transfer_mode"),
    Column("转化条件", "transfer_terms", "Transfer terms", "text", "文本", "面议"),
    Column("联系人", "contact_name", "Contact", "text", "文本", "王五"),
    Column("联系电话", "contact_phone", "Phone", "text", "数字、+、-、空格", "0371-65712345"),
    Column("电子邮箱", "contact_email", "E-mail", "text", "电子邮箱", "wangwu@example.cn"),
    Column("来源", "source", "Source", "source", "国家 或 地方（national / local），默认国家", "国家"),
    Column("所属省份", "source_province", "Province", "province", "地方成果必填：省级区划代码或名称", "河南省"),
    Column("清单批次", "list_batch", "List batch", "text", "文本", "2024-1"),
)
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
SOURCE_NAMES = {"national": "国家", "local": "地方"}
# Columns an export adds beside the importable ones; an exported sheet re-imports with these ignored.
NAME_SUFFIX = "（名称）"
EXPORT_ONLY_HEADERS = ("成果ID", "状态", "版本", "审核意见", "创建时间", "更新时间", "创建人", "更新人")


def header_key(text: Any) -> str:
    """A header as compared: no spaces or required-marks, ASCII lower-cased, full-width brackets folded."""
    s = re.sub(r"\s+", "", str(text or "")).strip("*＊")
    return s.replace("(", "（").replace(")", "）").lower()


def column_lookup() -> dict[str, Column]:
    """Header (Chinese, alias, or English field name) → column."""
    out: dict[str, Column] = {}
    for col in COLUMNS:
        for name in (col.header, *col.aliases, col.field, col.field.removeprefix("ip.")):
            out[header_key(name)] = col
    return out


def is_export_only(header: str) -> bool:
    return header in EXPORT_ONLY_HEADERS or header.endswith(NAME_SUFFIX)


# ---------------------------------------------------------------------------------------------------- reading


@dataclass
class Table:
    """Rows of an uploaded sheet, each with its number as Excel shows it (the header is row 1)."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    format: str            # xlsx | csv
    encoding: str | None   # for CSV: utf-8-sig, utf-8, gb18030 or utf-16
    sheet: str | None      # for XLSX: the sheet read


def file_error(code: str, zh: str, en: str, **context: Any) -> ValidationFailed:
    return ValidationFailed([FieldError("file", code, zh, en, row=None)], en=en, zh=zh, **context)


def read_table(content: bytes, filename: str, *, max_rows: int = DEFAULT_MAX_ROWS,
               max_bytes: int = DEFAULT_MAX_BYTES, sheet: str | None = "成果") -> Table:
    """Read ``content`` as the format its extension names (.xlsx or .csv); refuse anything else clearly."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if len(content) > max_bytes:
        raise file_error("file_too_large", f"文件超过 {max_bytes // (1024 * 1024)} MB 上限",
                         f"The file is larger than {max_bytes // (1024 * 1024)} MB", size=len(content))
    if ext == "xlsx":
        return _read_xlsx(content, max_rows, sheet)
    if ext == "csv":
        return _read_csv(content, max_rows)
    if ext == "xls":
        raise file_error("unsupported_format", "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入",
                         "Old .xls files are not supported; save as .xlsx in Excel and import that")
    raise file_error("unsupported_format", "只能导入 .xlsx 或 .csv 文件", "Only .xlsx or .csv files can be imported",
                     filename=filename)


def _read_xlsx(content: bytes, max_rows: int, sheet: str | None) -> Table:
    import openpyxl

    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # OLE2: an .xls renamed, or a password-protected file
        raise file_error("not_xlsx", "文件不是 .xlsx 格式（可能是旧版 .xls 或已加密的工作簿），请另存为 .xlsx",
                         "Not an .xlsx file (an old .xls or an encrypted workbook?); save it as .xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            names = set(zf.namelist())
            inflated = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise file_error("not_xlsx", "文件扩展名为 .xlsx，但内容不是 Excel 工作簿",
                         "The file is named .xlsx but is not an Excel workbook") from None
    if "xl/workbook.xml" not in names:
        raise file_error("not_xlsx", "文件是压缩包，但不是 Excel 工作簿",
                         "The file is a zip archive, not an Excel workbook")
    if inflated > MAX_INFLATED_BYTES:
        raise file_error("file_too_large", "工作簿解压后过大", "The workbook is too large once unpacked")
    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise file_error("not_xlsx", "无法读取该 Excel 工作簿（文件可能已损坏）",
                         f"The workbook cannot be read ({type(exc).__name__})") from None
    try:
        # The template's sheet is 成果; a user may have saved the workbook with another sheet active.
        ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
        rows = _numbered(ws.iter_rows(values_only=True), max_rows)
        headers = rows.pop(0)[1] if rows and rows[0][0] == 1 else []
        return Table([str(h).strip() if h is not None else "" for h in headers], rows, "xlsx", None, ws.title)
    finally:
        wb.close()


def decode_text(content: bytes) -> tuple[str, str]:
    """Text and the encoding used: a BOM decides; else UTF-8 if it decodes, else GB18030 (Excel on Chinese
    Windows saves "CSV" in the ANSI code page, GBK, which GB18030 contains)."""
    if content.startswith(codecs.BOM_UTF8):
        return content[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16"), "utf-16"
    if b"\x00" in content[:4096]:
        raise file_error("not_csv", "文件扩展名为 .csv，但内容不是文本", "The file is named .csv but is not text")
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise file_error("unknown_encoding", "无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV",
                         "Unknown text encoding; save the CSV as UTF-8 or GBK") from None


def _read_csv(content: bytes, max_rows: int) -> Table:
    if content.startswith(b"PK\x03\x04"):
        raise file_error("not_csv", "这是一个 Excel 工作簿，请将扩展名改为 .xlsx 后导入",
                         "This is an Excel workbook; name it .xlsx")
    text, encoding = decode_text(content)
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count) if first else ","
    try:
        records = _numbered(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), max_rows)
    except csv.Error as exc:
        raise file_error("not_csv", "CSV 文件格式有误（引号不配对？）", f"The CSV is malformed: {exc}") from None
    headers = records.pop(0)[1] if records and records[0][0] == 1 else []
    return Table([str(h).strip() for h in headers], records, "csv", encoding, None)


def _numbered(rows: Iterable[Iterable[Any]], max_rows: int) -> list[tuple[int, list[Any]]]:
    """Non-empty rows with their 1-based number (the header row included); refuse more than ``max_rows``."""
    out: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(rows, start=1):
        cells = list(row)
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        out.append((number, cells))
        if len(out) > max_rows + 1:
            raise file_error("too_many_rows", f"文件超过 {max_rows} 行上限，请分批导入",
                             f"The file has more than {max_rows} rows; import it in parts", max_rows=max_rows)
    return out


def cell_text(value: Any) -> str | None:
    """A cell as text: integral numbers without '.0' (codes, phone numbers), dates as ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------------------------------------------- writing


def beijing(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp in Beijing time, without tzinfo (Excel has none); naive values are UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING).replace(tzinfo=None)


def now_beijing() -> dt.datetime:
    return dt.datetime.now(BEIJING).replace(tzinfo=None)


_FORMULA_START = re.compile(r"^(?:[=@\t\r]|[+\-](?![0-9 .]))")


def safe_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection): a leading ' where it would."""
    return "'" + text if _FORMULA_START.match(text) else text


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return safe_text(str(value))


def csv_lines(rows: Iterable[Iterable[Any]], chunk: int = 500) -> Iterator[bytes]:
    """UTF-8 with BOM, CRLF line ends, quotes where needed: what Excel on Chinese Windows opens correctly."""
    yield codecs.BOM_UTF8
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_value(v) for v in row])
        if n % chunk == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def content_disposition(filename: str, ascii_fallback: str) -> str:
    """``attachment`` with the Chinese name per RFC 5987/6266 and an ASCII name for old clients."""
    fallback = re.sub(r'[^A-Za-z0-9._-]', "_", ascii_fallback)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
