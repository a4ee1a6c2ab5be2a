"""Schema parts that differ by engine, created by the migrations after the portable tables.

PostgreSQL: GiST indexes on geometry columns, the text index as generated ``tsvector`` columns with GIN, and
``county_piece`` — the current counties' boundaries cut into grid cells, kept in step with ``division_boundary`` by
a trigger, for ``catalog.regions``.
SQLite: the text index as an FTS5 table over ``result_text`` kept in step by triggers.
Both index the token strings made by ``catalog.search_index.tokens``.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

GIST_INDEXES = {
    "ix_division_boundary_geom": ("division_boundary", "geom"),
    "ix_county_piece_geom": ("county_piece", "geom"),
    "ix_demo_plot_boundary": ("demo_plot", "boundary"),  # catalog.field_rules.plot_overlaps
}

# Cell size (degrees) of ``county_piece``: a point's cell is (floor(lon / CELL), floor(lat / CELL)), the same
# numbering as PostGIS's ST_SquareGrid. 0.25° gives ~35 k pieces of ~17 vertices, ~1.6 candidates per point.
COUNTY_CELL_DEG = 0.25

# A derived index, like result_fts on SQLite: each current county-equivalent division's boundary clipped to the
# grid cells it touches. Bulk point lookup joins on the cell key (hash/merge join, no per-point index probe) and
# tests one small polygon; plots go through the GiST index. Pieces of a division cover its boundary exactly.
# ST_ClipByBox2D + ST_MakeValid: 2.4× faster than ST_Intersection with the cell, same pieces within 1e-13°
# (the clip alone leaves ~10 pieces with a ring touching itself on the cell edge).
COUNTY_PIECES_UP = [
    "CREATE TABLE IF NOT EXISTS county_piece ("
    " code varchar(6) NOT NULL REFERENCES division_boundary (code) ON DELETE CASCADE ON UPDATE CASCADE,"
    " cx integer NOT NULL, cy integer NOT NULL, geom geometry(MultiPolygon, 4326) NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_county_piece_cell ON county_piece (cx, cy)",
    "CREATE INDEX IF NOT EXISTS ix_county_piece_code ON county_piece (code)",
    "CREATE OR REPLACE FUNCTION county_piece_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF TG_OP = 'UPDATE' THEN DELETE FROM county_piece WHERE code IN (OLD.code, NEW.code); END IF;"
    " INSERT INTO county_piece (code, cx, cy, geom) SELECT NEW.code, c.i, c.j, p.geom"
    f" FROM division d, ST_SquareGrid({COUNTY_CELL_DEG}, NEW.geom) c,"
    " LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_ClipByBox2D(NEW.geom, c.geom)), 3)) AS geom) p"
    " WHERE d.code = NEW.code AND d.county_equivalent AND d.valid_to IS NULL"
    " AND ST_Intersects(NEW.geom, c.geom) AND NOT ST_IsEmpty(p.geom);"
    " RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS county_piece_sync ON division_boundary",
    "CREATE TRIGGER county_piece_sync AFTER INSERT OR UPDATE OF geom, code ON division_boundary"
    " FOR EACH ROW EXECUTE FUNCTION county_piece_sync()",
]
COUNTY_PIECES_DOWN = [
    "DROP TRIGGER IF EXISTS county_piece_sync ON division_boundary",
    "DROP FUNCTION IF EXISTS county_piece_sync()",
    "DROP TABLE IF EXISTS county_piece",
]

POSTGRES_UP = [
    *COUNTY_PIECES_UP,
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
    *COUNTY_PIECES_DOWN,
]


# Rows every database starts with (the one place a migration writes data).
SEED_ROWS = ["INSERT INTO catalog_state (key, value) VALUES ('results', 1)"]


def upgrade(conn: Connection) -> None:
    for stmt in POSTGRES_UP if conn.dialect.name == "postgresql" else SQLITE_UP:
        conn.execute(text(stmt))
    for stmt in SEED_ROWS:
        conn.execute(text(stmt))


def downgrade(conn: Connection) -> None:
    for stmt in POSTGRES_DOWN if conn.dialect.name == "postgresql" else SQLITE_DOWN:
        conn.execute(text(stmt))


# What Alembic's autogenerate must not see as drift: it lives outside the models by design (or is PostGIS's own).
UNMODELLED = {"tsv", "name_tsv", "ix_result_text_tsv", "result_fts", "spatial_ref_sys", "county_piece",
              "ix_county_piece_cell", "ix_county_piece_code", *GIST_INDEXES}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (name in UNMODELLED or (name or "").startswith("result_fts"))
