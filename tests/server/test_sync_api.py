"""The sync endpoints over HTTP: device tokens only, protocol headers, gzip both ways with a cap, refetch, files."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import create_user, issue_token, revoke_token
from catalog.audit import act_as
from catalog.field import DemoPlot, Photo
from catalog.sync_server import AppliedMutation
from sync import cursor as cursors
from tests.sync.helpers import make_plot, mutation, plot_fields, settle

PROTO = {"X-Yuanxian-Protocol": "1", "X-Yuanxian-Schema": "1"}


@pytest.fixture
def devices(app):
    """Bearer + protocol headers of a field kit in 410102 and one in 130102, and the first's token id."""
    out = {}
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        for name, county in (("henan", "410102"), ("hebei", "130102")):
            user = create_user(s, f"kit_{name}", "correct horse battery", roles=[("agent", county)])
            token, secret = issue_token(s, user, "device", f"{name} 平板")
            out[name] = {"Authorization": f"Bearer {secret}", **PROTO}
            out[f"{name}_token"] = token.id
    return out


def db(app) -> Session:
    return act_as(Session(app.extensions["yx_engine"]), operator("test"))


def pull_all(client, headers, cursor=""):
    changes = []
    while True:
        resp = client.get(f"/api/sync/pull?cursor={cursor}&limit=200", headers=headers)
        assert resp.status_code == 200, resp.data[:300]
        page = resp.get_json()
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor


def push(client, headers, *mutations, gz=False):
    body = json.dumps({"mutations": list(mutations)}).encode()
    extra = {"Content-Type": "application/json"}
    if gz:
        body, extra = gzip.compress(body), {**extra, "Content-Encoding": "gzip"}
    return client.post("/api/sync/push", data=body, headers={**headers, **extra})


def test_pull__device_gets_its_county_and_the_listings__marked_as_sync(app, client, devices):
    with db(app) as s:
        mine, theirs = make_plot(s).id, make_plot(s, "130102").id
        settle(s)
        s.commit()
    resp = client.get("/api/sync/pull?cursor=", headers=devices["henan"])  # logs the reference data once
    assert resp.status_code == 200 and resp.headers["X-Yuanxian-Sync"] == "1"
    with db(app) as s:
        settle(s)  # PostgreSQL: until the transactions open meanwhile in the cluster end
    changes, _ = pull_all(client, devices["henan"])
    plots = [c["id"] for c in changes if c["type"] == "plot"]
    assert plots == [mine] and theirs not in plots
    assert {c["type"] for c in changes} >= {"plot", "code_list", "site"}  # reference data reached the log


@pytest.mark.parametrize("who", ["api_token", "anonymous"])
def test_sync__without_a_device_token__401(client, accounts, who):
    headers = {**accounts["agent"], **PROTO} if who == "api_token" else PROTO
    resp = client.get("/api/sync/pull", headers=headers)
    assert resp.status_code == 401 and resp.headers["X-Yuanxian-Sync"] == "1"
    assert resp.get_json()["error"]["code"] in ("device_token_required", "unauthorized")


def test_sync__revoked_device__401(app, client, devices):
    assert client.get("/api/sync/pull", headers=devices["henan"]).status_code == 200
    with db(app) as s, s.begin():
        from catalog.accounts import Token

        revoke_token(s.get(Token, devices["henan_token"]), "test")
    resp = client.get("/api/sync/pull", headers=devices["henan"])
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("headers", [{}, {"X-Yuanxian-Protocol": "0", "X-Yuanxian-Schema": "1"},
                                     {"X-Yuanxian-Protocol": "1", "X-Yuanxian-Schema": "0"}])
def test_sync__old_or_unknown_kit__426_update_required(client, devices, headers):
    auth = {"Authorization": devices["henan"]["Authorization"]}
    resp = client.get("/api/sync/pull", headers={**auth, **headers})
    assert resp.status_code == 426 and resp.get_json()["error"]["code"] == "update_required"
    assert resp.headers["X-Yuanxian-Sync"] == "1"


