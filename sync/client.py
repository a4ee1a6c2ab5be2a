"""The field kit's sync engine: files up, outbox up, changes down; pure (a transport and a store are passed in).

Every step can be cut at any point and repeated: a mutation leaves the outbox only in the same local
transaction that stores its answer; a page of changes and the cursor after it are stored together; a file
upload resumes from the server's offset. So ``sync()`` after any interruption carries on where it stopped.

Epochs: a ``410 refetch`` (or an answer from another epoch) makes the store download the whole scope again
from an empty cursor, keeping its outbox; when that is complete, the store re-queues every record of its own
that the new server lacks or holds older than the version last heard (``finish_refetch``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sync.transport import ServerRefused, Transport

PUSH_BATCH = 100
PULL_LIMIT = 500
CHUNK = 128 * 1024  # within the protocol's 64-256 KiB


@dataclass(frozen=True)
class PendingFile:
    sha256: str
    path: Path
    size: int


@dataclass(frozen=True)
class SyncState:
    cursor: str
    epoch: str | None
    refetching: bool


class SyncStore(Protocol):
    """What the engine needs of the local store; each method is one local transaction."""

    def state(self) -> SyncState: ...

    def next_batch(self, limit: int) -> list[dict[str, Any]]:
        """The oldest mutations in wire form, at most one per record (their ``attempts`` counted)."""
        ...

    def apply_answers(self, mutations: list[dict[str, Any]], answers: list[dict[str, Any]], epoch: str | None
                      ) -> None: ...

    def apply_page(self, changes: list[dict[str, Any]], cursor: str, epoch: str) -> None: ...

    def start_refetch(self) -> None: ...

    def finish_refetch(self, epoch: str) -> int: ...

    def pending_files(self) -> list[PendingFile]: ...

    def file_uploaded(self, sha256: str) -> None: ...

    def pending_count(self) -> int: ...


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int | None) -> None: ...


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class SyncReport:
    pushed: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    pulled: int = 0
    pages: int = 0
    bytes_uploaded: int = 0
    files: int = 0
    refetched: bool = False
    requeued: int = 0


class SyncClient:
    def __init__(self, transport: Transport, store: SyncStore, *, batch: int = PUSH_BATCH,
                 pull_limit: int = PULL_LIMIT, chunk: int = CHUNK, progress: Progress = _quiet) -> None:
        self.transport, self.store = transport, store
        self.batch, self.pull_limit, self.chunk = batch, pull_limit, chunk
        self.progress = progress

    def sync(self) -> SyncReport:
        """Files, pull, push, and a last pull when anything was pushed.

        Pulling first finds a new epoch before anything is pushed to a restored server (the refetch queues
        the re-pushes in front of the outbox); the last pull brings the merged records back.
        """
        report = SyncReport()
        self.upload_files(report)
        self.pull(report)
        self.push(report)
        if report.pushed:
            self.pull(report)
        return report

    # --- files ---------------------------------------------------------------------------------------------

    def upload_files(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        pending = self.store.pending_files()
        total = sum(f.size for f in pending)
        done = 0
        for f in pending:
            sent = self._upload(f, lambda n, base=done: self.progress("bytes", base + n, total))
            report.bytes_uploaded += sent
            done += f.size
            report.files += 1
            self.store.file_uploaded(f.sha256)
            self.progress("bytes", done, total)
        return report

    def _upload(self, f: PendingFile, on_offset: Any) -> int:
        path = f"/api/sync/files/{f.sha256}"
        head = self.transport.request("HEAD", path)
        offset, complete = int(head.header("X-Upload-Offset") or 0), head.header("X-Upload-Complete") == "1"
        sent = 0
        with f.path.open("rb") as fh:
            while not complete:
                fh.seek(offset)
                chunk = fh.read(self.chunk)
                try:
                    r = self.transport.request("PATCH", path, data=chunk, headers={
                        "X-Upload-Offset": str(offset), "X-Upload-Length": str(f.size),
                        "Content-Type": "application/offset+octet-stream"})
                except ServerRefused as exc:
                    if exc.status != 409:
                        raise
                    # A retried chunk the server already holds: carry on from the server's offset.
                    offset = self._server_offset(path)
                    continue
                sent += len(chunk)
                offset, complete = int(r.header("X-Upload-Offset") or 0), r.header("X-Upload-Complete") == "1"
                on_offset(offset)
                if not chunk and not complete:
                    raise ServerRefused(409, "upload_incomplete", "文件上传未完成", "the upload did not complete")
        return sent

    def _server_offset(self, path: str) -> int:
        return int(self.transport.request("HEAD", path).header("X-Upload-Offset") or 0)

    # --- push ----------------------------------------------------------------------------------------------

    def push(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        total = self.store.pending_count()
        done = 0
        self.progress("push", 0, total)
        for batch in self._batches():
            answer = self.transport.request("POST", "/api/sync/push", json={"mutations": batch}).json()
            answers = (answer.get("results") or answer.get("answers") or []) if isinstance(answer, dict) else answer
            if len(answers) != len(batch):
                raise ServerRefused(502, "bad_answer", "服务器应答与请求不符", "the answer does not match the batch")
            epoch = answer.get("epoch") if isinstance(answer, dict) else None
            self.store.apply_answers(batch, answers, epoch)
            for a in answers:
                report.answers[a["status"]] = report.answers.get(a["status"], 0) + 1
            done += len(batch)
            report.pushed += len(batch)
            self.progress("push", done, max(total, done))
        return report

    def _batches(self) -> Iterator[list[dict[str, Any]]]:
        while batch := self.store.next_batch(self.batch):
            yield batch

    # --- pull ----------------------------------------------------------------------------------------------

    def pull(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        state = self.store.state()
        refetching = state.refetching
        cursor = "" if refetching else state.cursor
        while True:
            try:
                page = self.transport.request("GET", "/api/sync/pull",
                                              params={"cursor": cursor, "limit": str(self.pull_limit)}).json()
            except ServerRefused as exc:
                if exc.status != 410 or refetching and cursor == "":
                    raise
                self.store.start_refetch()
                refetching, cursor = True, ""
                continue
            epoch = str(page["epoch"])
            if state.epoch is not None and epoch != state.epoch and not refetching:
                # A new epoch answering an old cursor (the server should have said 410): refetch all the same.
                self.store.start_refetch()
                refetching, cursor = True, ""
                continue
            self.store.apply_page(page["changes"], page["cursor"], epoch)
            cursor = page["cursor"]
            report.pulled += len(page["changes"])
            report.pages += 1
            self.progress("pull", report.pulled, None)
            if not page["has_more"]:
                break
        if refetching:
            report.refetched = True
            report.requeued += self.store.finish_refetch(epoch)
        return report
