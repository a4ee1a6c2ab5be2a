"""Schema parts that differ by engine, created by the migrations after the portable tables.

PostgreSQL: GiST indexes on geometry columns, and the text index as generated ``tsvector`` columns with GIN.
SQLite: the text index as an FTS5 table over ``result_text`` kept in step by triggers.
Both index the token strings made by ``catalog.search_index.tokens``.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

GIST_INDEXES = {"ix_division_boundary_geom": ("division_boundary", "geom")}

POSTGRES_UP = [
    *(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gist ({col})"
      for name, (table, col) in GIST_INDEXES.items()),
    # Lexemes are our tokens verbatim (no parser, no stemming): array_to_tsvector keeps them as they are.
    "ALTER TABLE result_text ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    " array_to_tsvector(string_to_array(trim(name_tokens || ' ' || body_tokens), ' '))) STORED",
    # Lexemes without positions carry no weight, so the name gets a column of its own for ranking.
    "ALTER TABLE result_text ADD COLUMN IF NOT EXISTS name_tsv tsvector GENERATED ALWAYS AS ("
    " array_to_tsvector(string_to_array(name_tokens, ' '))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_result_text_tsv ON result_text USING gin (tsv)",
]

SQLITE_UP = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS result_fts USING fts5("
    " name_tokens, body_tokens, content='result_text', content_rowid='doc_id',"
    " tokenize=\"unicode61 remove_diacritics 0 tokenchars '-.'\")",
    "CREATE TRIGGER IF NOT EXISTS result_text_ai AFTER INSERT ON result_text BEGIN"
    " INSERT INTO result_fts(rowid, name_tokens, body_tokens)"
    " VALUES (new.doc_id, new.name_tokens, new.body_tokens); END",
    "CREATE TRIGGER IF NOT EXISTS result_text_ad AFTER DELETE ON result_text BEGIN"
    " INSERT INTO result_fts(result_fts, rowid, name_tokens, body_tokens)"
    " VALUES ('delete', old.doc_id, old.name_tokens, old.body_tokens); END",
    "CREATE TRIGGER IF NOT EXISTS result_text_au AFTER UPDATE ON result_text BEGIN"
    " INSERT INTO result_fts(result_fts, rowid, name_tokens, body_tokens)"
    " VALUES ('delete', old.doc_id, old.name_tokens, old.body_tokens);"
    " INSERT INTO result_fts(rowid, name_tokens, body_tokens)"
    " VALUES (new.doc_id, new.name_tokens, new.body_tokens); END",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS result_text_au",
    "DROP TRIGGER IF EXISTS result_text_ad",
    "DROP TRIGGER IF EXISTS result_text_ai",
    "DROP TABLE IF EXISTS result_fts",
]

POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_result_text_tsv",
    "ALTER TABLE result_text DROP COLUMN IF EXISTS name_tsv",
    "ALTER TABLE result_text DROP COLUMN IF EXISTS tsv",
    *(f"DROP INDEX IF EXISTS {name}" for name in GIST_INDEXES),
]


def upgrade(conn: Connection) -> None:
    for stmt in POSTGRES_UP if conn.dialect.name == "postgresql" else SQLITE_UP:
        conn.execute(text(stmt))


def downgrade(conn: Connection) -> None:
    for stmt in POSTGRES_DOWN if conn.dialect.name == "postgresql" else SQLITE_DOWN:
        conn.execute(text(stmt))


# What Alembic's autogenerate must not see as drift: it lives outside the models by design (or is PostGIS's own).
UNMODELLED = {"tsv", "name_tsv", "ix_result_text_tsv", "result_fts", "spatial_ref_sys", *GIST_INDEXES}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (name in UNMODELLED or (name or "").startswith("result_fts"))
