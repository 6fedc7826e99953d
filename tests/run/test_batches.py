"""Stage 3 (batches): what is worth sending, in batches of the batch size; vanished cells per
the plan's policy."""

from __future__ import annotations

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.run.batches import Batcher
from dhispatch.runtime.run.batches import vanished_batches
from dhispatch.runtime.run.summary import CellChange
from dhispatch.runtime.run.summary import CellState
from tests.plans import typed_step

STEP = typed_step({"id": "soh", "origin": "t.push:3:1"})


def change(n: int, state: CellState) -> CellChange:
    cell = Cell(CellKey(f"DE{n}", "202405", "OU1", ""), str(n), "soh", "stock_on_hand",
                "t.push:3:1", "S001", "I1")  # fmt: skip
    return CellChange(cell, state, None if state == "new" else "0")


def test_new_and_changed_cells_fill_batches_of_the_batch_size() -> None:
    batcher = Batcher(2)
    changes = [change(1, "new"), change(2, "unchanged"), change(3, "changed"), change(4, "new")]
    full = list(batcher.add(changes))
    assert [[v["dataElement"] for v in b.payload] for b in full] == [["DE1", "DE3"]]
    rest = batcher.rest()
    assert rest is not None and [v["dataElement"] for v in rest.payload] == ["DE4"]
    assert rest.strategy == "CREATE_AND_UPDATE" and batcher.rest() is None
    assert full[0].payload[0] == change(1, "new").cell.payload()


def test_force_sends_unchanged_cells_too() -> None:
    batcher = Batcher(10, force=True)
    assert list(batcher.add([change(1, "unchanged"), change(2, "new")])) == []
    rest = batcher.rest()
    assert rest is not None and len(rest.payload) == 2


def record(n: int, value: str, step: str = "soh", coc: str = "") -> CellRecord:
    return CellRecord(CellKey(f"DE{n}", "202405", "OU1", coc), value, step, "S001", "I1", 1)


def test_vanished_cells_are_kept_zeroed_once_or_deleted() -> None:
    records = [record(1, "5"), record(2, "0"), record(3, "7", coc="cocX"), record(4, "1", "gone")]
    steps = {"soh": STEP}
    assert vanished_batches(records, "keep", steps, 10) == []
    (zeros,) = vanished_batches(records, "zero", steps, 10)
    assert [(v["dataElement"], v["value"]) for v in zeros.payload] == [
        ("DE1", "0"), ("DE3", "0"), ("DE4", "0"),
    ]  # fmt: skip
    assert zeros.strategy == "CREATE_AND_UPDATE"
    deletes = vanished_batches(records, "delete", steps, 3)
    assert [len(b.payload) for b in deletes] == [3, 1] and {b.strategy for b in deletes} == {
        "DELETE"
    }
    first = deletes[0].payload
    assert first[0]["indicator"] == "stock_on_hand" and first[0]["origin"] == "t.push:3:1"
    assert first[2]["categoryOptionCombo"] == "cocX" and "categoryOptionCombo" not in first[0]
    assert deletes[1].payload[0]["indicator"] == ""  # a step no longer in the plan
