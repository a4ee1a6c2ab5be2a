"""One error shape for the whole API, and the table from domain errors to HTTP statuses.

    {"error": {"status": 422, "code": "validation_failed",
               "message": {"zh": "...", "en": "..."},
               "errors": [{"field": "trl", "code": "invalid", "zh": "...", "en": "...", "row": 3}],
               "details": {...},
               "request_id": "..."}}

``request_id`` (in a request) is the ``X-Request-ID`` of the answer, and on the server's log lines (server.logs).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, has_request_context, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from catalog.errors import (
    CatalogError,
    Conflict,
    FieldError,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from catalog.sync_server import Refetch
from server.auth import BadCredentials, BadToken, Unauthorized
from server.logs import request_id

log = logging.getLogger(__name__)


class UpdateRequired(CatalogError):
    code = "update_required"
    zh = "外业工具版本过旧，服务器已不再支持：请运行 fieldkit update 更新后再同步"
    en = "This field kit is too old for the server: run fieldkit update, then sync again"


class TooLarge(CatalogError):
    code = "too_large"
    zh = "请求内容过大"
    en = "The request is too large"


STATUS: dict[type[CatalogError], int] = {
    Refetch: 410,
    UpdateRequired: 426,
    TooLarge: 413,
    Unauthorized: 401,
    BadCredentials: 401,
    BadToken: 401,
    NotFound: 404,
    Forbidden: 403,
    ValidationFailed: 422,
    IllegalTransition: 409,
    Conflict: 409,
    CatalogError: 400,
}

HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式错误", "The request is malformed"),
    401: ("unauthorized", "请先登录", "Sign-in required"),
    403: ("forbidden", "无权访问", "Forbidden"),
    404: ("not_found", "未找到该地址或记录", "Not found"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
    409: ("conflict", "与当前数据冲突", "Conflict with the current data"),
    413: ("too_large", "请求内容过大", "The request is too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "Unsupported media type"),
    422: ("validation_failed", "数据校验未通过", "The data did not pass validation"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试", "Too many requests"),
    500: ("internal_error", "服务器内部错误", "Internal server error"),
}

# marshmallow's default messages, in Chinese.
MARSHMALLOW_ZH: dict[str, str] = {
    "Missing data for required field.": "必填字段缺失",
    "Field may not be null.": "字段不能为空",
    "Not a valid integer.": "不是有效的整数",
    "Not a valid number.": "不是有效的数字",
    "Not a valid string.": "不是有效的文本",
    "Not a valid list.": "不是有效的列表",
    "Not a valid boolean.": "不是有效的布尔值",
    "Not a valid date.": "不是有效的日期",
    "Not a valid email address.": "不是有效的电子邮箱",
    "Unknown field.": "未知字段",
    "Invalid input type.": "输入类型无效",
    "Length must be between {min} and {max}.": "长度不符合要求",
}


def field_errors_from_marshmallow(messages: Any, prefix: str = "") -> list[FieldError]:
    """Flatten marshmallow's nested ``{field: [msg] | {...}}`` into FieldErrors."""
    out: list[FieldError] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "files", "headers", "view_args") and not prefix:
                out.extend(field_errors_from_marshmallow(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(field_errors_from_marshmallow(value, name))
    elif isinstance(messages, list):
        for msg in messages:
            if isinstance(msg, dict | list):
                out.extend(field_errors_from_marshmallow(msg, prefix))
            else:
                text = str(msg)
                zh = MARSHMALLOW_ZH.get(text) or _zh_prefix(text)
                code = "unknown_field" if text == "Unknown field." else (
                    "required" if text == "Missing data for required field." else "invalid")
                en = text.split(" / ", 1)[1] if " / " in text else text  # ours come as "中文 / English"
                out.append(FieldError(field=prefix or "_schema", code=code, zh=zh, en=en))
    return out


def _zh_prefix(text: str) -> str:
    # Messages we write ourselves come as "中文 / English"; otherwise give a generic Chinese reason.
    if " / " in text:
        return text.split(" / ", 1)[0]
    return f"取值无效：{text}"


def error_body(status: int, code: str, zh: str, en: str, errors: list[FieldError] | None = None,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code, "message": {"zh": zh, "en": en}}
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    if details:
        body["details"] = details
    if has_request_context():
        body["request_id"] = request_id()
    return {"error": body}


JSON_PATHS = ("/healthz", "/readyz", "/metrics")  # server.probes: machines ask, they get JSON errors too


def _wants_json() -> bool:
    return (request.path.startswith("/api/") or request.path in JSON_PATHS
            or request.accept_mimetypes.best == "application/json")


def _respond(status: int, body: dict[str, Any]) -> Response | tuple[str, int]:
    if _wants_json():
        resp = jsonify(body)
        resp.status_code = status
        return resp
    err = body["error"]
    return render_template("error.html", error=err), status


def handle_catalog_error(exc: CatalogError) -> Any:
    status = next(s for cls, s in STATUS.items() if isinstance(exc, cls))
    errors = exc.errors if isinstance(exc, ValidationFailed) else None
    return _respond(status, error_body(status, exc.code, exc.zh, exc.en, errors, exc.context or None))


def handle_http_exception(exc: HTTPException) -> Any:
    status = exc.code or 500
    code, zh, en = HTTP_MESSAGES.get(status, ("http_error", "请求失败", exc.name))
    if isinstance(exc, CSRFError):
        code, zh, en = "csrf_failed", "页面已过期或缺少安全令牌，请刷新后重试", "The CSRF token is missing or invalid"
    errors = None
    data = getattr(exc, "data", None)
    if status == 422 and data and "messages" in data:
        errors = field_errors_from_marshmallow(data["messages"])
    if status == 400 and data and "messages" in data:  # smorest: unparseable body
        errors = field_errors_from_marshmallow(data["messages"])
    resp = _respond(status, error_body(status, code, zh, en, errors))
    valid = getattr(exc, "valid_methods", None)
    if valid and isinstance(resp, Response):
        resp.headers["Allow"] = ", ".join(valid)
    return resp


def handle_unexpected(exc: Exception) -> Any:
    log.exception("unexpected error on %s %s", request.method, request.path)
    code, zh, en = HTTP_MESSAGES[500]
    return _respond(500, error_body(500, code, zh, en))


def init_app(app: Flask) -> None:
    # Registered after the API so these replace flask-smorest's own handler.
    app.register_error_handler(CatalogError, handle_catalog_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
