"""A small in-memory server of docs/sync.md, as a WSGI app: the reference the client is tested against where the
real server's behaviour is not the point (fault injection, epochs, the state machine), and until the real
sync API is in place. It keeps the rules of the protocol exactly: per-field versions, mutation ids remembered,
conflicts kept with both values, tombstones, epochs with 410 refetch, chunked content-addressed files.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

SYNC = {"X-Yuanxian-Sync": "1"}


@dataclass
class Rec:
    type: str
    id: str
    fields: dict[str, Any]
    version: int
    field_versions: dict[str, int]
    deleted: bool = False


@dataclass
class State:
    seq: int = 0
    records: dict[tuple[str, str], Rec] = field(default_factory=dict)
    log: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, type, id)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytearray] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)
    history: list[tuple[str, str, str, Any, str]] = field(default_factory=list)  # type, id, field, value, mutation


class ProtocolServer:
    def __init__(self, county: str = "410102") -> None:
        self.county = county
        self.epoch = uuid.uuid4().hex[:8]
        self.state = State()
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()
        self.requests = 0

    # --- test helpers --------------------------------------------------------------------------------------

    def enroll(self, username: str = "agent") -> str:
        secret = uuid.uuid4().hex
        self.tokens[secret] = username
        return secret

    def records_view(self) -> tuple[dict[str, dict[str, Any]], set[str], set[tuple[str, str, Any]],
                                    list[dict[str, Any]]]:
        """What ``fk_kits.check_union`` needs: records, deleted ids, applied history, conflicts."""
        with self.lock:
            recs = {r.id: {**r.fields, "_type": r.type} for r in self.state.records.values()}
            deleted = {r.id for r in self.state.records.values() if r.deleted}
            history = {(rid, f, repr(None if v == "" else v)) for _t, rid, f, v, _m in self.state.history}
            return recs, deleted, history, copy.deepcopy(self.state.conflicts)

    def listing(self, type_: str, id_: str, record: dict[str, Any]) -> None:
        """A reference record (a result on the list) entering the devices' scope."""
        with self.lock:
            self.state.records[(type_, id_)] = Rec(type_, id_, record, 1, {})
            self._log(type_, id_)

    def snapshot(self) -> State:
        with self.lock:
            return copy.deepcopy(self.state)

    def restore(self, snap: State) -> None:
        """A restore from a backup: the old state and a new epoch."""
        with self.lock:
            self.state = copy.deepcopy(snap)
            self.epoch = uuid.uuid4().hex[:8]

    def live(self, type_: str | None = None) -> dict[str, Rec]:
        return {r.id: r for r in self.state.records.values() if not r.deleted and type_ in (None, r.type)}

    def write(self, type_: str, id_: str, fields: dict[str, Any]) -> None:
        """A change made on the server (an officer's edit)."""
        with self.lock:
            rec = self.state.records[(type_, id_)]
            rec.version += 1
            rec.fields.update(fields)
            rec.field_versions.update(dict.fromkeys(fields, rec.version))
            self._log(type_, id_)

    # --- WSGI ----------------------------------------------------------------------------------------------

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests += 1
            response = self.dispatch(request)
        if "gzip" in request.headers.get("Accept-Encoding", "") and len(response.get_data()) > 200:
            response.set_data(gzip.compress(response.get_data()))
            response.headers["Content-Encoding"] = "gzip"
        return response(environ, start_response)

    def _json(self, doc: Any, status: int = 200, sync: bool = True) -> Response:
        return Response(json.dumps(doc), status=status, mimetype="application/json", headers=SYNC if sync else {})

    def _error(self, status: int, code: str) -> Response:
        return self._json({"code": code, "message": {"zh": code, "en": code}}, status)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == "/api/devices" and request.method == "POST":
            body = request.get_json()
            if body.get("password") != "correct horse battery":
                return self._json({"code": "bad_credentials", "message": {"zh": "用户名或密码错误",
                                                                          "en": "wrong credentials"}}, 401, False)
            secret = uuid.uuid4().hex
            self.tokens[secret] = body["username"]
            return self._json({"id": "d1", "kind": "device", "name": body["name"], "secret": secret}, 201, False)
        auth = request.headers.get("Authorization", "")[7:]
        if auth not in self.tokens:
            return self._error(401, "bad_token")
        if path == "/api/auth/me":
            return self._json({"username": self.tokens[auth], "roles": [{"role": "agent", "scope": self.county}]},
                              sync=False)
        data = request.get_data()
        if request.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        if path == "/api/sync/pull":
            return self.pull(request.args.get("cursor", ""), int(request.args.get("limit", "100")))
        if path == "/api/sync/push":
            muts = json.loads(data)["mutations"]
            return self._json({"epoch": self.epoch, "results": [self.push(m) for m in muts]})
        if path.startswith("/api/sync/files/"):
            return self.file(request, path.rsplit("/", 1)[1], data)
        return self._error(404, "not_found")

    def pull(self, cursor: str, limit: int) -> Response:
        after = 0
        if cursor:
            epoch, _, seq = cursor.partition(".")
            if epoch != self.epoch:
                return self._error(410, "refetch")
            after = int(seq)
        rows = [r for r in self.state.log if r[0] > after][:limit]
        changes = []
        for _seq, type_, id_ in rows:
            rec = self.state.records[(type_, id_)]
            changes.append({"type": type_, "id": id_, "op": "delete" if rec.deleted else "upsert",
                            "version": rec.version, "record": {**rec.fields, "id": id_, "deleted": rec.deleted}})
        last = rows[-1][0] if rows else after
        more = any(r[0] > last for r in self.state.log)
        return self._json({"epoch": self.epoch, "changes": changes, "cursor": f"{self.epoch}.{last}",
                           "has_more": more})

    def _log(self, type_: str, id_: str) -> None:
        self.state.seq += 1
        self.state.log = [r for r in self.state.log if (r[1], r[2]) != (type_, id_)]
        self.state.log.append((self.state.seq, type_, id_))

    def _upsert(self, type_: str, id_: str, fields: dict[str, Any], base: int | None, mid: str) -> dict[str, Any]:
        rec = self.state.records.get((type_, id_))
        if rec is None:
            rec = Rec(type_, id_, dict(fields), 1, dict.fromkeys(fields, 1))
            self.state.records[(type_, id_)] = rec
            self.state.history += [(type_, id_, k, v, mid) for k, v in fields.items()]
            self._log(type_, id_)
            return {"status": "applied", "version": 1}
        if rec.deleted:
            cid = self._conflict(rec, mid, fields, {"deleted": True})
            return {"status": "conflict", "version": rec.version, "fields": {}, "deleted": True,
                    "conflict_ids": [cid]}
        clash = {k: rec.fields.get(k) for k, v in fields.items()
                 if rec.field_versions.get(k, 0) > (base or 0) and rec.fields.get(k) != v}
        apply = {k: v for k, v in fields.items() if k not in clash and rec.fields.get(k) != v}
        if apply:
            rec.version += 1
            for k, v in apply.items():
                rec.fields[k] = v
                self.state.history.append((type_, id_, k, v, mid))
                rec.field_versions[k] = rec.version
            self._log(type_, id_)
        if clash:
            cid = self._conflict(rec, mid, {k: fields[k] for k in clash}, clash)
            return {"status": "conflict", "version": rec.version, "fields": clash, "conflict_ids": [cid]}
        return {"status": "applied", "version": rec.version}

    def _conflict(self, rec: Rec, mid: str, mine: dict[str, Any], server: dict[str, Any]) -> str:
        cid = uuid.uuid4().hex
        self.state.conflicts.append({"id": cid, "type": rec.type, "record_id": rec.id, "mutation_id": mid,
                                     "device": mine, "server": server})
        return cid

    def push(self, m: dict[str, Any]) -> dict[str, Any]:
        if m["mutation_id"] in self.state.answers:
            first = self.state.answers[m["mutation_id"]]
            return {"status": "duplicate", "version": first.get("version"), "original": first}
        if m["type"] == "plot" and not str(m["fields"].get("name", "x")).strip():
            answer: dict[str, Any] = {"status": "rejected", "code": "validation_failed", "field": "name",
                                      "message": {"zh": "名称必填", "en": "name is required"}}
        elif m["op"] == "delete":
            rec = self.state.records.get((m["type"], m["id"]))
            if rec is None:
                answer = {"status": "rejected", "code": "not_found", "message": {"zh": "无", "en": "not found"}}
            else:
                if not rec.deleted:
                    rec.deleted, rec.version = True, rec.version + 1
                    self._log(rec.type, rec.id)
                answer = {"status": "applied", "version": rec.version}
        else:
            answer = self._upsert(m["type"], m["id"], m["fields"], m["base_version"], m["mutation_id"])
        self.state.answers[m["mutation_id"]] = answer
        return answer

    def file(self, request: Request, sha: str, data: bytes) -> Response:
        held = self.state.files.setdefault(sha, bytearray())
        done = {"X-Upload-Complete": "1"} if sha in self.state.complete else {}
        if request.method == "HEAD":
            return Response(status=200, headers={**SYNC, "X-Upload-Offset": str(len(held)), **done})
        offset = int(request.headers["X-Upload-Offset"])
        if sha in self.state.complete or offset != len(held):
            return Response(json.dumps({"code": "offset_mismatch", "message": {"zh": "偏移", "en": "offset"}}),
                            status=409, headers={**SYNC, "X-Upload-Offset": str(len(held))})
        held.extend(data)
        if len(held) >= int(request.headers["X-Upload-Length"]):
            if hashlib.sha256(held).hexdigest() != sha:
                del self.state.files[sha]  # kept only if the hash matches
                return self._error(422, "hash_mismatch")
            self.state.complete.add(sha)
            done = {"X-Upload-Complete": "1"}
        return Response(status=200, headers={**SYNC, "X-Upload-Offset": str(len(held)), **done})
