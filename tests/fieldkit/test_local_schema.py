"""A kit file made before the review columns existed (revision 0007) opens with them added, old rows pending."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from catalog.field import YieldMeasurement
from fieldkit.store import Store

REVIEW = ("verifies_id", "review_state", "reviewed_by", "reviewed_at", "review_comment")


def test_old_kit_file__missing_columns_added__rows_kept_pending(tmp_path: Path) -> None:
    path = tmp_path / "fieldkit.db"
    Store(path).close()
    with sqlite3.connect(path) as db:  # back to the file an older kit wrote
        for (index,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                   "tbl_name = 'yield_measurement' AND sql IS NOT NULL").fetchall():
            db.execute(f"DROP INDEX {index}")  # every index the model declares: some are on the review columns
        for column in REVIEW:
            db.execute(f"ALTER TABLE yield_measurement DROP COLUMN {column}")
        db.execute("INSERT INTO yield_measurement (id, plot_id, county_code, method, level, crop, panel, samples, "
                   "version, field_versions, deleted, created_at, updated_at) VALUES ('y1', 'p1', '410102', "
                   "'harvest', 'county', 'wheat', '[]', '[]', 1, '{}', 0, '2026-06-01', '2026-06-01')")
    db.close()
    store = Store(path)
    try:
        [old] = store.records("yield")
        assert isinstance(old, YieldMeasurement)
        assert (old.id, old.review_state, old.review_comment, old.verifies_id) == ("y1", "pending", None, None)
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(yield_measurement)")}
        indexes = {row[1] for row in db.execute("PRAGMA index_list(yield_measurement)")}
    db.close()
    assert set(REVIEW) <= columns
    assert {"ix_yield_measurement_review_state", "ix_yield_measurement_review_queue"} <= indexes
