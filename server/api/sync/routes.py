"""The sync endpoints: device token only, protocol headers checked, ``X-Yuanxian-Sync: 1`` on every answer,
gzip both ways (request bodies inflated up to ``SYNC_MAX_INFLATED``)."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wsgi import wrap_file

from catalog.errors import CatalogError, FieldError, NotFound, ValidationFailed
from catalog.field import Photo
from catalog.files import OffsetMismatch, UploadState, check_name
from catalog.sync_server import conflict_dict, device_counties, ensure_backfilled, open_conflicts, server_state
from server import metrics
from server.api.sync.protocol import pull_page, push_batch
from server.api.sync.schemas import PullArgsSchema
from server.auth import Unauthorized, current_actor
from server.db import db_session
from server.errors import TooLarge, UpdateRequired, error_body
from server.storage import file_store
from sync.wire import (
    HEADER_PROTOCOL,
    HEADER_SCHEMA,
    HEADER_SYNC,
    HEADER_UPLOAD_COMPLETE,
    HEADER_UPLOAD_LENGTH,
    HEADER_UPLOAD_OFFSET,
    PROTOCOL,
    SCHEMA,
    WireError,
    mutations_from_json,
)

blp = Blueprint("sync", __name__, url_prefix="/api/sync", description="外业同步 / Field-kit sync")


class DeviceRequired(Unauthorized):
    code = "device_token_required"
    zh = "同步须使用已登记外业设备的令牌"
    en = "Sync needs the token of an enrolled field-kit device"


class BadBody(CatalogError):
    code = "bad_request"
    zh = "请求格式错误"
    en = "The request is malformed"


@blp.errorhandler(OffsetMismatch)
def _offset_mismatch(exc: OffsetMismatch) -> Response:
    resp = jsonify(error_body(409, exc.code, exc.zh, exc.en, None, exc.context))
    resp.status_code = 409
    resp.headers[HEADER_UPLOAD_OFFSET] = str(exc.offset)
    return resp


@blp.before_request
def _device_and_protocol() -> None:
    actor = current_actor()
    if actor.channel != "sync" or not actor.token_id:
        raise DeviceRequired()
    protocol, schema = request.headers.get(HEADER_PROTOCOL, ""), request.headers.get(HEADER_SCHEMA, "")
    minimum = int(current_app.config["SYNC_MIN_SCHEMA"])
    if not protocol.isdigit() or int(protocol) < PROTOCOL or not schema.isdigit() or int(schema) < minimum:
        raise UpdateRequired(protocol=PROTOCOL, min_schema=minimum, schema=SCHEMA)
    if int(protocol) > PROTOCOL or int(schema) > SCHEMA:
        raise BadBody(en=f"This server speaks protocol {PROTOCOL}, schema {SCHEMA}",
                      zh="服务器版本较旧，不支持该外业工具版本", protocol=PROTOCOL, schema=SCHEMA)


@blp.after_request
def _mark_and_compress(resp: Response) -> Response:
    resp.headers[HEADER_SYNC] = "1"
    if (resp.mimetype == "application/json" and not resp.direct_passthrough and request.method != "HEAD"
            and "gzip" in request.headers.get("Accept-Encoding", "") and "Content-Encoding" not in resp.headers):
        body = resp.get_data()
        if len(body) > 512:
            resp.set_data(gzip.compress(body, compresslevel=6))
            resp.headers["Content-Encoding"] = "gzip"
    resp.vary.add("Accept-Encoding")
    return resp


def _body(cap: int) -> bytes:
    """The request body, inflated if gzip, never more than ``cap`` bytes (a gzip bomb stops at the cap)."""
    raw = request.get_data(cache=False)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        if len(raw) > cap:
            raise TooLarge(limit=cap)
        return raw
    if encoding != "gzip":
        raise BadBody(en=f"Unsupported Content-Encoding {encoding}", zh="不支持的内容编码")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, cap + 1)
    except zlib.error:
        raise BadBody(en="The gzip body is corrupt", zh="压缩数据已损坏") from None
    if len(out) > cap or inflater.unconsumed_tail:
        raise TooLarge(en=f"The body inflates beyond {cap} bytes", zh="解压后的请求内容过大", limit=cap)
    if not inflater.eof:
        raise BadBody(en="The gzip body is cut short", zh="压缩数据不完整")
    return out


def _json(cap: int) -> Any:
    try:
        return json.loads(_body(cap))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadBody(en="The body is not JSON", zh="请求内容不是有效的 JSON") from None


@blp.route("/pull", methods=["GET"])
@blp.arguments(PullArgsSchema, location="query", unknown=RAISE)
@blp.response(200)
def sync_pull(args: dict[str, Any]) -> dict[str, Any]:
    """拉取本县范围内的变更 / Changes in the device's scope after a cursor"""
    session, config = db_session(), current_app.config
    limit = args["limit"] or config["SYNC_PULL_LIMIT"]
    if not 1 <= limit <= config["SYNC_PULL_MAX"]:
        raise ValidationFailed([FieldError("limit", "invalid", f"须在 1 至 {config['SYNC_PULL_MAX']} 之间",
                                           f"Between 1 and {config['SYNC_PULL_MAX']}")])
    if not args["cursor"] and ensure_backfilled(session):
        session.commit()  # the rows get a transaction id below the next pull's horizon
    schema = int(request.headers[HEADER_SCHEMA])  # checked by _device_and_protocol: a number the server speaks
    page = pull_page(session, current_actor(), args["cursor"], limit, schema)
    session.commit()
    return page.to_json()


