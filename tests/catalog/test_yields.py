"""Yield formulas (DOMAIN.md, with its published worked examples) and the server-side yield recomputation."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy.orm import Session

from catalog import yields
from catalog.access import Actor, Grant
from catalog.errors import ValidationFailed
from catalog.field import YieldMeasurement
from catalog.field_rules import apply_plot, apply_yield, clean_yield
from gis.area import M2_PER_MU

AGENT = Actor("agent-zy", user_id="u-agent", grants=(Grant("agent", "410102"),), channel="sync")


def test_mu_is_exactly_ten_thousand_fifteenths_of_a_hectare() -> None:
    assert M2_PER_MU == 10000 / 15
    assert yields.mu_from_m2(10000) == pytest.approx(15.0, abs=1e-12)


def test_harvest__published_wheat_example__721_61_kg_per_mu() -> None:
    value, _kg, mu = yields.harvest_yield([{"area_mu": 3.1, "fresh_kg": 2260, "moisture": 0.138, "impurity": 0.001}],
                                          0.13)
    assert mu == 3.1
    assert round(value, 2) == 721.61


def test_harvest__second_published_wheat_example__3381_47_kg_and_588_08_per_mu() -> None:
    kg = yields.standard_weight(3392, moisture=0.115, impurity=0.02, standard=0.13)
    assert round(kg, 2) == 3381.47
    value, total_kg, _mu = yields.harvest_yield(
        [{"area_mu": 5.75, "fresh_kg": 3392, "moisture": 0.115, "impurity": 0.02}], 0.13)
    assert round(total_kg, 2) == 3381.47
    assert round(value, 2) == 588.08


def test_harvest__several_points__total_weight_over_total_area_not_mean_of_points() -> None:
    samples = [{"area_mu": 1.0, "fresh_kg": 700, "moisture": 0.13, "impurity": 0.0},
               {"area_mu": 3.0, "fresh_kg": 1500, "moisture": 0.13, "impurity": 0.0}]
    value, _kg, _mu = yields.harvest_yield(samples, 0.13)
    assert value == pytest.approx(2200 / 4)
    assert value != pytest.approx((700 + 500) / 2)


def test_corn_ears__domain_formula() -> None:
    # (ear weight ÷ area m² × 10000/15) × 出粒率 × (1 − moisture) ÷ (1 − 0.14)
    area_m2, ears, rate, moisture = 66.7, 75.0, 0.85, 0.30
    expected = (ears / area_m2 * 10000 / 15) * rate * (1 - moisture) / (1 - 0.14)
    value, _kg, _mu = yields.harvest_yield(
        [{"area_mu": area_m2 / M2_PER_MU, "fresh_kg": ears, "moisture": moisture, "shelling_rate": rate}], 0.14)
    assert value == pytest.approx(expected, rel=1e-12)


def test_theoretical__factors_come_from_data() -> None:
    rules = yields.crop_rules()
    assert rules["wheat"].theoretical_factor == 0.85
    assert rules["maize"].theoretical_factor == 0.85
    assert rules["rice_indica"].factor_status == "U"
    wheat = yields.theoretical_point({"ears_per_mu": 450_000, "grains_per_ear": 35, "thousand_grain_g": 45}, 0.85)
    assert wheat == pytest.approx(450_000 * 35 * 45 * 1e-6 * 0.85)
    rice = yields.theoretical_point({"ears_per_mu": 180_000, "grains_per_ear": 160, "seed_setting": 0.85,
                                     "thousand_grain_g": 25}, rules["rice_indica"].theoretical_factor or 0)
    assert rice == pytest.approx(180_000 * 160 * 0.85 * 25 * 1e-6)


def test_gain__relative_to_a_positive_baseline() -> None:
    assert yields.gain_pct(648, 600) == pytest.approx(8.0)
    with pytest.raises(ValueError):
        yields.gain_pct(600, 0)


def test_sample_points__five_from_ten_mu_else_three() -> None:
    assert yields.sample_points_required(10) == 5
    assert yields.sample_points_required(9.99) == 3


# ---------------------------------------------------------------------------------------- on a database


def _plot(session: Session, crop: str = "wheat", **extra: object) -> str:
    lon, lat = 113.50, 34.78  # 中原区, west of the city
    side = (20 * M2_PER_MU) ** 0.5 / 111_320
    box = shapely.box(lon, lat, lon + side / 0.8217, lat + side)
    data = {"name": "示范田", "county_code": "410102", "crop": crop, "season": "2026-summer_grain",
            "boundary": shapely.to_geojson(box), **extra}
    return apply_plot(session, AGENT, data).record.id


def _wheat(plot_id: str, **extra: object) -> dict[str, object]:
    return {"plot_id": plot_id, "method": "harvest", "measured_on": "2026-06-05",
            "samples": [{"area_mu": 3.1, "fresh_kg": 2260, "moisture": 0.138, "impurity": 0.001}], **extra}


def test_apply_yield__recomputes_and_ignores_the_kits_numbers(session: Session) -> None:
    plot_id = _plot(session)
    data = _wheat(plot_id, yield_kg_per_mu=999.0, standard_moisture=0.5, gain_pct=50,
                  baseline_kg_per_mu=650, baseline_type="check_variety")
    record = apply_yield(session, AGENT, data).record
    assert isinstance(record, YieldMeasurement)
    assert record.yield_kg_per_mu == 721.61
    assert record.standard_moisture == 0.13
    assert record.gain_pct == round((721.61 - 650) / 650 * 100, 2)
    assert record.baseline_type == "check_variety"
    assert record.county_code == "410102"


def test_apply_yield__edit_of_one_sample_recomputes(session: Session) -> None:
    plot_id = _plot(session)
    record = apply_yield(session, AGENT, _wheat(plot_id)).record
    applied = apply_yield(session, AGENT, {"samples": [{"area_mu": 5.75, "fresh_kg": 3392, "moisture": 0.115,
                                                        "impurity": 0.02}]}, record_id=record.id)
    assert applied.record is record
    assert record.yield_kg_per_mu == 588.08
    assert record.version == 2
    assert record.field_versions["yield_kg_per_mu"] == 2 and record.field_versions["method"] == 1


def test_standard_moisture__by_rice_type(session: Session) -> None:
    plot_id = _plot(session, crop="rice_indica", season="2026-middle_rice")
    sample = {"area_mu": 1.0, "fresh_kg": 700, "moisture": 0.2, "impurity": 0.01}
    indica = apply_yield(session, AGENT, {"plot_id": plot_id, "method": "harvest", "samples": [sample]}).record
    japonica = apply_yield(session, AGENT, {"plot_id": plot_id, "method": "harvest", "crop": "rice_japonica",
                                            "samples": [sample]}).record
    assert (indica.standard_moisture, japonica.standard_moisture) == (0.135, 0.145)
    assert indica.yield_kg_per_mu == round(700 * 0.99 * 0.8 / 0.865, 2)
    assert japonica.yield_kg_per_mu == round(700 * 0.99 * 0.8 / 0.855, 2)


def test_control_plot_baseline__taken_from_the_control_plots_yield(session: Session) -> None:
    control = _plot(session, name="对照田")
    apply_yield(session, AGENT, _wheat(control, samples=[{"area_mu": 1, "fresh_kg": 600, "moisture": 0.13}]))
    demo = apply_plot(session, AGENT, {"name": "示范田2", "county_code": "410102", "crop": "wheat",
                                       "season": "2026-summer_grain", "control_plot_id": control}).record.id
    record = apply_yield(session, AGENT, _wheat(demo, baseline_type="control_plot")).record
    assert record.baseline_kg_per_mu == 600.0
    assert record.gain_pct == round((721.61 - 600) / 600 * 100, 2)


GOOD = {"area_mu": 1.0, "fresh_kg": 600, "moisture": 0.13, "impurity": 0.01}
BAD_YIELDS = [
    ("moisture of 1", {"samples": [{**GOOD, "moisture": 1.0}]}, "samples.1", "out_of_range"),
    ("negative moisture", {"samples": [{**GOOD, "moisture": -0.1}]}, "samples.1", "out_of_range"),
    ("percent for a fraction", {"samples": [{**GOOD, "moisture": 13.8}]}, "samples.1", "out_of_range"),
    ("zero area", {"samples": [{**GOOD, "area_mu": 0}]}, "samples.1", "out_of_range"),
    ("no area", {"samples": [{"fresh_kg": 600, "moisture": 0.13}]}, "samples.1", "invalid"),
    ("impossible wheat", {"samples": [{**GOOD, "fresh_kg": 5000}]}, "samples", "implausible_yield"),
    ("no samples", {"samples": []}, "samples", "invalid"),
    ("unknown method", {"method": "guess"}, "method", "invalid_choice"),
    ("baseline without type", {"baseline_kg_per_mu": 500}, "baseline_type", "required"),
    ("zero baseline", {"baseline_kg_per_mu": 0, "baseline_type": "county_average"}, "baseline_kg_per_mu",
     "out_of_range"),
    ("rice without type", {"crop": "rice"}, "crop", "no_standard_moisture"),
    ("shelling rate on wheat", {"samples": [{**GOOD, "shelling_rate": 0.85}]}, "samples.1", "invalid"),
    ("soybean components", {"crop": "soybean", "method": "theoretical",
                            "samples": [{"ears_per_mu": 1, "grains_per_ear": 1, "thousand_grain_g": 1}]},
     "method", "no_formula"),
    ("rice without seed setting", {"crop": "rice_indica", "method": "theoretical",
                                   "samples": [{"ears_per_mu": 180000, "grains_per_ear": 160,
                                                "thousand_grain_g": 25}]}, "samples.1", "out_of_range"),
]


@pytest.mark.parametrize(("label", "change", "field", "code"), BAD_YIELDS, ids=[b[0] for b in BAD_YIELDS])
def test_impossible_values__refused_with_field_and_reason(session: Session, label: str, change: dict[str, object],
                                                           field: str, code: str) -> None:
    plot_id = _plot(session)
    data = {"plot_id": plot_id, "method": "harvest", "crop": "wheat", "samples": [GOOD], **change}
    with pytest.raises(ValidationFailed) as info:
        apply_yield(session, AGENT, data)
    assert (field, code) in [(e.field, e.code) for e in info.value.errors], info.value.errors
    assert all(e.zh and e.en for e in info.value.errors)
    assert session.query(YieldMeasurement).count() == 0


def test_clean_yield__percent_hint_in_both_languages(session: Session) -> None:
    _clean, errors = clean_yield(session, {"method": "harvest", "crop": "wheat",
                                           "samples": [{**GOOD, "moisture": 13.8}]})
    assert "0.138" in errors[0].zh and "0.138" in errors[0].en
