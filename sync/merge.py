"""The field-merge rule of sync protocol v1, pure (no database): which pushed fields to apply, which conflict.

The server keeps, per record, the version at which each field last changed (``field_versions``). A pushed field
whose server copy changed after the device's ``base_version`` to a value other than the device's is a conflict:
the server's value stays. Other fields apply. A device value equal to the server's is neither (nothing to do).
Device clocks play no part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Merge:
    apply: dict[str, Any] = field(default_factory=dict)
    conflicts: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field → (device value, server value)


def merge(field_versions: Mapping[str, int], server_values: Mapping[str, Any], base_version: int | None,
          changes: Mapping[str, Any], created_version: int = 1) -> Merge:
    """Merge ``changes`` made by a device that last saw the record at ``base_version`` (None: it thinks the record
    is new) into a server record. A field without an entry in ``field_versions`` last changed when the record was
    made (``created_version``)."""
    base = base_version or 0
    apply: dict[str, Any] = {}
    conflicts: dict[str, tuple[Any, Any]] = {}
    for name, value in changes.items():
        current = server_values.get(name)
        if _same(current, value):
            continue
        if field_versions.get(name, created_version) > base:
            conflicts[name] = (value, current)
        else:
            apply[name] = value
    return Merge(apply, conflicts)


def _same(a: Any, b: Any) -> bool:
    # JSON numbers: a device's 12 and the server's 12.0 are the same value.
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return float(a) == float(b)
    return bool(a == b)
