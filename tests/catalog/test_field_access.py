"""Who reads and writes field records: agents their county; officers read below them; others nothing."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import SYSTEM, Actor, Grant
from catalog.errors import Forbidden, NotFound
from catalog.field import DemoPlot
from catalog.field_access import can_import, can_read, can_write, readable_condition
from catalog.field_rules import apply_plot, apply_yield, delete_record

ACTORS = {
    "agent": Actor("a", "1", (Grant("agent", "410122"),)),
    "other_agent": Actor("o", "2", (Grant("agent", "410102"),)),
    "county_officer": Actor("c", "3", (Grant("county_officer", "410122"),)),
    "other_county_officer": Actor("oc", "3b", (Grant("county_officer", "410102"),)),
    "city_officer": Actor("ci", "4", (Grant("city_officer", "410100"),)),
    "province_officer": Actor("p", "5", (Grant("province_officer", "410000"),)),
    "other_province_officer": Actor("op", "6", (Grant("province_officer", "130000"),)),
    "ministry_officer": Actor("m", "7", (Grant("ministry_officer", None),)),
    "park_manager": Actor("pm", "8", (Grant("park_manager", "NASTP001"),)),
    "result_holder": Actor("h", "9", (Grant("result_holder", "河南农业大学"),)),
    "anonymous": Actor("anonymous"),
}
# role → (reads 410122's records, writes them)
EXPECTED = {
    "agent": (True, True), "other_agent": (False, False), "county_officer": (True, False),
    "other_county_officer": (False, False), "city_officer": (True, False), "province_officer": (True, False),
    "other_province_officer": (False, False), "ministry_officer": (True, False), "park_manager": (False, False),
    "result_holder": (False, False), "anonymous": (False, False),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_rule(role: str) -> None:
    actor = ACTORS[role]
    assert (can_read(actor, "410122"), can_write(actor, "410122")) == EXPECTED[role]
    assert can_import(actor, "410122") == (EXPECTED[role][1] or role == "county_officer")


def _plot(session: Session, county: str = "410122") -> DemoPlot:
    box = shapely.box(113.99, 34.70, 114.0, 34.705) if county == "410122" else shapely.box(113.5, 34.78, 113.51,
                                                                                          34.785)
    record = apply_plot(session, SYSTEM, {"name": "p", "county_code": county, "crop": "maize",
                                          "season": "2026-autumn_grain", "boundary": shapely.to_geojson(box)}).record
    assert isinstance(record, DemoPlot)
    return record


@pytest.mark.parametrize("role", list(EXPECTED))
def test_single_records__404_unreadable_403_readable_not_writable(session: Session, role: str) -> None:
    plot = _plot(session)
    reads, writes = EXPECTED[role]
    actor = ACTORS[role]
    if writes:
        apply_plot(session, actor, {"notes": "ok"}, record_id=plot.id)
        assert plot.notes == "ok"
        return
    expected = Forbidden if reads else NotFound
    with pytest.raises(expected):
        apply_plot(session, actor, {"notes": "no"}, record_id=plot.id)
    with pytest.raises(expected):
        delete_record(session, actor, "plot", plot.id)
    with pytest.raises(Forbidden):  # a new plot in a county one does not write
        apply_plot(session, actor, {"name": "x", "county_code": "410122", "crop": "maize",
                                    "season": "2026-autumn_grain"})
    assert plot.notes is None and not plot.deleted


def test_yield_on_unreadable_plot__plot_not_found(session: Session) -> None:
    plot = _plot(session)
    from catalog.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        apply_yield(session, ACTORS["other_agent"], {"plot_id": plot.id, "method": "harvest",
                                                     "samples": [{"area_mu": 1, "fresh_kg": 600, "moisture": 0.14}]})
    assert info.value.errors[0].code == "not_found"
    with pytest.raises(Forbidden):
        apply_yield(session, ACTORS["county_officer"], {"plot_id": plot.id, "method": "harvest", "samples": [
            {"area_mu": 1, "fresh_kg": 600, "moisture": 0.14}]})


@pytest.mark.parametrize("role", list(EXPECTED))
def test_list_condition__same_rule_in_sql(session: Session, role: str) -> None:
    mine, other = _plot(session), _plot(session, "410102")
    seen = set(session.scalars(select(DemoPlot.id).where(readable_condition(ACTORS[role], DemoPlot.county_code))))
    assert (mine.id in seen) == EXPECTED[role][0]
    assert (other.id in seen) == can_read(ACTORS[role], "410102")
