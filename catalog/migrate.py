"""Alembic, driven from code: ``upgrade(url)`` brings a database to the newest schema."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """To the one head (0006 merges the branches the issue-6 features grew on 0001)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


@functools.cache
def heads() -> frozenset[str]:
    """The code's newest revisions (one, while the branches stay merged)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision this code's migrations hold."""
    return frozenset(s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions())


def ahead_of_code(current: frozenset[str]) -> bool:
    """The database is at revisions this code does not know: a later release has migrated it (before its code is
    deployed, docs/operations.md "Upgrades"). Releases migrate additively only, so this code may serve on."""
    return bool(current) and not current & known_revisions()


def schema_revisions(connection: Connection) -> tuple[frozenset[str], frozenset[str]]:
    """(the database's revisions, the code's heads): the schema is current when the two are equal; the first is
    empty when the database was never migrated."""
    return frozenset(MigrationContext.configure(connection).get_current_heads()), heads()


def regenerate_initial() -> Path:
    """Rewrite the initial migration from the models (only while no release has shipped it)."""
    import tempfile

    versions = MIGRATIONS / "versions"
    target = versions / "0001_initial.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{tmp}/empty.db")
        command.revision(cfg, message="initial", autogenerate=True, rev_id="0001")
    made = next(versions.glob("0001_*.py"))
    src = made.read_text()
    src = src.replace("import catalog.db\n", "import catalog.db\nimport catalog.ddl\n")
    src = src.replace(
        "    # ### end Alembic commands ###\n\n\ndef downgrade",
        "    # ### end Alembic commands ###\n    catalog.ddl.upgrade(op.get_bind())\n\n\ndef downgrade",
    )
    src = src.replace(
        "def downgrade() -> None:\n", "def downgrade() -> None:\n    catalog.ddl.downgrade(op.get_bind())\n"
    )
    made.unlink()
    target.write_text(src)
    return target
