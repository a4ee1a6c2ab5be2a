"""Reference data every installation needs: code lists, divisions with boundaries, sites."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog.codelists import load_code_lists


def load_reference(session: Session) -> dict[str, int]:
    """Load (or refresh) all shipped reference data; idempotent. Returns counts per kind."""
    counts = {"codes": load_code_lists(session)}
    return counts
