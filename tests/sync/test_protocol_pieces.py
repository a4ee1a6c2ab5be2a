"""The pure pieces of sync protocol v1: wire shapes, the cursor, the field-merge rule."""

from __future__ import annotations

import uuid

import pytest

from sync import cursor as cursors
from sync.merge import merge
from sync.wire import Answer, Change, Mutation, PullPage, WireError, mutations_from_json

MID, RID = str(uuid.uuid4()), str(uuid.uuid4())


def test_mutation__round_trips_through_json():
    m = Mutation(MID, "plot", RID, "upsert", 3, {"name": "示范田"}, 1)
    assert Mutation.from_json(m.to_json()) == m


@pytest.mark.parametrize(("body", "where"), [
    ({"mutations": [{"type": "plot", "id": RID}]}, "mutations.0.mutation_id"),
    ({"mutations": [{"mutation_id": "x", "type": "plot", "id": RID}]}, "mutations.0.mutation_id"),
    ({"mutations": [{"mutation_id": MID, "type": "result", "id": RID}]}, "mutations.0.type"),
    ({"mutations": [{"mutation_id": MID, "type": "plot", "id": RID, "op": "out_of_scope"}]}, "mutations.0.op"),
    ({"mutations": [{"mutation_id": MID, "type": "plot", "id": RID, "base_version": True}]},
     "mutations.0.base_version"),
    ({"mutations": [{"mutation_id": MID, "type": "plot", "id": RID, "fields": []}]}, "mutations.0.fields"),
    ({"mutations": "all"}, "mutations"),
    ({}, "mutations"),
])
def test_mutations__malformed__wire_error_names_the_field(body, where):
    with pytest.raises(WireError) as err:
        mutations_from_json(body, 10)
    assert err.value.field == where


def test_mutations__batch_over_the_limit__refused():
    one = Mutation(MID, "plot", RID).to_json()
    with pytest.raises(WireError):
        mutations_from_json({"mutations": [one] * 3}, 2)


def test_pull_page_and_answer__round_trip():
    page = PullPage("e1", [Change("plot", RID, "upsert", 2, {"name": "a"}), Change("plot", RID, "delete", 3)],
                    "e1.5.4.3", True)
    assert PullPage.from_json(page.to_json()) == page
    first = Answer("conflict", version=4, fields={"crop": "maize"}, conflict_ids=["c1"])
    dup = Answer.from_json({"status": "duplicate", "original": first.to_json()})
    assert dup.final == first and first.final == first


def test_cursor__round_trip_and_start():
    c = cursors.Cursor("ab12", 900, 850, 7)
    assert cursors.decode(cursors.encode(c)) == c
    assert cursors.decode("") is None


@pytest.mark.parametrize("text", ["x", "ab.1.2", "ab.1.2.x", "AB.1.2.3", "ab.-1.2.3", "a.b.1.2.3"])
def test_cursor__not_ours__bad_cursor(text):
    with pytest.raises(cursors.BadCursor):
        cursors.decode(text)


def test_merge__field_unchanged_since_base__applies():
    got = merge({"name": 1, "crop": 3}, {"name": "a", "crop": "maize"}, 3, {"name": "b"})
    assert (got.apply, got.conflicts) == ({"name": "b"}, {})


def test_merge__field_changed_since_base_to_another_value__conflict_keeps_both():
    got = merge({"crop": 4}, {"crop": "maize"}, 3, {"crop": "wheat", "notes": "x"})
    assert got.apply == {"notes": "x"} and got.conflicts == {"crop": ("wheat", "maize")}


def test_merge__same_value__neither_applied_nor_conflict():
    got = merge({"crop": 9}, {"crop": "maize", "area": 12.0}, 1, {"crop": "maize", "area": 12})
    assert (got.apply, got.conflicts) == ({}, {})


def test_merge__no_base__every_differing_field_conflicts():
    got = merge({}, {"name": "server"}, None, {"name": "device"})
    assert got.conflicts == {"name": ("device", "server")}
