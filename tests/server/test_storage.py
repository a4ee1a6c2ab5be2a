"""Attachments in object storage through the app: S3_* settings (config check asks the bucket itself), the sync
upload and download reading and writing the bucket, nothing on the app server's disk."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import create_user, issue_token
from catalog.audit import act_as
from catalog.field import Photo
from server import config as cfg
from server import create_app
from server.cli import main
from server.storage import s3_client
from tests.server.test_cli_serve import free_port
from tests.server.test_sync_api import PROTO, upload
from tests.sync.helpers import make_plot

OURS = ("DATABASE_URL", "SECRET_KEY", "YUANXIAN_ENV", "REDIS_URL", "YUANXIAN_PROXIES", "YUANXIAN_WORKERS",
        "LOG_FORMAT", "LOG_LEVEL", "PROMETHEUS_MULTIPROC_DIR", *cfg.S3_SETTINGS)


def check(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    full: dict[str, str | None] = {name: None for name in OURS}
    full.update(env)
    full["YUANXIAN_INSTANCE"] = str(tmp_path)
    return CliRunner(env=full).invoke(main, ["config", "check"])


def errors(output: str) -> dict[str, str]:
    return {line.split("] ", 1)[1].split(":", 1)[0]: line for line in output.splitlines()
            if line.startswith("[错误 / error]")}


def test_config_check__a_bucket_that_answers__ok(tmp_path, s3_settings):
    result = check(tmp_path, **s3_settings)
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output
    client = s3_client(s3_settings)
    try:  # the probe object is gone again
        assert client.list_objects_v2(Bucket=s3_settings["S3_BUCKET"]).get("KeyCount") == 0
    finally:
        client.close()


def test_config_check__no_such_bucket__named(tmp_path, s3_settings):
    result = check(tmp_path, **{**s3_settings, "S3_BUCKET": "yx-not-there"})
    assert result.exit_code == 1
    assert list(errors(result.output)) == ["S3_BUCKET"]
    assert "存储桶 yx-not-there 在" in result.output and "bucket yx-not-there does not exist at" in result.output


def test_config_check__endpoint_that_does_not_answer__named(tmp_path, s3_settings):
    dead = f"http://127.0.0.1:{free_port()}"
    result = check(tmp_path, **{**s3_settings, "S3_ENDPOINT_URL": dead})
    assert result.exit_code == 1
    assert list(errors(result.output)) == ["S3_ENDPOINT_URL"]
    assert f"{dead} 无应答" in result.output and f"{dead} does not answer" in result.output


def test_config_check__malformed_s3_settings__a_line_each_and_no_probe(tmp_path):
    result = check(tmp_path, S3_BUCKET="Photos_Bucket", S3_PREFIX="/yx/../", S3_ENDPOINT_URL="ftp://minio",
                   S3_REGION="北京", S3_ACCESS_KEY_ID="AKIA1234")
    assert result.exit_code == 1
    assert sorted(errors(result.output)) == ["S3_BUCKET", "S3_ENDPOINT_URL", "S3_PREFIX", "S3_REGION",
                                             "S3_SECRET_ACCESS_KEY"]
    assert "is not a valid bucket name" in result.output and "must be http(s)://host[:port]" in result.output
    assert "5 setting(s) wrong" in result.output


def test_config_check__s3_settings_without_a_bucket__said(tmp_path):
    result = check(tmp_path, S3_ENDPOINT_URL="http://minio:9000", S3_PREFIX="yx/")
    assert result.exit_code == 1
    assert sorted(errors(result.output)) == ["S3_ENDPOINT_URL", "S3_PREFIX"]
    assert "S3_BUCKET is not: attachments stay on local disk" in result.output


def test_from_environment__s3_settings_read_and_the_prefix_ends_in_a_slash(monkeypatch, s3_settings):
    for name, value in {**s3_settings, "S3_PREFIX": "yx/photos"}.items():
        monkeypatch.setenv(name, value)
    read = cfg.from_environment()
    assert {k: read[k] for k in cfg.S3_SETTINGS} == {**s3_settings, "S3_PREFIX": "yx/photos/"}


def test_sync_files__upload_with_drops_and_download__through_the_bucket_only(db_url, tmp_path, s3_settings):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test", **s3_settings})
    client = app.test_client()
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        user = create_user(s, f"kit_{uuid.uuid4().hex[:6]}", "correct horse battery", roles=[("agent", "410102")])
        _token, secret = issue_token(s, user, "device", "平板")
    headers = {"Authorization": f"Bearer {secret}", **PROTO}
    s3 = s3_client(s3_settings)
    try:
        data = os.urandom(1024 * 1024 + 17)
        sha = hashlib.sha256(data).hexdigest()
        requests, conflicts = upload(client, headers, data, sha, 128 * 1024, drop_every=3)
        assert conflicts > 0 and requests > 8
        head = client.head(f"/api/sync/files/{sha}", headers=headers)
        assert (head.headers["X-Upload-Complete"], head.headers["X-Upload-Offset"]) == ("1", str(len(data)))
        body = s3.get_object(Bucket=s3_settings["S3_BUCKET"], Key=f"photos/{sha}")["Body"]
        try:
            assert body.read() == data
        finally:
            body.close()
        assert not (tmp_path / "instance" / "files").exists()  # nothing on this app server's disk
        with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s:
            plot = make_plot(s)
            s.add(Photo(id=str(uuid.uuid4()), plot_id=plot.id, county_code="410102", sha256=sha, size=len(data)))
            s.commit()
        with client.get(f"/api/sync/files/{sha}", headers=headers) as resp:
            assert resp.status_code == 200 and resp.data == data and resp.headers["ETag"] == f'"{sha}"'
        with client.get(f"/api/sync/files/{sha}", headers={**headers, "If-None-Match": f'"{sha}"'}) as resp:
            assert resp.status_code == 304
        with client.get(f"/api/sync/files/{sha}", headers={**headers, "Range": "bytes=10-19"}) as resp:
            assert resp.status_code == 206 and resp.data == data[10:20]
        wrong = hashlib.sha256(b"not this").hexdigest()
        resp = client.patch(f"/api/sync/files/{wrong}", data=b"abc", headers={
            **headers, "X-Upload-Offset": "0", "X-Upload-Length": "3"})
        assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "hash_mismatch"
        assert s3.list_objects_v2(Bucket=s3_settings["S3_BUCKET"], Prefix="photos/partial/")["KeyCount"] == 0
    finally:
        s3.close()
        app.extensions["yx_files"].client.close()
        app.extensions["yx_engine"].dispose()


def test_readyz__the_bucket_answers_or_503_names_the_storage(sqlite_url, tmp_path, s3_settings):
    def ready(settings: dict[str, str]) -> tuple[int, dict]:  # type: ignore[type-arg]
        app = create_app({"TESTING": True, "DATABASE_URL": sqlite_url, "SECRET_KEY": "test",
                          "INSTANCE_PATH": str(tmp_path / "instance"), **settings})
        try:
            resp = app.test_client().get("/readyz")
            return resp.status_code, resp.get_json()
        finally:
            app.extensions["yx_files_probe"].close()
            app.extensions["yx_engine"].dispose()

    status, body = ready(s3_settings)
    assert status == 200 and body["checks"]["storage"] == {"ok": True}
    status, body = ready({**s3_settings, "S3_BUCKET": "yx-gone"})
    assert status == 503 and body["error"]["details"]["checks"]["storage"]["ok"] is False
    assert "bucket yx-gone does not answer" in body["error"]["message"]["en"]
