"""The pull cursor: opaque to devices, ``epoch.horizon.xid.seq`` inside.

``xid``/``seq`` are the last change handed out (changes are ordered by the writing transaction's id, then the
log sequence); ``horizon`` is the snapshot ``xmin`` of the pull that made the cursor (every transaction below it
had ended), kept for diagnosis. On SQLite ``xid`` is the sequence itself. The empty string is the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EPOCH = re.compile(r"^[0-9a-z]{1,40}$")


class BadCursor(ValueError):
    """Not a cursor this protocol made."""


@dataclass(frozen=True, order=True)
class Cursor:
    epoch: str
    horizon: int = 0
    xid: int = 0
    seq: int = 0

    @property
    def position(self) -> tuple[int, int]:
        return (self.xid, self.seq)


def encode(cursor: Cursor) -> str:
    if not _EPOCH.match(cursor.epoch):
        raise BadCursor("epoch must be lowercase letters and digits")
    return f"{cursor.epoch}.{cursor.horizon}.{cursor.xid}.{cursor.seq}"


def decode(text: str) -> Cursor | None:
    """The cursor in ``text``, or None for the start (an empty cursor)."""
    if not text:
        return None
    parts = text.split(".")
    if len(parts) != 4 or not _EPOCH.match(parts[0]) or not all(p.isdigit() and len(p) < 20 for p in parts[1:]):
        raise BadCursor(text[:80])
    return Cursor(parts[0], int(parts[1]), int(parts[2]), int(parts[3]))