def test_pull__foreign_epoch_cursor__410_refetch(client, devices):
    _, cursor = pull_all(client, devices["henan"])
    assert cursor
    foreign = cursors.encode(cursors.Cursor("feedbeef", 1, 1, 1))
    resp = client.get(f"/api/sync/pull?cursor={foreign}", headers=devices["henan"])
    assert resp.status_code == 410 and resp.get_json()["error"]["code"] == "refetch"


def test_pull__answer_gzipped_when_accepted(client, devices):
    resp = client.get("/api/sync/pull?cursor=&limit=200", headers={**devices["henan"], "Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(resp.data))["changes"]


def test_push__gzip_body__applied_and_replay_answers_duplicate(app, client, devices):
    rid = str(uuid.uuid4())
    batch = [mutation("plot", rid, plot_fields())]
    first = push(client, devices["henan"], *batch, gz=True)
    assert first.status_code == 200 and first.headers["X-Yuanxian-Sync"] == "1"
    body = first.get_json()
    assert body["epoch"] and [a["status"] for a in body["answers"]] == ["applied"]
    again = push(client, devices["henan"], *batch, gz=True).get_json()["answers"]
    assert again == [{"status": "duplicate", "original": body["answers"][0]}]
    with db(app) as s:
        assert s.scalar(select(func.count()).select_from(DemoPlot).where(DemoPlot.id == rid)) == 1


def test_push__gzip_bomb__413_and_nothing_written(app, client, devices):
    app.config["SYNC_MAX_INFLATED"] = 1024 * 1024
    doc = json.dumps({"mutations": [mutation("plot", str(uuid.uuid4()), plot_fields())]})
    bomb = gzip.compress(doc.encode() + b" " * (8 * 1024 * 1024))  # valid JSON once inflated, 8 MiB of it
    assert len(bomb) < 64 * 1024
    resp = client.post("/api/sync/push", data=bomb, headers={**devices["henan"], "Content-Encoding": "gzip",
                                                             "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"
    with db(app) as s:
        assert s.scalar(select(func.count()).select_from(AppliedMutation)) == 0


@pytest.mark.parametrize(("body", "status"), [(b"not json", 400), (b'{"mutations": [{"type": "plot"}]}', 422),
                                              (b'{"mutations": "x"}', 422)])
def test_push__malformed_body__refused_in_the_error_shape(client, devices, body, status):
    resp = client.post("/api/sync/push", data=body, headers={**devices["henan"], "Content-Type": "application/json"})
    assert resp.status_code == status and resp.get_json()["error"]["code"]


def test_conflicts__the_devices_agent_sees_its_conflicts(client, devices):
    rid = str(uuid.uuid4())
    push(client, devices["henan"], mutation("plot", rid, plot_fields()))
    push(client, devices["henan"], mutation("plot", rid, {"variety": "郑单958"}, base=1))
    answer = push(client, devices["henan"], mutation("plot", rid, {"variety": "先玉335"}, base=1)).get_json()
    assert answer["answers"][0]["status"] == "conflict"
    got = client.get("/api/sync/conflicts", headers=devices["henan"]).get_json()["conflicts"]
    assert [(c["record_id"], c["field"], c["device_value"], c["server_value"]) for c in got] == \
        [(rid, "variety", "先玉335", "郑单958")]
    assert client.get("/api/sync/conflicts", headers=devices["hebei"]).get_json()["conflicts"] == []


# --- files -----------------------------------------------------------------------------------------------------


def upload(client, headers, data: bytes, sha: str, chunk: int, drop_every: int = 0) -> tuple[int, int]:
    """Upload like a kit over a bad link: every ``drop_every``-th request is lost on the way there (the server
    never sees it) or on the way back (the server applied it, the kit does not know). Returns (requests, 409s)."""
    path = f"/api/sync/files/{sha}"
    head = client.head(path, headers=headers)
    offset, complete = int(head.headers["X-Upload-Offset"]), head.headers["X-Upload-Complete"] == "1"
    requests = conflicts = 0
    while not complete:
        requests += 1
        part = data[offset:offset + chunk]
        lost = drop_every and requests % drop_every == 0
        if lost and requests % (2 * drop_every) == 0:
            continue  # dropped before the server: nothing arrives
        resp = client.patch(path, data=part, headers={**headers, "X-Upload-Offset": str(offset),
                                                      "X-Upload-Length": str(len(data))})
        if lost:
            continue  # the answer is lost: the kit retries the same offset
        if resp.status_code == 409:
            conflicts += 1
            offset = int(resp.headers["X-Upload-Offset"])  # resume from the server's offset
            continue
        assert resp.status_code == 200, resp.data[:300]
        offset, complete = int(resp.headers["X-Upload-Offset"]), resp.headers["X-Upload-Complete"] == "1"
    return requests, conflicts


def test_files__5mb_in_chunks_with_drops__resumes_from_the_server_offset_and_verifies(app, client, devices):
    data = os.urandom(5 * 1024 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    requests, conflicts = upload(client, devices["henan"], data, sha, 256 * 1024, drop_every=3)
    assert conflicts > 0 and requests > 20
    head = client.head(f"/api/sync/files/{sha}", headers=devices["henan"])
    assert (head.headers["X-Upload-Complete"], head.headers["X-Upload-Offset"]) == ("1", str(len(data)))
    stored = Path(app.instance_path, "files", sha[:2], sha).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == sha
    assert upload(client, devices["henan"], data, sha, 256 * 1024) == (0, 0)  # a known hash is not sent again


def test_files__wrong_hash__refused_and_discarded(app, client, devices):
    data = os.urandom(300 * 1024)
    wrong = hashlib.sha256(b"something else").hexdigest()
    path = f"/api/sync/files/{wrong}"
    headers = {**devices["henan"], "X-Upload-Length": str(len(data))}
    assert client.patch(path, data=data[:200 * 1024], headers={**headers, "X-Upload-Offset": "0"}).status_code == 200
    resp = client.patch(path, data=data[200 * 1024:], headers={**headers, "X-Upload-Offset": str(200 * 1024)})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "hash_mismatch"
    head = client.head(path, headers=devices["henan"])
    assert (head.headers["X-Upload-Offset"], head.headers["X-Upload-Complete"]) == ("0", "0")


def test_files__download_only_for_the_county_of_a_photo_that_names_it(app, client, devices):
    data = b"\xff\xd8 a tiny jpeg"
    sha = hashlib.sha256(data).hexdigest()
    upload(client, devices["henan"], data, sha, 64 * 1024)
    assert client.get(f"/api/sync/files/{sha}", headers=devices["henan"]).status_code == 404  # no record yet
    with db(app) as s:
        plot = make_plot(s)
        s.add(Photo(id=str(uuid.uuid4()), plot_id=plot.id, county_code="410102", sha256=sha, size=len(data)))
        s.commit()
    with client.get(f"/api/sync/files/{sha}", headers=devices["henan"]) as resp:
        assert resp.status_code == 200 and resp.data == data
    assert client.get(f"/api/sync/files/{sha}", headers=devices["hebei"]).status_code == 404


@pytest.mark.parametrize(("headers", "status"), [({"X-Upload-Offset": "0"}, 422),
                                                 ({"X-Upload-Offset": "5", "X-Upload-Length": "10"}, 409)])
def test_files__bad_patch_headers__refused(client, devices, headers, status):
    resp = client.patch(f"/api/sync/files/{'a' * 64}", data=b"12345", headers={**devices["henan"], **headers})
    assert resp.status_code == status


def test_cli_new_epoch__old_cursors_refetch(app, client, devices):
    _, cursor = pull_all(client, devices["henan"])
    from server.cli import main

    result = app.test_cli_runner().invoke(main, ["sync", "new-epoch"])
    assert result.exit_code == 0, result.output
    resp = client.get(f"/api/sync/pull?cursor={cursor}", headers=devices["henan"])
    assert resp.status_code == 410 and resp.get_json()["error"]["code"] == "refetch"
    fresh = client.get("/api/sync/pull?cursor=", headers=devices["henan"]).get_json()
    assert fresh["epoch"] == resp.get_json()["error"]["details"]["epoch"] != cursor.split(".")[0]
