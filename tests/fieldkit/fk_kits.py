"""Field kits for tests, the intent each one records, and the sync invariant checked against the server.

The invariant (issue 5): after the kits sync to quiescence the server holds exactly the union of their intent —
every record a kit created exists once, every deletion holds, every last value a kit gave a field reached the
server or stands in a conflict record, nothing was applied twice — and every conflict is known to its kit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import Polygon

from fieldkit import records
from fieldkit.store import Store
from sync.client import SyncClient
from sync.transport import Transport

COUNTY = "410102"


def square(i: int, size: float = 0.001) -> Polygon:
    x, y = 113.60 + (i % 50) * 0.002, 34.70 + (i // 50) * 0.002
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


@dataclass
class Kit:
    name: str
    store: Store
    transport: Transport
    created: dict[str, str] = field(default_factory=dict)             # id -> type
    last: dict[tuple[str, str], Any] = field(default_factory=dict)    # (id, field) -> last value given
    deleted: set[str] = field(default_factory=set)
    photos: dict[str, tuple[str, str]] = field(default_factory=dict)  # photo id -> (plot id, sha256)

    @classmethod
    def make(cls, name: str, path: Path, transport: Transport) -> Kit:
        store = Store(path / f"{name}.db")
        store.set_meta(county=COUNTY, username=name)
        return cls(name, store, transport)

    def client(self, **kw: Any) -> SyncClient:
        return SyncClient(self.transport, self.store, **kw)

    def sync(self, **kw: Any) -> Any:
        return self.client(**kw).sync()

    def add_plot(self, label: str, i: int = 0) -> str:
        with self.store.session() as s:
            p = records.create(s, "plot", {"name": label, "crop": "maize", "season": "2026-autumn_grain",
                                           "county_code": COUNTY, "boundary": square(i), "notes": ""},
                               author=self.name)
            rid = p.id  # type: ignore[attr-defined]
        self.created[rid] = "plot"
        self.last.update({(rid, "name"): label, (rid, "notes"): ""})
        return str(rid)

    def add_yield(self, plot_id: str) -> str:
        with self.store.session() as s:
            y = records.create(s, "yield", {"plot_id": plot_id, "method": "harvest", "samples": [
                {"area_mu": 0.1, "fresh_kg": 70.0, "moisture": 0.25, "impurity": 0.01}]}, author=self.name)
            rid = y.id  # type: ignore[attr-defined]
        self.created[rid] = "yield"
        return str(rid)

    def add_photo(self, plot_id: str, source: Path) -> str:
        """A photo of the plot from the file ``source``, kept content-addressed beside the kit's database."""
        with self.store.session() as s:
            photo = records.add_photo(s, self.store.path.parent / f"{self.name}-files", plot_id, source,
                                      author=self.name)
            rid, sha = str(photo.id), str(photo.sha256)
        self.photos[rid] = (plot_id, sha)
        return rid

    def edit(self, type_: str, rid: str, **changes: Any) -> bool:
        try:
            with self.store.session() as s:
                records.edit(s, type_, rid, changes, author=self.name)
        except records.NoSuchRecord:
            return False  # deleted meanwhile (by a pull): nothing to edit
        self.last.update({(rid, k): v for k, v in changes.items()})
        return True

    def delete(self, type_: str, rid: str) -> bool:
        try:
            with self.store.session() as s:
                records.delete(s, type_, rid)
        except records.NoSuchRecord:
            return False
        self.deleted.add(rid)
        return True

    def live(self, type_: str = "plot") -> list[str]:
        return sorted(r.id for r in self.store.records(type_))  # type: ignore[attr-defined]


def check_union(kits: list[Kit], server_records: dict[str, dict[str, Any]], deleted: set[str],
                history: set[tuple[str, str, Any]] | None, conflicts: list[dict[str, Any]]) -> None:
    """The invariant over what the server holds.

    ``server_records``: id -> fields of every record (deleted ones too); ``deleted``: their ids;
    ``history``: (id, field, value) ever applied, when the server can tell; ``conflicts``: the server's conflict
    records, each with ``mutation_id``, ``record_id`` and the device's values ``device``.
    """
    created = {rid for k in kits for rid in k.created}
    intended_gone = {rid for k in kits for rid in k.deleted}
    assert set(server_records) <= created, "records nobody made"
    assert created - set(server_records) <= intended_gone, "lost records"
    for k in kits:
        assert k.store.outbox() == [], f"{k.name}: unsent mutations after quiescence"
        assert k.deleted & set(server_records) <= deleted, f"{k.name}: deletions lost"
        conflicted = {(c["record_id"], f, _norm(v)) for c in conflicts for f, v in (c.get("device") or {}).items()}
        for (rid, f), value in k.last.items():
            if rid in deleted or rid not in server_records:
                continue
            reached = history is not None and (rid, f, _norm(value)) in history or \
                _norm(server_records[rid].get(f)) == _norm(value)
            assert reached or (rid, f, _norm(value)) in conflicted, f"{k.name}: {rid} {f}={value!r} lost"
    mine = {c.mutation_id for k in kits for c in k.store.conflicts() if c.kind == "conflict"}
    assert {c["mutation_id"] for c in conflicts} == mine, "conflicts not known to their kits"


def check_converged(kits: list[Kit], server_records: dict[str, dict[str, Any]], deleted: set[str]) -> None:
    """Every kit's copy of every record equals the server's."""
    for k in kits:
        local = {r.id: r for r in k.store.records("plot", include_deleted=True)}  # type: ignore[attr-defined]
        for rid, fields in server_records.items():
            if fields.get("_type", "plot") != "plot":
                continue
            obj = local.get(rid)
            if obj is None:
                assert rid in deleted, f"{k.name} lacks {rid}"  # a tombstone of what it never had: nothing to keep
                continue
            assert obj.deleted == (rid in deleted), f"{k.name}: {rid} deleted={obj.deleted}"
            if rid not in deleted:
                assert (obj.name, _norm(obj.notes)) == (fields["name"], _norm(fields.get("notes"))), \
                    f"{k.name}: {rid} differs"


def _norm(v: Any) -> Any:
    return repr(None if v == "" else v)  # the server stores an empty text as null
