"""Approval of yield measurements (catalog.review): order of levels, who decides, locking on every write path,
rejection and the edit that sends it back, the queue, the audit trail and the highest approved measurement.
SQLite and PostGIS.

Hand-checked figures (DOMAIN.md's published wheat example): 2260 kg fresh, moisture 13.8 %, impurity 0.1 % over
3.1 亩 at wheat's standard 13 % → 2260 × 0.999 × 0.862 ÷ 0.87 = 2236.98 kg, ÷ 3.1 = 721.61 kg/亩; against a check
variety of 650 kg/亩 the gain is (721.61 − 650) ÷ 650 = 11.02 %.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import review
from catalog.access import Actor, Grant
from catalog.audit import AuditEntry
from catalog.errors import Conflict, Forbidden, NotFound, ValidationFailed
from catalog.field import DemoPlot, YieldMeasurement
from catalog.field_rules import apply_plot, apply_yield, delete_record
from gis.area import M2_PER_MU
from gis.validate import local_projection

AGENT = Actor("agent-zm", user_id="u-agent", grants=(Grant("agent", "410122"),), channel="sync")
COUNTY = Actor("county-zm", user_id="u-county", grants=(Grant("county_officer", "410122"),), channel="api")
OTHER_COUNTY = Actor("county-xz", user_id="u-county2", grants=(Grant("county_officer", "410184"),), channel="api")
CITY = Actor("city-zz", user_id="u-city", grants=(Grant("city_officer", "410100"),), channel="api")
PROVINCE = Actor("prov-ha", user_id="u-prov", grants=(Grant("province_officer", "410000"),), channel="page")
OTHER_PROVINCE = Actor("prov-he", user_id="u-prov2", grants=(Grant("province_officer", "130000"),), channel="api")
MINISTRY = Actor("ministry", user_id="u-min", grants=(Grant("ministry_officer", None),), channel="api")
LON, LAT = 113.99, 34.70  # 中牟县 410122, in 郑州市 4101, 河南省 41
WHEAT = [{"area_mu": 3.1, "fresh_kg": 2260, "moisture": 0.138, "impurity": 0.001}]


def square(lon: float, lat: float, mu: float) -> Any:
    half = (mu * M2_PER_MU) ** 0.5 / 2
    to_m, to_deg = local_projection(shapely.Point(lon, lat))
    c = to_m(shapely.Point(lon, lat))
    return to_deg(shapely.box(c.x - half, c.y - half, c.x + half, c.y + half))


def plot(session: Session, n: int = 0, season: str = "2026-summer_grain") -> str:
    data = {"name": f"郑麦示范田{n}", "county_code": "410122", "crop": "wheat", "variety": "郑麦379",
            "season": season, "boundary": shapely.to_geojson(square(LON + n * 0.003, LAT, 50))}
    return apply_plot(session, AGENT, data).record.id


def measure(session: Session, plot_id: str, level: str = "county", **extra: Any) -> YieldMeasurement:
    data = {"plot_id": plot_id, "method": "harvest", "level": level, "samples": WHEAT, "measured_on": "2026-06-05",
            "baseline_type": "check_variety", "baseline_kg_per_mu": 650, "panel": ["张三", "李四", "王五"], **extra}
    return apply_yield(session, AGENT, data).record


def test_yield__the_published_example_is_what_gets_reviewed(session: Session) -> None:
    m = measure(session, plot(session))
    assert (m.yield_kg_per_mu, m.gain_pct, m.review_state, m.verifies_id) == (721.61, 11.02, "pending", None)


def test_order__province_waits_for_county__each_level_by_its_own_officer(session: Session) -> None:
    pid = plot(session)
    county = measure(session, pid)
    province = measure(session, pid, "province")
    assert province.verifies_id == county.id  # found: the plot's county self-test
    with pytest.raises(review.ReviewOrder) as order:
        review.approve(session, PROVINCE, province.id)
    assert order.value.code == "review_order" and order.value.context["waiting_for"] == county.id
    with pytest.raises(Forbidden):  # the province officer reads the county self-test but does not decide it
        review.approve(session, PROVINCE, county.id)
    with pytest.raises(Forbidden):  # nor does the county officer decide the province's re-test
        review.approve(session, COUNTY, province.id)
    review.approve(session, COUNTY, county.id)
    review.approve(session, PROVINCE, province.id)
    ministry = measure(session, pid, "ministry")
    assert ministry.verifies_id == province.id
    review.approve(session, MINISTRY, ministry.id)
    session.flush()
    assert [m.review_state for m in (county, province, ministry)] == ["approved"] * 3
    assert (county.reviewed_by, province.reviewed_by, ministry.reviewed_by) == ("county-zm", "prov-ha", "ministry")
    assert review.chain(session, ministry) == [county, province, ministry]


def test_order__a_city_measurement_must_be_approved_before_the_province(session: Session) -> None:
    pid = plot(session)
    county = measure(session, pid)
    review.approve(session, COUNTY, county.id)
    city = measure(session, pid, "city")
    province = measure(session, pid, "province", verifies_id=county.id)  # named: the county self-test directly
    assert (city.verifies_id, province.verifies_id) == (county.id, county.id)
    with pytest.raises(review.ReviewOrder) as order:
        review.approve(session, PROVINCE, province.id)
    assert order.value.context["waiting_for"] == city.id
    review.approve(session, CITY, city.id)
    review.approve(session, PROVINCE, province.id)
    assert province.review_state == "approved"
    later = measure(session, plot(session, 1))  # another plot: a province re-test found without a name…
    review.approve(session, COUNTY, later.id)
    city2 = measure(session, later.plot_id, "city")
    assert measure(session, later.plot_id, "province").verifies_id == city2.id  # …verifies the city measurement


@pytest.mark.parametrize(("level", "extra", "code"), [
    ("county", {"verifies_id": "x"}, "invalid"),               # a self-test verifies nothing
    ("province", {}, "no_lower_level"),                        # nothing below to verify
    ("ministry", {"verifies_id": "COUNTY"}, "invalid"),        # a spot-check verifies the province re-test
    ("city", {"verifies_id": "00000000-0000-0000-0000-000000000000"}, "not_found"),
])
def test_verifies__must_name_the_level_below_on_the_same_plot(session: Session, level: str,
                                                               extra: dict[str, str], code: str) -> None:
    pid = plot(session)
    if level != "province":
        county = measure(session, pid)
        extra = {k: county.id if v == "COUNTY" else v for k, v in extra.items()}
    before = session.scalar(select(YieldMeasurement.id).where(YieldMeasurement.level == level))
    with pytest.raises(ValidationFailed) as refused:
        measure(session, pid, level, **extra)
    assert [(e.field, e.code) for e in refused.value.errors] == [("verifies_id", code)]
    assert session.scalar(select(YieldMeasurement.id).where(YieldMeasurement.level == level)) == before


def test_verifies__not_a_measurement_of_another_plot(session: Session) -> None:
    other = measure(session, plot(session, 1))
    pid = plot(session)
    measure(session, pid)
    with pytest.raises(ValidationFailed) as refused:
        measure(session, pid, "city", verifies_id=other.id)
    assert refused.value.errors[0].code == "not_found"


def test_scope__another_province_or_county_reads_nothing_404(session: Session) -> None:
    pid = plot(session)
    county = measure(session, pid)
    with pytest.raises(NotFound):
        review.approve(session, OTHER_PROVINCE, county.id)
    with pytest.raises(NotFound):
        review.approve(session, OTHER_COUNTY, county.id)
    assert review.review_queue(session, OTHER_PROVINCE, review.QueueFilter())[1] == 0
    assert review.review_queue(session, OTHER_COUNTY, review.QueueFilter())[1] == 0
    assert county.review_state == "pending"


def test_reject__needs_a_comment__the_agents_edit_sends_it_back_to_pending(session: Session) -> None:
    county = measure(session, plot(session))
    with pytest.raises(review.CommentRequired) as missing:
        review.reject(session, COUNTY, county.id, "  ")
    assert missing.value.code == "comment_required" and missing.value.errors[0].field == "comment"
    assert county.review_state == "pending"
    version = county.version
    review.reject(session, COUNTY, county.id, "样点只有1个，50亩地块须取5点", expected_version=version)
    assert (county.review_state, county.review_comment, county.reviewed_by) == (
        "rejected", "样点只有1个，50亩地块须取5点", "county-zm")
    assert county.version == version + 1  # the decision reaches the kit with the next pull
    with pytest.raises(review.NotPending):
        review.approve(session, COUNTY, county.id)
    apply_yield(session, AGENT, {"plot_id": county.plot_id, "notes": "同一样点，未改"}, record_id=county.id)
    assert county.review_state == "pending"  # edited: reviewed again; the last comment stays for the reviewer
    assert county.review_comment == "样点只有1个，50亩地块须取5点"
    review.approve(session, COUNTY, county.id)
    assert county.review_state == "approved"


def test_decide__a_stale_version_is_a_conflict(session: Session) -> None:
    county = measure(session, plot(session))
    with pytest.raises(Conflict) as stale:
        review.approve(session, COUNTY, county.id, expected_version=county.version - 1)
    assert stale.value.code == "conflict" and county.review_state == "pending"


def test_locked__no_edit_no_delete_no_decision__the_same_values_again_pass(session: Session) -> None:
    pid = plot(session)
    county = measure(session, pid)
    review.approve(session, COUNTY, county.id)
    version = county.version
    with pytest.raises(review.Locked) as locked:
        apply_yield(session, AGENT, {"plot_id": pid, "samples": [{**WHEAT[0], "fresh_kg": 2300}]},
                    record_id=county.id)
    assert locked.value.code == "locked"
    same = apply_yield(session, AGENT, {"plot_id": pid, "samples": WHEAT, "measured_on": "2026-06-05"},
                       record_id=county.id)  # a ledger imported again changes nothing: not refused
    assert same.changed == [] and county.version == version
    with pytest.raises(review.Locked):
        delete_record(session, AGENT, "yield", county.id)
    with pytest.raises(review.Locked):  # the plot the approved figure stands on stays too
        delete_record(session, AGENT, "plot", pid)
    with pytest.raises(review.Locked):
        review.reject(session, COUNTY, county.id, "改主意了")
    session.flush()
    session.expire_all()
    stored = session.get(YieldMeasurement, county.id)
    assert stored is not None and (stored.yield_kg_per_mu, stored.deleted, stored.review_state) == (
        721.61, False, "approved")
    assert session.get(DemoPlot, pid).deleted is False  # type: ignore[union-attr]


def test_delete__a_measurement_verified_from_above_stays(session: Session) -> None:
    pid = plot(session)
    county = measure(session, pid)
    province = measure(session, pid, "province")
    with pytest.raises(Conflict):
        delete_record(session, AGENT, "yield", county.id)
    delete_record(session, AGENT, "yield", province.id)
    delete_record(session, AGENT, "yield", county.id)  # nothing verifies it any more
    assert county.deleted


def test_queue__level_scope_ready_and_filters(session: Session) -> None:
    a, b = plot(session, 0), plot(session, 1, season="2025-summer_grain")
    ca, cb = measure(session, a), measure(session, b)
    pa = measure(session, a, "province")
    measure(session, b, "province")

    def ids(actor: Actor, **kw: Any) -> list[str]:
        return [m.id for m, _p in review.review_queue(session, actor, review.QueueFilter(**kw))[0]]

    assert sorted(ids(COUNTY)) == sorted([ca.id, cb.id])
    assert ids(PROVINCE) == []  # the province re-tests wait for their county self-tests
    review.approve(session, COUNTY, ca.id)
    assert ids(COUNTY) == [cb.id] and ids(COUNTY, state="approved") == [ca.id]
    assert ids(PROVINCE) == [pa.id]
    assert ids(PROVINCE, county="410100") == [pa.id] and ids(PROVINCE, county="410184") == []
    assert ids(PROVINCE, season="2026-summer_grain") == [pa.id] and ids(PROVINCE, season="2025-summer_grain") == []
    assert ids(PROVINCE, level="county") == [] and ids(MINISTRY) == []
    assert ids(CITY) == []  # no city measurement here
    rows, total = review.review_queue(session, COUNTY, review.QueueFilter(season="2025-summer_grain"))
    assert total == 1 and rows[0][1].id == b


def test_decisions__audited_with_who_when_and_channel(session: Session) -> None:
    county = measure(session, plot(session))
    review.reject(session, COUNTY, county.id, "缺少对照")
    apply_yield(session, AGENT, {"plot_id": county.plot_id, "baseline_kg_per_mu": 640}, record_id=county.id)
    review.approve(session, COUNTY, county.id)
    session.flush()
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "yield_measurement", AuditEntry.entity_id == county.id, AuditEntry.action == "update")
        .order_by(AuditEntry.at)))
    states = [(e.actor, e.channel, (e.before or {}).get("review_state"), (e.after or {}).get("review_state"))
              for e in entries]
    assert states == [("county-zm", "api", "pending", "rejected"), ("agent-zm", "sync", "rejected", "pending"),
                      ("county-zm", "api", "pending", "approved")]
    assert entries[0].after["review_comment"] == "缺少对照" and entries[0].after["reviewed_at"]
    assert entries[0].scope_code == "410122"


def test_best_approved__highest_level_and_the_level_it_stands_on(session: Session) -> None:
    a, b, c, d = (plot(session, n) for n in range(4))
    ca = measure(session, a)
    # 2200 × 0.999 × 0.862 ÷ 0.87 ÷ 3.1 = 702.45 kg/亩
    pa = measure(session, a, "province", samples=[{**WHEAT[0], "fresh_kg": 2200}])
    ma = measure(session, a, "ministry")
    cb = measure(session, b)
    measure(session, c)  # pending only
    cd = measure(session, d)
    measure(session, d, "county", method="theoretical",
            samples=[{"ears_per_mu": 420000, "grains_per_ear": 36, "thousand_grain_g": 46}])
    for m in (ca, cb, cd):
        review.approve(session, COUNTY, m.id)
    review.approve(session, PROVINCE, pa.id)  # the ministry spot-check stays pending
    theory = session.scalars(select(YieldMeasurement).where(YieldMeasurement.plot_id == d,
                                                            YieldMeasurement.method == "theoretical")).one()
    review.approve(session, COUNTY, theory.id)
    session.flush()
    best = review.best_approved(session, [a, b, c, d])
    assert {p: (m.id, m.level) for p, m in best.items()} == {a: (pa.id, "province"), b: (cb.id, "county"),
                                                             d: (cd.id, "county")}  # 实收 before 理论
    assert best[a].yield_kg_per_mu == 702.45 and ma.review_state == "pending"
    everything = review.best_approved(session)
    assert {p: m.id for p, m in everything.items()} == {p: m.id for p, m in best.items()}
    in_select = review.best_approved(session, select(DemoPlot.id).where(DemoPlot.name.like("%示范田1")))
    assert list(in_select) == [b]
    rows = session.execute(review.best_approved_query([a]).order_by(None)).mappings().all()
    assert [(r["plot_id"], r["level"], r["level_rank"], r["yield_kg_per_mu"]) for r in rows] == [
        (a, "province", 3, 702.45)]


def test_locked__the_ledger_import_again_passes_a_changed_row_is_refused_as_its_row(session: Session) -> None:
    from catalog.access import SYSTEM
    from catalog.field_import import import_ledger
    from tests.catalog.test_field_import import GOOD, xlsx

    import_ledger(session, xlsx(GOOD), "台账.xlsx", actor=SYSTEM)
    first = session.scalars(select(YieldMeasurement).where(YieldMeasurement.yield_kg_per_mu == 721.61)).one()
    review.approve(session, COUNTY, first.id)
    session.commit()
    again = import_ledger(session, xlsx(GOOD), "台账.xlsx", actor=SYSTEM)  # the same figures: nothing changes
    assert again.count("yield", "unchanged") == 4
    changed = [list(GOOD[0]), *GOOD[1:]]
    changed[0][11] = 2300  # 鲜重 of the approved measurement's row
    with pytest.raises(ValidationFailed) as refused:
        import_ledger(session, xlsx(changed), "台账.xlsx", actor=SYSTEM)
    session.rollback()
    [error] = refused.value.errors
    assert (error.field, error.code, error.row, error.value) == ("yield", "locked", 2, first.id)
    assert "已审核通过并锁定" in error.zh
    good = import_ledger(session, xlsx(changed), "台账.xlsx", actor=SYSTEM, good_only=True)
    assert good.count("yield", "unchanged") == 2  # the other plot's rows; the locked plot's rows are skipped
    session.rollback()
    stored = session.get(YieldMeasurement, first.id)
    assert stored is not None and (stored.yield_kg_per_mu, stored.review_state) == (721.61, "approved")


def test_sheet__computation_step_by_step_as_stored(session: Session) -> None:
    from catalog.yield_sheet import build_sheet

    pid = plot(session)
    harvest = measure(session, pid, samples=[*WHEAT, {"area_mu": 2.65, "fresh_kg": 1950, "moisture": 0.14,
                                                      "impurity": 0.005}])
    sheet = build_sheet(session, harvest)
    # 2260 × 0.999 × 0.862 ÷ 0.87 = 2236.98 kg and 1950 × 0.995 × 0.86 ÷ 0.87 = 1917.95 kg: 4154.93 kg over
    # 3.1 + 2.65 = 5.75 亩 → 722.60 kg/亩
    assert [round(r.standard_kg or 0, 2) for r in sheet.rows] == [2236.98, 1917.95]
    assert (round(sheet.total_kg or 0, 2), sheet.total_mu, round(sheet.result or 0, 2)) == (4154.93, 5.75, 722.6)
    assert harvest.yield_kg_per_mu == 722.6 and sheet.standard_moisture == 0.13
    assert sheet.place == ["河南省", "郑州市", "中牟县"] and sheet.crop_name == "小麦" and sheet.points_required == 5
    assert sheet.notes  # 2 points on a 50 亩 plot: fewer than the 5 the rule asks
    theory = measure(session, pid, method="theoretical",
                     samples=[{"ears_per_mu": 420000, "grains_per_ear": 36, "thousand_grain_g": 46}])
    t = build_sheet(session, theory, "en")
    # 420,000 × 36 × 46 g × 10⁻⁶ × 0.85 = 591.19 kg/亩
    assert (t.factor, round(t.result or 0, 2), theory.yield_kg_per_mu) == (0.85, 591.19, 591.19)
    assert t.level_name == "county self-test" and t.state_name == "pending"


def test_lower_candidate__a_batchs_held_measurements_answer_as_the_query(session: Session) -> None:
    # A sync batch loads its plots' measurements once (review.HELD_YIELDS) and picks the one a city or province
    # measurement verifies in memory. With the batch's own changes made on the held objects (new measurements
    # waiting unflushed, deletions, decisions, a level changed), every answer must be the query's on the
    # flushed rows: nearest level, approved first, latest measured day (none last), latest written, then the id.
    import datetime as dt
    import random
    import uuid

    from tests.sync.helpers import make_plot

    rng = random.Random(7)
    written = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    checked = 0
    for _round in range(12):
        plots = [make_plot(session).id for _ in range(3)]

        def row(plot_id: str) -> YieldMeasurement:
            nonlocal written
            written += dt.timedelta(seconds=rng.choice([0, 0, 1, 3600]))  # ties too: the id decides them
            return YieldMeasurement(
                id=str(uuid.uuid4()), plot_id=plot_id, county_code="410102", method="harvest", crop="maize",
                level=rng.choice(["county", "county", "city", "province"]),
                review_state=rng.choice(["pending", "approved", "rejected"]),
                measured_on=rng.choice([None, dt.date(2026, 9, rng.randint(1, 4))]),
                deleted=rng.random() < 0.15, created_at=written)

        stored = [row(rng.choice(plots)) for _ in range(rng.randint(0, 10))]
        session.add_all(stored)
        session.flush()
        live = [m for m in stored if not m.deleted]
        edited = rng.sample(live, min(len(live), 3))
        for m in stored:  # as in a batch, the session holds only the measurements the batch edits
            if m not in edited:
                session.expunge(m)
        review.hold_yields(session, plots)
        for m in edited:  # the batch's edits, not flushed
            change = rng.choice(["deleted", "review_state", "level"])
            setattr(m, change, True if change == "deleted" else rng.choice(
                ["pending", "approved", "rejected"] if change == "review_state" else ["county", "city"]))
        for _ in range(rng.randint(0, 3)):  # the batch's new measurements, waiting
            new = row(rng.choice(plots))
            session.add(new)
            review.hold_new(session, new)
        asks = [(p, level, rng.choice([None, *(m.id for m in stored)]))
                for p in plots for level in ("city", "province", "ministry")]
        statements: list[str] = []
        with session.no_autoflush, _statements(session, statements):
            held = [review.lower_candidate(session, *ask) for ask in asks]
        assert statements == []  # picked in memory
        review.release_yields(session)
        queried = [review.lower_candidate(session, *ask) for ask in asks]  # autoflush: the rows as changed
        assert held == queried
        checked += sum(a is not None for a in held)
    assert checked > 20  # the rounds found candidates, not only None

    # Tied on everything the order names: the smaller id, held or queried, whichever was written first.
    plot_id = make_plot(session).id
    low, high = sorted(str(uuid.uuid4()) for _ in range(2))
    session.add_all([YieldMeasurement(id=i, plot_id=plot_id, county_code="410102", method="harvest", crop="maize",
                                      level="county", review_state="pending", measured_on=dt.date(2026, 9, 2),
                                      created_at=written) for i in (high, low)])
    session.flush()
    session.expunge_all()
    review.hold_yields(session, [plot_id])
    assert review.lower_candidate(session, plot_id, "city") == low
    review.release_yields(session)
    assert review.lower_candidate(session, plot_id, "city") == low

    # A new measurement whose savepoint rolled back (a careful batch's failed write) is no candidate.
    plot_id = make_plot(session).id
    review.hold_yields(session, [plot_id])
    failed = YieldMeasurement(id=str(uuid.uuid4()), plot_id=plot_id, county_code="410102", method="harvest",
                              crop="maize", level="county", review_state="pending", created_at=written)
    savepoint = session.begin_nested()
    session.add(failed)
    review.hold_new(session, failed)
    session.flush()
    assert review.lower_candidate(session, plot_id, "city") == failed.id
    savepoint.rollback()
    assert review.lower_candidate(session, plot_id, "city") is None
    review.release_yields(session)


@contextmanager
def _statements(session: Session, out: list[str]) -> Iterator[None]:
    """The SQL the session's connection runs meanwhile, in ``out``."""
    from sqlalchemy import event

    conn = session.connection()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        out.append(statement)

    event.listen(conn, "before_cursor_execute", seen)
    try:
        yield
    finally:
        event.remove(conn, "before_cursor_execute", seen)
