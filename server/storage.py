"""Where attachments are kept: local disk under the instance folder by default, S3-compatible object storage
when ``S3_BUCKET`` is set (server.config). One store per app, shared by its threads (boto3 clients are
thread-safe)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from catalog.files import FileStore, LocalFileStore

CONNECT_TIMEOUT = 5   # seconds to reach the object storage
READ_TIMEOUT = 30
PROBE_TIMEOUT = 3     # `config check`, /readyz: a bucket that does not answer in this long is reported

log = logging.getLogger(__name__)


def s3_client(settings: Mapping[str, Any], *, timeout: float | None = None, attempts: int = 3) -> Any:
    """A boto3 S3 client for the S3_* settings; credentials from S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY when set,
    else boto3's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=timeout or CONNECT_TIMEOUT, read_timeout=timeout or READ_TIMEOUT,
                    retries={"max_attempts": attempts, "mode": "standard"},
                    s3={"addressing_style": "path" if settings.get("S3_ENDPOINT_URL") else "auto"})
    keys = {}
    if settings.get("S3_ACCESS_KEY_ID"):
        keys = {"aws_access_key_id": settings["S3_ACCESS_KEY_ID"],
                "aws_secret_access_key": settings.get("S3_SECRET_ACCESS_KEY")}
    session = boto3.session.Session()  # not the module's default session: safe to build from several threads
    return session.client("s3", endpoint_url=settings.get("S3_ENDPOINT_URL") or None,
                          region_name=settings.get("S3_REGION") or "us-east-1", config=config, **keys)


def build_store(config: Mapping[str, Any], instance_path: str) -> FileStore:
    max_size = int(config["SYNC_FILE_MAX"])
    if config.get("S3_BUCKET"):
        from catalog.files_s3 import S3FileStore

        return S3FileStore(s3_client(config), config["S3_BUCKET"], config.get("S3_PREFIX") or "", max_size)
    root = config.get("SYNC_FILES_DIR") or str(Path(instance_path) / "files")
    return LocalFileStore(Path(root), max_size)


def file_store(app: Flask | None = None) -> FileStore:
    """The app's store, made on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("yx_files")
    if store is None:
        store = app.extensions["yx_files"] = build_store(app.config, app.instance_path)
    return store  # type: ignore[no-any-return]


def bucket_answers(app: Flask) -> bool:
    """The readiness check: a HEAD of the bucket, with short timeouts and no retries (its own client)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = app.extensions.get("yx_files_probe")
    if client is None:
        client = app.extensions["yx_files_probe"] = s3_client(app.config, timeout=PROBE_TIMEOUT, attempts=1)
    try:
        client.head_bucket(Bucket=app.config["S3_BUCKET"])
    except (BotoCoreError, ClientError):
        log.warning("readiness: the object storage does not answer", exc_info=True)
        return False
    return True


def probe(settings: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(setting, zh, en) for each thing wrong with the bucket: it answers, exists, and takes and gives back an
    object under the prefix (which is deleted again)."""
    import secrets

    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    bucket = settings["S3_BUCKET"]
    where = settings.get("S3_ENDPOINT_URL") or "AWS S3"
    client = s3_client(settings, timeout=PROBE_TIMEOUT, attempts=1)
    try:
        client.head_bucket(Bucket=bucket)
        key = f"{settings.get('S3_PREFIX') or ''}partial/config-check-{secrets.token_hex(6)}"
        client.put_object(Bucket=bucket, Key=key, Body=b"yuanxian config check")
        client.delete_object(Bucket=bucket, Key=key)
    except NoCredentialsError:
        return [("S3_ACCESS_KEY_ID",
                 "没有对象存储的凭据：设置 S3_ACCESS_KEY_ID 与 S3_SECRET_ACCESS_KEY（或 AWS_ACCESS_KEY_ID 等）",
                 "no credentials for the object storage: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY "
                 "(or AWS_ACCESS_KEY_ID, ...)")]
    except EndpointConnectionError:
        setting = "S3_ENDPOINT_URL" if settings.get("S3_ENDPOINT_URL") else "S3_REGION"
        return [(setting, f"{where} 无应答", f"{where} does not answer")]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("404", "NoSuchBucket", "NotFound"):
            return [("S3_BUCKET", f"存储桶 {bucket} 在 {where} 上不存在", f"bucket {bucket} does not exist at {where}")]
        if status == 403 or code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return [("S3_ACCESS_KEY_ID", f"存储桶 {bucket} 拒绝访问（{code}）：检查凭据与权限",
                     f"bucket {bucket} refuses access ({code}): check the credentials and their rights")]
        return [("S3_BUCKET", f"存储桶 {bucket} 答复错误 {code}", f"bucket {bucket} answers with error {code}")]
    except BotoCoreError as exc:  # timeouts, a proxy in the way, a malformed answer
        setting = "S3_ENDPOINT_URL" if settings.get("S3_ENDPOINT_URL") else "S3_BUCKET"
        return [(setting, f"{where} 无应答（{type(exc).__name__}）", f"{where} does not answer ({type(exc).__name__})")]
    finally:
        client.close()
    return []
