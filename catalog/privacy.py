"""Personal information (个人信息保护法): phone and ID numbers are masked for everyone but the record's own
people and the officers above them.

A result's contact is seen in full by its holder, the command line, ministry officers and the officers of the
province a local result belongs to; everybody else sees 138****5678.
"""

from __future__ import annotations

import re

from catalog.access import Actor, owns
from catalog.results import Result

_DIGITS = re.compile(r"\d")


def mask_number(value: str | None, keep_tail: int = 4) -> str | None:
    """Hide the middle digits of a phone or ID number, keeping its layout and an area code: 13812345678 →
    138****5678, 0371-63555555 → 0371-****5555, 410102199001011234 → 410***********1234."""
    if not value:
        return value
    head, sep, _rest = value.partition("-")
    keep_head = len(_DIGITS.findall(head)) if sep else 3
    positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(positions) <= keep_head + keep_tail:
        return "*" * len(value)
    hidden = set(positions[keep_head: len(positions) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def sees_contact(actor: Actor, result: Result) -> bool:
    if actor.system or owns(actor, result) or actor.has("ministry_officer"):
        return True
    province = (result.source_province or "")[:2]
    return bool(province) and any(s and s[:2] == province for s in actor.scopes("province_officer"))


def contact_phone(actor: Actor, result: Result) -> str | None:
    """The result's contact phone as ``actor`` may see it."""
    return result.contact_phone if sees_contact(actor, result) else mask_number(result.contact_phone)
