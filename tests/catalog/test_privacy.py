from __future__ import annotations

import pytest

from catalog.access import ANONYMOUS, SYSTEM, Actor, Grant
from catalog.privacy import contact_phone, mask_number, sees_contact
from tests.catalog.factories import make_result


@pytest.mark.parametrize("raw, masked", [
    ("13812345678", "138****5678"),
    ("010-62345678", "010-****5678"),
    ("410102199001011234", "410***********1234"),
    ("+86 138 1234 5678", "+86 1** **** 5678"),
    ("1234567", "*******"),
    ("", ""),
    (None, None),
])
def test_mask_number__hides_the_middle_digits_keeping_the_layout(raw, masked):
    assert mask_number(raw) == masked


HOLDER = Actor("h", "1", (Grant("result_holder", "河南农业大学"),))
HENAN = Actor("p", "2", (Grant("province_officer", "410000"),))
HEBEI = Actor("p2", "3", (Grant("province_officer", "130000"),))
MINISTRY = Actor("m", "4", (Grant("ministry_officer"),))
PARK = Actor("k", "5", (Grant("park_manager", "NASTP001"),))


@pytest.mark.parametrize("actor, full", [
    (SYSTEM, True), (HOLDER, True), (MINISTRY, True), (HENAN, True),
    (HEBEI, False), (PARK, False), (ANONYMOUS, False),
])
def test_contact_phone__shown_only_to_holder_and_officers_above(session, actor, full):
    r = make_result(session, "豫麦新品种", institutions=["河南农业大学"], source="local", source_province="410000",
                    contact_phone="0371-63555555")
    assert sees_contact(actor, r) is full
    assert contact_phone(actor, r) == ("0371-63555555" if full else "0371-****5555")


def test_api_and_export__anonymous_sees_masked_phone_holder_sees_it_whole(session, client, as_role):
    from catalog.lifecycle import transition

    r = make_result(session, "豫麦新品种", institutions=["河南农业大学"], contact_phone="13812345678")
    for step in ("submit", "approve", "publish"):
        transition(session, r, step, "test")
    session.commit()
    assert client.get(f"/api/results/{r.id}").get_json()["contact_phone"] == "138****5678"
    assert client.get("/api/results").get_json()["items"][0]["contact_phone"] == "138****5678"
    csv_text = client.get("/api/results/export.csv").data.decode("utf-8-sig")
    assert "138****5678" in csv_text and "13812345678" not in csv_text
    assert "138****5678" in client.get(f"/results/{r.id}").data.decode()
    holder = as_role("result_holder")
    assert holder.get(f"/api/results/{r.id}").get_json()["contact_phone"] == "13812345678"
    assert "13812345678" in holder.get("/api/results/export.csv").data.decode("utf-8-sig")
