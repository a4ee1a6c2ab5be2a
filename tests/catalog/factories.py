"""Small, explicit result records for tests (the demo generator is tested on its own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalog.result_store import create_result
from catalog.results import Result

BASE: dict[str, Any] = {
    "summary": "示范结果良好",
    "institutions": ["中国农业科学院作物科学研究所"],
    "tech_fields": ["TF01"],
    "industry_types": ["IT0103"],
}


def make_result(session: Session, name: str, **fields: Any) -> Result:
    return create_result(session, {**BASE, "name": name, **fields}, actor="test")
