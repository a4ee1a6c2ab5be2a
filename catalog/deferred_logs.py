"""The audit entries and sync change-log rows of many flushes, written together: one statement each per batch
(and the plot figures of the measurements written, ``catalog.plot_figures``, and the county rows of the plots
written, ``catalog.county_refresh``, refreshed once).

The flush hooks (``catalog.audit``, ``catalog.changelog``) collect their rows at every flush as always — who
acts is checked there, and what changed is read from the flush — but inside :func:`deferred_logs` they hand the
rows to the session's :class:`Pending` instead of executing them. On a normal exit the rows are written in the
same transaction, so they commit or roll back with the writes they describe. A savepoint that rolls back must
drop the rows collected inside it: take a :meth:`Pending.mark` before and :meth:`Pending.drop_after` it.

Nothing in the transaction may read ``audit_entry``, ``sync_change``, ``plot_figure``, ``county_total`` or
``implausible_yield`` while rows are pending
(the sync push, the only user, does not). A plot whose figure waits is refreshed even when the savepoint of the
write that named it rolled back: the figure is recomputed from the measurements, so that changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog import changelog, county_refresh, plot_figures
from catalog.audit import DEFERRED_AUDIT, AuditEntry


@dataclass
class Pending:
    audit: list[dict[str, Any]] = field(default_factory=list)
    log: list[changelog.Entry] = field(default_factory=list)
    plots: set[str] = field(default_factory=set)  # whose figures to refresh
    counties: set[tuple[str, str]] = field(default_factory=set)  # (season, county) rows to refresh

    def mark(self) -> tuple[int, int]:
        return len(self.audit), len(self.log)

    def drop_after(self, mark: tuple[int, int]) -> None:
        """Forget what was collected since ``mark`` (its savepoint rolled back)."""
        del self.audit[mark[0]:]
        del self.log[mark[1]:]

    def write(self, session: Session) -> None:
        """Write what is pending (the change log keeps each record's last entry per scope), then start afresh."""
        if self.audit:
            session.connection().execute(insert(AuditEntry), self.audit)
        last: dict[tuple[str, str, str], changelog.Entry] = {}
        for e in self.log:
            last.pop(e.key, None)  # re-inserted: keeps the order of the last changes
            last[e.key] = e
        changelog.write(session, list(last.values()))
        if self.plots or self.counties:
            plot_figures.follow(session, self.plots, self.counties)
        self.audit, self.log, self.plots, self.counties = [], [], set(), set()


@contextmanager
def deferred_logs(session: Session) -> Iterator[Pending]:
    """Within: audit entries and change-log rows wait in the returned :class:`Pending`; written on normal exit,
    dropped on an exception (the caller rolls the transaction back)."""
    keys = (DEFERRED_AUDIT, changelog.DEFERRED_LOG, plot_figures.DEFERRED_FIGURES, county_refresh.DEFERRED_COUNTIES)
    if any(k in session.info for k in keys):
        raise RuntimeError("deferred_logs does not nest")
    pending = Pending()
    session.info.update(zip(keys, (pending.audit, pending.log, pending.plots, pending.counties), strict=True))
    try:
        yield pending
        session.flush()  # the last changes' rows too
    finally:
        for k in keys:
            session.info.pop(k, None)
    pending.write(session)
