"""Yield measurement (测产): the formulas of DOMAIN.md, computed on the server from the raw samples.

Units: weights kg, areas 亩 (1 亩 = 10000/15 m² exactly), moisture/impurity/出粒率/结实率 as fractions (0.138 for
13.8 %), yields kg/亩. Factors that are not verified (the theoretical-yield factor per crop, the plausible maximum
per crop) live in ``data/yield_rules.csv``; standard moisture per crop and type in the crop code list.

>>> round(standard_weight(2260, moisture=0.138, impurity=0.001, standard=0.13) / 3.1, 2)
721.61
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gis.area import M2_PER_MU

DATA = Path(__file__).parent / "data"
EAR_STANDARD_MOISTURE = 0.14  # the corn-ear formula's divisor (maize's standard moisture)


@dataclass(frozen=True)
class CropRule:
    crop: str
    theoretical_factor: float | None  # None: no component formula for this crop
    factor_status: str                 # V verified, P secondary, U unverified (DOMAIN.md)
    max_kg_per_mu: float | None


@cache
def crop_rules(path: Path = DATA / "yield_rules.csv") -> dict[str, CropRule]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["crop"]: CropRule(r["crop"], float(r["theoretical_factor"]) if r["theoretical_factor"] else None,
                                r["factor_status"], float(r["max_kg_per_mu"]) if r["max_kg_per_mu"] else None)
            for r in rows}


def standard_weight(fresh_kg: float, *, moisture: float, impurity: float, standard: float) -> float:
    """Weight at standard moisture: fresh × (1 − impurity) × (1 − moisture) ÷ (1 − standard)."""
    return fresh_kg * (1 - impurity) * (1 - moisture) / (1 - standard)


def ear_standard_weight(fresh_ear_kg: float, *, shelling_rate: float, moisture: float, impurity: float = 0.0,
                        standard: float = EAR_STANDARD_MOISTURE) -> float:
    """Grain at standard moisture from corn ears: ears × 出粒率 × (1 − impurity) × (1 − moisture) ÷ (1 − 0.14).

    Per area this is DOMAIN.md's (ear weight ÷ area m² × 10000/15) × 出粒率 × (1 − moisture) ÷ (1 − 0.14)."""
    return fresh_ear_kg * shelling_rate * (1 - impurity) * (1 - moisture) / (1 - standard)


def harvest_yield(samples: Sequence[Mapping[str, Any]], standard: float) -> tuple[float, float, float]:
    """(kg/亩, total standardized kg, total 亩) of 实收 samples: total standardized weight ÷ total area.

    Each sample: ``area_mu``, ``fresh_kg``, ``moisture``, ``impurity`` (default 0); with ``shelling_rate`` the
    fresh weight is of corn ears (the ear formula, divisor 1 − 0.14)."""
    total_kg = total_mu = 0.0
    for s in samples:
        impurity = float(s.get("impurity") or 0.0)
        if s.get("shelling_rate") is not None:
            kg = ear_standard_weight(float(s["fresh_kg"]), shelling_rate=float(s["shelling_rate"]),
                                     moisture=float(s["moisture"]), impurity=impurity)
        else:
            kg = standard_weight(float(s["fresh_kg"]), moisture=float(s["moisture"]), impurity=impurity,
                                 standard=standard)
        total_kg += kg
        total_mu += float(s["area_mu"])
    return total_kg / total_mu, total_kg, total_mu


def theoretical_point(sample: Mapping[str, Any], factor: float) -> float:
    """kg/亩 of one point: 亩穗数 × 穗粒数 × [结实率] × 千粒重(g) × 10⁻⁶ × factor (结实率 for rice only)."""
    setting = sample.get("seed_setting")
    return (float(sample["ears_per_mu"]) * float(sample["grains_per_ear"])
            * (float(setting) if setting is not None else 1.0) * float(sample["thousand_grain_g"]) * 1e-6 * factor)


def theoretical_yield(samples: Sequence[Mapping[str, Any]], factor: float) -> float:
    """The mean of the points' theoretical yields (each point measures components on its own)."""
    return sum(theoretical_point(s, factor) for s in samples) / len(samples)


def gain_pct(demo: float, baseline: float) -> float:
    """(demo − baseline) ÷ baseline × 100; the baseline must be positive."""
    if not baseline > 0 or not math.isfinite(baseline):
        raise ValueError("the baseline yield must be positive")
    return (demo - baseline) / baseline * 100


def mu_from_m2(area_m2: float) -> float:
    return area_m2 / M2_PER_MU


def sample_points_required(plot_area_mu: float | None) -> int:
    """Points a field needs (高产创建 rules): 5 (梅花形) from 10 亩, else 3 (对角线)."""
    return 5 if plot_area_mu is not None and plot_area_mu >= 10 else 3
