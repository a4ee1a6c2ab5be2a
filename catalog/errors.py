"""Typed errors of the domain. Every one carries a stable ``code`` and a zh/en message.

    CatalogError
    ├── NotFound              a record does not exist (or may not be seen)
    ├── Forbidden             readable, but not writable by this actor
    ├── ValidationFailed      one or more fields are wrong; ``errors`` lists each (field, code, zh, en, row)
    ├── IllegalTransition     a lifecycle step that the record's state does not allow
    └── Conflict              the record changed meanwhile, or a unique key is taken

``server/errors.py`` maps each to an HTTP status; the JSON shape is the same for all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """Why one field (of one row, for imports) was refused."""

    field: str
    code: str
    zh: str
    en: str
    row: int | None = None
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None}


class CatalogError(Exception):
    code = "catalog_error"
    zh = "操作失败"
    en = "The operation failed"

    def __init__(self, en: str | None = None, zh: str | None = None, **context: Any) -> None:
        self.en = en or type(self).en
        self.zh = zh or type(self).zh
        self.context = context
        super().__init__(self.en)


class NotFound(CatalogError):
    code = "not_found"
    zh = "记录不存在"
    en = "Not found"


class Forbidden(CatalogError):
    code = "forbidden"
    zh = "无权执行此操作"
    en = "You may not do this"


class ValidationFailed(CatalogError):
    code = "validation_failed"
    zh = "数据校验未通过"
    en = "The data did not pass validation"

    def __init__(self, errors: list[FieldError], en: str | None = None, zh: str | None = None,
                 **context: Any) -> None:
        super().__init__(en, zh, **context)
        self.errors = errors


class IllegalTransition(CatalogError):
    code = "illegal_transition"
    zh = "当前状态不允许此操作"
    en = "This step is not allowed in the record's current state"

    def __init__(self, state: str, action: str, allowed: list[str]) -> None:
        super().__init__(
            en=f"Cannot '{action}' a result in state '{state}'; allowed: {', '.join(allowed) or 'none'}",
            zh=f"成果处于“{state}”状态，不能执行“{action}”；可执行：{'、'.join(allowed) or '无'}",
            state=state, action=action, allowed=allowed,
        )


class Conflict(CatalogError):
    code = "conflict"
    zh = "记录已被修改或已存在"
    en = "The record changed meanwhile or already exists"