@blp.route("/push", methods=["POST"])
@blp.response(200)
def sync_push() -> dict[str, Any]:
    """推送一批修改，每条一个应答 / Push a batch of mutations: one answer each, in order"""
    session, config = db_session(), current_app.config
    try:
        mutations = mutations_from_json(_json(config["SYNC_MAX_INFLATED"]), config["SYNC_MAX_BATCH"])
    except WireError as exc:
        raise ValidationFailed([FieldError(exc.field, "invalid", f"格式错误：{exc.reason}", exc.reason)]) from None
    actor, minimum = current_actor(), int(config["SYNC_MIN_SCHEMA"])
    try:
        answers = push_batch(session, actor, mutations, minimum)
        epoch = server_state(session).epoch  # the push read it first (catalog.sync_server._push): no SQL
        session.commit()
    except IntegrityError:
        # The same mutations applied by a concurrent request (a retry racing its original): once that one has
        # committed, applying again answers each as a duplicate.
        session.rollback()
        answers = push_batch(session, actor, mutations, minimum)
        epoch = server_state(session).epoch
        session.commit()
    metrics.count_push(answers)
    return {"epoch": epoch, "answers": [a.to_json() for a in answers]}


def _upload_headers(resp: Response, state: UploadState) -> Response:
    resp.headers[HEADER_UPLOAD_OFFSET] = str(state.offset)
    resp.headers[HEADER_UPLOAD_COMPLETE] = "1" if state.complete else "0"
    if state.length is not None:
        resp.headers[HEADER_UPLOAD_LENGTH] = str(state.length)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _header_int(name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit():
        raise ValidationFailed([FieldError(name, "required", f"缺少或无效的 {name}", f"{name} is missing or invalid")])
    return int(value)


@blp.route("/files/<sha256>")
class SyncFile(MethodView):
    def head(self, sha256: str) -> Response:
        """服务器已收到的字节数 / How many bytes of the file the server holds"""
        return _upload_headers(Response(status=200), file_store().state(check_name(sha256)))

    @blp.response(200)
    def patch(self, sha256: str) -> Response:
        """上传文件的一段（从服务器的位置续传）/ Append a chunk at the server's offset"""
        check_name(sha256)
        offset, length = _header_int(HEADER_UPLOAD_OFFSET), _header_int(HEADER_UPLOAD_LENGTH)
        cap = int(current_app.config["SYNC_CHUNK_MAX"])
        if (request.content_length or 0) > cap:
            raise TooLarge(en=f"A chunk is at most {cap} bytes", zh="分段过大", limit=cap)
        data = request.get_data(cache=False)
        if len(data) > cap:
            raise TooLarge(en=f"A chunk is at most {cap} bytes", zh="分段过大", limit=cap)
        store = file_store()
        known = store.state(sha256).complete  # a repeated last chunk of a stored file is not counted again
        state = store.put(sha256, offset, data, length)
        metrics.count_upload(0 if known else len(data))
        return _upload_headers(jsonify({"offset": state.offset, "complete": state.complete}), state)

    def get(self, sha256: str) -> Response:
        """下载本县记录引用的文件 / Download a file that a record of the device's county refers to"""
        check_name(sha256)
        photo = db_session().scalar(select(Photo).where(
            Photo.sha256 == sha256, Photo.county_code.in_(device_counties(current_actor()))).limit(1))
        stored = file_store().open(sha256) if photo is not None else None
        if photo is None or stored is None:
            raise NotFound(en=f"No file {sha256}", zh="文件不存在")
        # From the store (local disk or the bucket), streamed; the name is the content, so it is the ETag.
        resp = Response(wrap_file(request.environ, stored.stream), mimetype=photo.mime or "application/octet-stream",
                        direct_passthrough=True)
        resp.content_length = stored.size
        resp.set_etag(sha256)
        resp.cache_control.public = True
        resp.cache_control.max_age = 86400
        resp.make_conditional(request, accept_ranges=True, complete_length=stored.size)  # 304, 206 (in place)
        return resp


@blp.route("/conflicts", methods=["GET"])
@blp.response(200)
def sync_conflicts() -> dict[str, Any]:
    """本设备推广员待处理的同步冲突 / The open sync conflicts of the device's agent"""
    return {"conflicts": [conflict_dict(c) for c in open_conflicts(db_session(), current_actor())]}
