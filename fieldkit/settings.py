"""The field kit's settings: the one module that reads its environment (``FIELDKIT_HOME``).

The kit is its own program on the agent's laptop or phone, so it reads its home folder from the environment
here and passes paths on as arguments; nothing else in ``fieldkit`` looks at ``os.environ``.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path.home() / ".yuanxian-fieldkit"
DB_NAME = "fieldkit.db"


def home() -> Path:
    """The kit's folder: ``FIELDKIT_HOME``, or ``~/.yuanxian-fieldkit``."""
    raw = os.environ.get("FIELDKIT_HOME")
    return Path(raw).expanduser() if raw else DEFAULT_HOME


def db_path(folder: Path) -> Path:
    return folder / DB_NAME


def files_dir(folder: Path) -> Path:
    """Where photos and tracks wait (content-addressed by SHA-256) until the server holds them."""
    return folder / "files"
