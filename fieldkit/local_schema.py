"""The kit's local tables kept up with the model classes: a kit set up before a column existed gets it.

The kit creates its synced tables from the catalog's models (``create_all``), which adds missing tables but never
missing columns; a newer kit then reads a column its old file lacks (``review_state`` of revision 0007, say) and
fails. :func:`add_missing_columns` adds each missing column with ``ALTER TABLE … ADD COLUMN`` (SQLite), its scalar
default filling the rows already there, and the missing indexes.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, Table, inspect


def _literal(value: object) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def add_missing_columns(engine: Engine, tables: Iterable[Table]) -> list[str]:
    """Add the columns of ``tables`` that the kit's file lacks; returns ``table.column`` of each one added."""
    found = inspect(engine)
    added: list[str] = []
    with engine.begin() as conn:
        for table in tables:
            if not found.has_table(table.name):
                continue
            have = {c["name"] for c in found.get_columns(table.name)}
            for col in table.columns:
                if col.name in have:
                    continue
                ddl = f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {col.type.compile(engine.dialect)}'
                default = getattr(col.default, "arg", None) if col.default is not None and col.default.is_scalar \
                    else None
                literal = _literal(default)
                if literal is not None:
                    ddl += f" DEFAULT {literal}"
                conn.exec_driver_sql(ddl)
                added.append(f"{table.name}.{col.name}")
            for index in table.indexes:  # and the indexes of the columns added
                index.create(conn, checkfirst=True)
    return added
