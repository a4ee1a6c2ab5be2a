"""Bulk transfer of results: import from XLSX/CSV, export of any result list, the import template."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

from flask import Response, current_app, request
from flask_smorest.fields import Upload
from marshmallow import RAISE, Schema, fields, pre_load

from catalog.errors import FieldError, ValidationFailed
from catalog.result_export import (
    csv_export,
    export_filename,
    export_ids,
    template_csv,
    template_filename,
    write_template_xlsx,
    write_xlsx,
)
from catalog.result_import import import_results
from catalog.result_io import content_disposition
from server.api.results.routes import blp, search_query
from server.api.results.schemas import SearchArgsSchema
from server.auth import current_actor, login_required
from server.db import db_session

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


class ImportSchema(Schema):
    """The multipart body: the file and two flags."""

    file = Upload(required=True, metadata={"description": "成果表（.xlsx 或 .csv）"})
    good_only = fields.Boolean(load_default=False, metadata={"description": "只导入正确的行"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "只检查，不写入"})

    @pre_load
    def _with_form_fields(self, data: Any, **_kw: Any) -> dict[str, Any]:
        # flask-smorest reads a multipart body's files and its text fields as two locations, and two locations
        # document as an invalid OpenAPI 3 body; one schema on "files" takes the text fields from the request.
        return {**request.form.to_dict(), **data}


class ImportErrorSchema(Schema):
    field = fields.String()
    code = fields.String()
    zh = fields.String()
    en = fields.String()
    row = fields.Integer()
    value = fields.Raw()


class ImportOutcomeSchema(Schema):
    row = fields.Integer()
    status = fields.String()
    name = fields.String()
    result_id = fields.String(allow_none=True)


class ImportReportSchema(Schema):
    file = fields.String()
    format = fields.String()
    encoding = fields.String(allow_none=True)
    sheet = fields.String(allow_none=True)
    rows = fields.Integer()
    dry_run = fields.Boolean()
    good_only = fields.Boolean()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    locked = fields.Integer(metadata={"description": "已审核及以后、未修改的成果"})
    skipped = fields.Integer(metadata={"description": "有错误而未导入的行（只导入正确的行时）"})
    outcomes = fields.List(fields.Nested(ImportOutcomeSchema))
    errors = fields.List(fields.Nested(ImportErrorSchema))
    warnings = fields.List(fields.Nested(ImportErrorSchema))


@blp.route("/import", methods=["POST"])
@blp.arguments(ImportSchema, location="files")
@blp.response(200, ImportReportSchema)
@login_required
def import_results_file(form: dict[str, Any]) -> dict[str, Any]:
    """批量导入成果（有错误时不导入任何数据）/ Import results from XLSX or CSV"""
    upload = form["file"]
    max_bytes = current_app.config["IMPORT_MAX_BYTES"]
    content = upload.stream.read(max_bytes + 1)
    if not content:
        raise ValidationFailed([FieldError("file", "empty", "上传的文件是空的", "The uploaded file is empty")])
    session = db_session()
    report = import_results(session, content, upload.filename or "", actor=current_actor(),
                            good_only=form["good_only"], dry_run=form["dry_run"],
                            max_rows=current_app.config["IMPORT_MAX_ROWS"], max_bytes=max_bytes)
    if not form["dry_run"]:
        session.commit()
    return report.as_dict()


def _export_ids(args: dict[str, Any]) -> tuple[list[str], Any]:
    query = search_query(args)
    limit = current_app.config["EXPORT_MAX_ROWS"]
    return export_ids(db_session(), query, limit), query


def _send_file(out: IO[bytes], mimetype: str, name: str, ascii_name: str) -> Response:
    """Send a written temporary file; it is closed once sent, even when a client reads it only in part."""
    size = out.tell()
    out.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := out.read(64 * 1024):
                yield chunk
        finally:
            out.close()

    resp = Response(chunks(), mimetype=mimetype,
                    headers={"Content-Disposition": content_disposition(name, ascii_name),
                             "Content-Length": str(size)})
    resp.call_on_close(out.close)
    return resp


@blp.route("/export.xlsx")
@blp.arguments(SearchArgsSchema, location="query", unknown=RAISE)
@blp.response(200, description="Excel 工作簿", content_type=XLSX_TYPE)
def export_xlsx(args: dict[str, Any]) -> Response:
    """导出成果清单（Excel，与列表相同的检索参数，不分页）/ Export a result list to XLSX"""
    ids, query = _export_ids(args)
    # Built in a temporary file (openpyxl's write-only mode keeps memory flat), then sent from disk.
    out = tempfile.TemporaryFile()
    write_xlsx(db_session(), ids, out, current_actor(), query)
    return _send_file(out, XLSX_TYPE, *export_filename("xlsx"))


@blp.route("/export.csv")
@blp.arguments(SearchArgsSchema, location="query", unknown=RAISE)
@blp.response(200, description="CSV（UTF-8 带 BOM，Excel 可直接打开）", content_type=CSV_TYPE)
def export_csv(args: dict[str, Any]) -> Response:
    """导出成果清单（CSV）/ Export a result list to CSV"""
    ids, _query = _export_ids(args)
    actor = current_actor()
    name, ascii_name = export_filename("csv")
    # The rows are read while the response streams, after the request's session is closed: the stream has its
    # own session, closed when the stream ends or the client goes away.
    session = current_app.extensions["yx_sessionmaker"]()

    def body() -> Iterator[bytes]:
        try:
            yield from csv_export(session, ids, actor)
        finally:
            session.close()

    return Response(body(), content_type=CSV_TYPE,
                    headers={"Content-Disposition": content_disposition(name, ascii_name)})


@blp.route("/template.xlsx")
@blp.response(200, description="导入模板", content_type=XLSX_TYPE)
def template_xlsx() -> Response:
    """成果导入模板（Excel，含填写说明和代码表）/ The import template (XLSX)"""
    out = tempfile.TemporaryFile()
    write_template_xlsx(db_session(), out)
    return _send_file(out, XLSX_TYPE, *template_filename("xlsx"))


@blp.route("/template.csv")
@blp.response(200, description="导入模板（CSV 表头）", content_type=CSV_TYPE)
def template_csv_file() -> Response:
    """成果导入模板（CSV，UTF-8 带 BOM）/ The import template (CSV)"""
    return Response(template_csv(), content_type=CSV_TYPE,
                    headers={"Content-Disposition": content_disposition(*template_filename("csv"))})
