"""One sync at a time, in a background thread, so a page never waits minutes on a 2G link.

The page starts it and reads its progress (records and bytes, as ``fieldkit sync`` shows them); a sync cut off by
the network ends with the message to try again, and the next one resumes where it stopped (the sync client's
own guarantee).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fieldkit.enrol import TransportFactory
from fieldkit.store import Store
from sync.client import SyncClient, SyncReport
from sync.transport import ServerRefused, SyncError, Unreachable


@dataclass
class JobState:
    running: bool = False
    stages: dict[str, dict[str, int | None]] = field(default_factory=dict)  # stage -> done, total
    report: SyncReport | None = None
    error: tuple[str, str] | None = None  # zh, en

    def as_dict(self) -> dict[str, Any]:
        r = self.report
        return {"running": self.running, "stages": self.stages, "error": list(self.error) if self.error else None,
                "report": None if r is None else {"pushed": r.pushed, "pulled": r.pulled, "files": r.files,
                                                  "bytes_uploaded": r.bytes_uploaded, "answers": r.answers,
                                                  "requeued": r.requeued}}


class SyncJob:
    def __init__(self, store: Store, transport: TransportFactory) -> None:
        self.store, self.transport = store, transport
        self._lock = threading.Lock()
        self._state = JobState()
        self._thread: threading.Thread | None = None

    def state(self) -> JobState:
        with self._lock:
            return JobState(self._state.running, {k: dict(v) for k, v in self._state.stages.items()},
                            self._state.report, self._state.error)

    def start(self) -> bool:
        """Start a sync unless one runs; False when one already does."""
        with self._lock:
            if self._state.running:
                return False
            self._state = JobState(running=True)
        self._thread = threading.Thread(target=self._run, name="fieldkit-sync", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress(self, stage: str, done: int, total: int | None) -> None:
        with self._lock:
            self._state.stages[stage] = {"done": done, "total": total}

    def _run(self) -> None:
        report, error = None, None
        try:
            transport = self.transport(self.store.get_meta("server"), self.store.get_meta("token"))
            report = SyncClient(transport, self.store, progress=self._progress).sync()
        except Unreachable:
            error = ("网络中断，进度已保存，联网后再次同步即可继续", "Connection lost; progress is kept, sync again")
        except ServerRefused as exc:
            error = (f"服务器拒绝（{exc.status}）：{exc.message_zh}", f"Refused ({exc.status}): {exc.message_en}")
        except SyncError as exc:
            error = (f"同步失败：{exc}", f"Sync failed: {exc}")
        except Exception as exc:  # the thread must always end its job, or the page waits forever
            error = (f"同步出错：{exc}", f"Sync error: {exc}")
        with self._lock:
            self._state.running, self._state.report, self._state.error = False, report, error
