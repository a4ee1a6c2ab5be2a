"""How fast this machine is: a fixed amount of work timed here, printed by the benches beside their figures.

Machines of the same size are not equally fast: the same coverage code measured the national dashboard at 459 ms
on one machine and at 1,664 ms on another, a day apart. With these figures in a bench's JSON, runs on different
machines can be told apart from changes in the code.

- ``python_ms``: the interpreter summing 5,000,000 integers in a loop (best of 3);
- ``sqlite_ms``: SQLite summing 1,000,000 rows of a recursive CTE (best of 3);
- ``postgres_ms``: PostgreSQL summing ``generate_series(1, 5000000)`` (best of 3), when a server answers.

    .venv/bin/python bench/machine.py
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _best(work: Callable[[], Any], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000, 1)


def _loop() -> int:
    total = 0
    for i in range(5_000_000):
        total += i
    return total


def _sqlite() -> None:
    with sqlite3.connect(":memory:") as conn:
        conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
                     "SELECT sum(x) FROM c").fetchone()
    conn.close()


def reference(postgres_url: str | None = None) -> dict[str, float | None]:
    """The machine's figures (``postgres_ms`` None without a server at ``postgres_url``)."""
    out: dict[str, float | None] = {"python_ms": _best(_loop), "sqlite_ms": _best(_sqlite), "postgres_ms": None}
    if postgres_url:
        from sqlalchemy import create_engine, text

        engine = create_engine(postgres_url)
        try:
            with engine.connect() as conn:
                out["postgres_ms"] = _best(
                    lambda: conn.execute(text("SELECT sum(i) FROM generate_series(1, 5000000) AS i")).scalar())
        except Exception:  # noqa: BLE001 - no server: the other figures still tell
            pass
        finally:
            engine.dispose()
    return out


if __name__ == "__main__":
    from bench.catalog_search import LOCAL_POSTGIS

    figures = reference(LOCAL_POSTGIS)
    print(f"{'python loop':<14} {figures['python_ms']:>8} ms\n{'sqlite':<14} {figures['sqlite_ms']:>8} ms\n"
          f"{'postgres':<14} {figures['postgres_ms'] or '—':>8} ms")
    print(json.dumps(figures))
