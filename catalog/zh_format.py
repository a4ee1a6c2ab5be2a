"""Figures as Chinese officers write them: areas in 亩 / 万亩 / 亿亩, shares and gains in %, times in Beijing time.

Areas are stored in m² (DOMAIN: 1 亩 = 10000/15 m² exactly); these helpers only format. Pages, exports and the
command line all use them, so a figure reads the same everywhere::

    >>> area_text(12_345 * M2_PER_MU)
    '1.23万亩'
    >>> area_text(500_000_000 * M2_PER_MU)
    '5亿亩'
    >>> area_text(86.4 * M2_PER_MU)
    '86.4亩'
    >>> pct_text(7.912)
    '+7.9%'
"""

from __future__ import annotations

import datetime as dt

from catalog.db import BEIJING
from gis.area import M2_PER_MU

WAN = 10_000
YI = 100_000_000


def mu(area_m2: float | None) -> float | None:
    """m² → 亩 (None stays None)."""
    return None if area_m2 is None else area_m2 / M2_PER_MU


def _trim(value: float, digits: int) -> str:
    text = f"{value:,.{digits}f}" if digits else f"{value:,.0f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def mu_text(value_mu: float | None, digits: int = 2) -> str:
    """An area given in 亩: below 1万亩 in 亩 (one decimal), then 万亩, then 亿亩 (``digits`` decimals, trailing
    zeros dropped); ``—`` for None."""
    if value_mu is None:
        return "—"
    size = abs(value_mu)
    if size >= YI:
        return f"{_trim(value_mu / YI, digits)}亿亩"
    if size >= WAN:
        return f"{_trim(value_mu / WAN, digits)}万亩"
    return f"{_trim(value_mu, 1)}亩"


def area_text(area_m2: float | None, digits: int = 2) -> str:
    """An area stored in m², written in 亩 / 万亩 / 亿亩 (see :func:`mu_text`)."""
    return mu_text(mu(area_m2), digits)


def pct_text(value: float | None, digits: int = 1, signed: bool = True) -> str:
    """A percentage (7.9 means 7.9 %): ``+7.9%``; ``—`` for None."""
    if value is None:
        return "—"
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value:.{digits}f}%"


def share_text(share: float | None, digits: int = 1) -> str:
    """A share done (0.5 means half): ``50.0%``; ``—`` for None."""
    return "—" if share is None else f"{share * 100:.{digits}f}%"


def count_text(n: int | float | None, unit: str = "") -> str:
    """A count with 万 above 10,000 (``3.2万个``)."""
    if n is None:
        return "—"
    if abs(n) >= WAN:
        return f"{_trim(n / WAN, 2)}万{unit}"
    return f"{_trim(float(n), 2)}{unit}"


def beijing_text(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware time in Beijing time (北京时间), as officers read it; ``—`` for None."""
    if value is None:
        return "—"
    return value.astimezone(BEIJING).strftime(fmt)
