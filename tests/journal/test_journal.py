"""Journal: schema creation, connections without credentials, batches/cells lifecycle, the lock."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import JournalError
from dhispatch.runtime.journal import Settlement
from dhispatch.runtime.journal import strip_userinfo


def answered(
    counts: tuple[int, int, int, int],
    held: set[int],
    conflicts: tuple[ConflictRow, ...] = (),
    refused: set[int] | None = None,
) -> Settlement:
    """DHIS2's answer to a batch as the courier records it."""
    return Settlement(frozenset(held), conflicts, frozenset(refused or ()), http_status=200,
                      counts=counts)  # fmt: skip


def test_open_creates_parents_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.sqlite"
    with Journal.open(path) as j:
        assert path.exists()
        assert j.runs() == []
    import sqlite3

    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_connection_strips_userinfo(tmp_path: Path) -> None:
    at = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    with Journal.open(tmp_path / "s.sqlite") as j:
        j.record_connection("https://admin:CANARY@hmis.example.org/dhis", "2.40.1", "admin", at)
        rec = j.last_connection("https://hmis.example.org/dhis")
        assert rec is not None and rec.at == at and rec.version == "2.40.1" and rec.user == "admin"
        assert "CANARY" not in repr(j.dump())
        assert j.last_connection("https://other.example.org") is None
    assert strip_userinfo("http://u:p@127.0.0.1:8080/x?y=1") == "http://127.0.0.1:8080/x?y=1"


def test_batch_lifecycle_updates_cells(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("demo", "0" * 64, "push")
        payload = [
            {
                "dataElement": "DE1",
                "period": "202401",
                "orgUnit": "OU1",
                "categoryOptionCombo": "C1",
                "value": "5",
                "step": "soh",
                "store": "S1",
                "item": "I1",
            },
            {
                "dataElement": "DE2",
                "period": "202401",
                "orgUnit": "OU1",
                "categoryOptionCombo": "C1",
                "value": "7",
                "step": "soh",
                "store": "S1",
                "item": "I2",
            },
        ]
        bid = j.add_batch(run, "demo", "DS", "CREATE_AND_UPDATE", {"data_element": "CODE"}, payload)
        pending = j.due_batches("demo")
        assert [b.id for b in pending] == [bid] and pending[0].status == "pending"
        conflict = ConflictRow(
            bid, run, 1, "S1", "I2", "stock_on_hand", "x.push:3:1", "E7600", "no"
        )
        j.batch_settled(pending[0], run, answered((1, 0, 1, 0), {0}, (conflict,), {1}))
        assert j.due_batches("demo") == []
        cells = j.cells("demo")
        assert list(cells) == [CellKey("DE1", "202401", "OU1", "C1")]
        assert cells[CellKey("DE1", "202401", "OU1", "C1")].value == "5"
        assert j.conflicts(run)[0].code == "E7600"
        # a DELETE batch removes the cell
        bid2 = j.add_batch(run, "demo", "DS", "DELETE", {}, payload[:1])
        j.batch_settled(j.due_batches("demo")[0], run, answered((0, 0, 0, 1), {0}))
        assert j.cells("demo") == {} and bid2 > bid
        j.finish_run(run, "ok", {"sent": 1})
        assert j.run(run) is not None and j.runs()[0].summary == {"sent": 1}


def test_lock_refuses_second_runner(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as a, Journal.open(tmp_path / "s.sqlite") as b:
        a.acquire_lock()
        with pytest.raises(JournalError, match="another dhispatch runner"):
            b.acquire_lock()
        a.release_lock()
        b.acquire_lock()


def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite at all, definitely not" * 100)
    with pytest.raises(JournalError, match="is corrupt") as info:
        Journal.open(bad)
    assert info.value.cause == "corrupt"


def test_streaming_diff_duplicates_and_vanished(tmp_path: Path) -> None:
    def rec_payload(
        de: str, value: str, period: str = "202401", step: str = "soh"
    ) -> dict[str, str]:
        return {"dataElement": de, "period": period, "orgUnit": "OU1", "value": value,
                "step": step, "store": "S1", "item": de}  # fmt: skip

    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("demo", "0" * 64, "push")
        old = [
            rec_payload("A", "1"),
            rec_payload("B", "2"),
            rec_payload("GONE", "3"),
            rec_payload("OLD", "4", "202312"),
            rec_payload("OTHER", "5", step="amc"),
        ]
        j.add_batch(run, "demo", "DS", "CREATE_AND_UPDATE", {}, old)
        j.batch_settled(j.due_batches("demo")[0], run, answered((5, 0, 0, 0), set(range(5))))
        j.seen_begin()
        keys = [CellKey("A", "202401", "OU1", ""), CellKey("B", "202401", "OU1", ""),
                CellKey("NEW", "202401", "OU1", "")]  # fmt: skip
        assert j.seen_add(keys) is None
        known = j.probed_cells("demo")  # the cells seen_add probed
        assert {k.data_element: r.value for k, r in known.items()} == {"A": "1", "B": "2"}
        assert j.seen_add([CellKey("A", "202401", "OU1", "")]) == keys[0]  # produced twice
        twice = CellKey("TWICE", "202401", "OU1", "")  # twice in one chunk, then refused whole
        assert j.seen_add([CellKey("C", "202401", "OU1", ""), twice, twice]) == twice
        assert j.seen_add([CellKey("C", "202401", "OU1", "")]) is None  # nothing of it was kept
        assert j.probed_cells("demo") == {}  # the probe holds the last chunk
        # only cells of the (step, period) pairs this run covers can vanish
        gone = j.vanished("demo", {("soh", "202401")}, ["202401"])
        assert [r.key.data_element for r in gone] == ["GONE"]
        j.seen_end()


def test_prune_empties_only_old_accepted_payloads(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("demo", "0" * 64, "push")
        v = {"dataElement": "A", "period": "202401", "orgUnit": "OU1", "value": "1"}
        j.add_batch(run, "demo", "DS", "CREATE_AND_UPDATE", {}, [v, v])
        j.batch_settled(j.due_batches("demo")[0], run, answered((1, 0, 0, 0), {0, 1}))
        j.add_batch(run, "demo", "DS", "CREATE_AND_UPDATE", {}, [v])  # still pending
        assert j.prune(datetime(2000, 1, 1, tzinfo=UTC)) == 0
        assert j.prune(datetime(2999, 1, 1, tzinfo=UTC)) == 1
        sent, pending = j.batches()
        assert sent.payload == [] and sent.size == 2 and sent.status == "sent"
        assert pending.payload == [v] and pending.status == "pending"
        assert j.cells("demo")  # the last accepted values are kept
