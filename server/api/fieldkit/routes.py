"""The field kit package: what version the platform offers, and the package itself (``fieldkit update``).

Open to everyone, like the reference data: a new laptop downloads its kit before it is enrolled, and a kit too old
to sync (426 ``update_required``) must still reach it. No protocol headers are required here, for that reason; the
answers carry ``X-Yuanxian-Sync: 1`` so a kit never takes a captive portal's page for the package.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, send_file
from flask_smorest import Blueprint

from server.fieldkit_package import current
from sync.wire import HEADER_SYNC, SCHEMA

blp = Blueprint("fieldkit", __name__, url_prefix="/api/fieldkit", description="外业工具安装包 / Field kit package")


@blp.after_request
def _mark(resp: Response) -> Response:
    resp.headers[HEADER_SYNC] = "1"
    return resp


@blp.route("/version", methods=["GET"])
@blp.response(200)
def fieldkit_version() -> dict[str, Any]:
    """平台提供的外业工具版本与校验值 / The field kit version offered, with its sha256"""
    package = current(current_app.instance_path)
    return {**package.as_dict(), "schema": SCHEMA, "min_schema": int(current_app.config["SYNC_MIN_SCHEMA"])}


@blp.route("/package", methods=["GET"])
def fieldkit_package() -> Response:
    """下载外业工具安装包（wheel）/ Download the field kit package (a wheel)"""
    package = current(current_app.instance_path)
    resp = send_file(package.path, mimetype="application/octet-stream", as_attachment=True,
                     download_name=package.filename, conditional=True, max_age=0)
    resp.headers["X-Checksum-Sha256"] = package.sha256
    return resp
