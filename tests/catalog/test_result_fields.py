from __future__ import annotations

import pytest
from sqlalchemy import func, select

from catalog.errors import Conflict, ValidationFailed
from catalog.result_store import create_result, update_result
from catalog.results import Result
from tests.catalog.factories import BASE, make_result

BAD_FIELDS = [
    ({"name": ""}, "name", "required"),
    ({"name": "x" * 300}, "name", "too_long"),
    ({"tech_fields": []}, "tech_fields", "required"),
    ({"tech_fields": ["TF99"]}, "tech_fields", "unknown_code"),
    ({"industry_types": "IT0103；IT77"}, "industry_types", "unknown_code"),
    ({"crops": ["banana"]}, "crops", "unknown_code"),
    ({"trl": 0}, "trl", "out_of_range"),
    ({"trl": "10"}, "trl", "out_of_range"),
    ({"trl": "七"}, "trl", "out_of_range"),
    ({"form": "poem"}, "form", "unknown_code"),
    ({"source": "foreign"}, "source", "unknown_code"),
    ({"source": "local"}, "source_province", "required"),
    ({"source": "local", "source_province": "130100"}, "source_province", "unknown_division"),
    ({"suitable_regions": ["999999"]}, "suitable_regions", "unknown_division"),
    ({"contact_phone": "call me"}, "contact_phone", "invalid"),
    ({"contact_email": "nobody"}, "contact_email", "invalid"),
    ({"ip": {"trademarks": ["x"]}}, "ip.trademarks", "unknown_field"),
    ({"key_figures": [{"name": "增产", "value": "很多"}]}, "key_figures.0.value", "invalid"),
    ({"colour": "red"}, "colour", "unknown_field"),
]


@pytest.mark.parametrize("fields, field, code", BAD_FIELDS)
def test_create__bad_field__refused_with_reason_and_nothing_written(session, fields, field, code):
    before = session.scalar(select(func.count()).select_from(Result))
    with pytest.raises(ValidationFailed) as exc:
        create_result(session, {**BASE, "name": "测试成果", **fields}, actor="t")
    found = {(e.field, e.code) for e in exc.value.errors}
    assert (field, code) in found
    assert all(e.zh and e.en for e in exc.value.errors)
    assert session.scalar(select(func.count()).select_from(Result)) == before


def test_create__text_lists_and_parents__normalised(session):
    r = make_result(session, "黑土地保护性耕作技术", tech_fields="TF0201、TF03", keywords="黑土；保护性耕作; 秸秆还田",
                    scenarios=["SC0101", "SC0401"], suitable_regions=["230000", "220100"], trl="7")
    assert r.codes_of("tech_field") == ["TF0201", "TF03"]
    implied = {c.code for c in r.codes if c.implied}
    assert implied == {"TF02", "SC01", "SC04", "IT01"}  # IT01 from the factory's IT0103
    assert r.keywords == ["黑土", "保护性耕作", "秸秆还田"]
    assert {(x.division_code, x.province_code) for x in r.regions} == {("230000", "230000"), ("220100", "220000")}
    assert r.trl == 7 and r.trl_scale == "GB/T 22900-2022"


def test_create__duplicate_registration_no__refused(session):
    make_result(session, "成果甲", registration_no="9110000-2026-001")
    with pytest.raises(ValidationFailed) as exc:
        make_result(session, "成果乙", registration_no="9110000-2026-001")
    assert exc.value.errors[0].code == "duplicate"


def test_update__stale_version__conflict(session):
    r = make_result(session, "玉米籽粒机收技术")
    update_result(session, r, {"trl": 6}, "a", expected_version=1)
    with pytest.raises(Conflict):
        update_result(session, r, {"trl": 8}, "b", expected_version=1)
    assert r.trl == 6 and r.version == 2
