"""Every model module, imported once so ``Base.metadata`` is complete (Alembic, tests)."""

from catalog import codelists, divisions, results, search_index, sites  # noqa: F401
from catalog.db import Base

__all__ = ["Base"]
