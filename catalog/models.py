"""Every model module, imported once so ``Base.metadata`` is complete (Alembic, tests)."""

from catalog import (  # noqa: F401
    accounts,
    audit,
    changelog,
    classify,
    classify_rules,
    codelists,
    county_gains,
    county_refresh,
    county_totals,
    divisions,
    events,
    field,
    intents,
    lists,
    needs,
    plot_figures,
    result_index,
    results,
    review,
    search_index,
    seasons,
    sites,
    sync_server,
    targets,
    yield_outliers,
)
from catalog.db import Base

__all__ = ["Base"]
