"""Reference data every installation needs: code lists, divisions with boundaries, sites."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog.classify_rules import load_shipped_rules
from catalog.codelists import load_code_lists
from catalog.divisions import load_boundaries, load_divisions
from catalog.lists import load_lists
from catalog.sites import load_sites
from catalog.targets import load_targets


def load_reference(session: Session) -> dict[str, int]:
    """Load (or refresh) all shipped reference data; idempotent. Returns counts per kind."""
    counts = {"codes": load_code_lists(session)}
    counts |= load_divisions(session)
    counts["boundaries"] = load_boundaries(session)
    counts |= load_sites(session)
    counts["lists"] = load_lists(session)
    counts["classify_rules"] = load_shipped_rules(session)  # once: from then on the officers' table
    counts["national_targets"] = load_targets(session)  # once: from then on the ministry officers' table
    return counts
