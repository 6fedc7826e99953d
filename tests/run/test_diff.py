"""Stage 2 (diff): cells against a real journal — new, changed, unchanged, doubled, vanished."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import Settlement
from dhispatch.runtime.run.diff import JournalDiff
from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.slots import manual_slots
from tests.plans import typed_plan

PLAN = typed_plan(
    {"steps": [{"id": "soh"}, {"id": "amc", "indicator": "average_monthly_consumption"}]}
)
SLOTS = manual_slots(PLAN, period="202405")


def cell(de: str, value: str, step: str = "soh", ou: str = "OU1", period: str = "202405") -> Cell:
    return Cell(
        CellKey(de, period, ou, ""), value, step, "stock_on_hand", "t.push:1:1", "S001", "I1"
    )


def accept(journal: Journal, cells: Sequence[Cell]) -> None:
    """The journal saw DHIS2 accept these cells (a sent batch)."""
    run = journal.start_run(PLAN.name, "0" * 64, "test")
    payload = [c.payload() for c in cells]
    batch_id = journal.add_batch(run, PLAN.name, "QX4ZTUbOt3a", "CREATE_AND_UPDATE", {}, payload)
    (row,) = [b for b in journal.batches(run) if b.id == batch_id]
    held = frozenset(range(len(cells)))
    journal.batch_settled(row, run, Settlement(held, (), frozenset(), counts=(len(cells), 0, 0, 0)))


def test_each_cell_is_new_changed_or_unchanged(journal: Journal) -> None:
    accept(journal, [cell("A", "1"), cell("B", "2")])
    timings = Timings()
    with JournalDiff(journal, PLAN.name, timings) as diff:
        changes = diff.classify([cell("A", "1"), cell("B", "3"), cell("C", "4")])
    assert [(c.cell.key.data_element, c.state, c.previous) for c in changes] == [
        ("A", "unchanged", "1"), ("B", "changed", "2"), ("C", "new", None),
    ]  # fmt: skip
    assert timings.journal > 0


def test_a_cell_produced_twice_is_refused_across_chunks(journal: Journal) -> None:
    with JournalDiff(journal, PLAN.name, Timings()) as diff:
        diff.classify([cell("A", "1")])
        with pytest.raises(
            RunError,
            match=r"same DHIS2 cell \(data element A, period 202405, org unit OU1\)",
        ):
            diff.classify([cell("B", "1"), cell("A", "2", step="amc")])


def test_vanished_cells_are_those_of_the_run_s_steps_and_periods_not_produced(
    journal: Journal,
) -> None:
    accept(journal, [cell("A", "1"), cell("B", "2"), cell("C", "3", step="other"),
                     cell("D", "4", period="202404")])  # fmt: skip
    with JournalDiff(journal, PLAN.name, Timings()) as diff:
        diff.classify([cell("A", "1")])
        vanished = diff.vanished(SLOTS)
    assert [(r.key.data_element, r.value, r.step_id) for r in vanished] == [("B", "2", "soh")]


def test_each_run_starts_with_an_empty_set_of_produced_cells(journal: Journal) -> None:
    with JournalDiff(journal, PLAN.name, Timings()) as diff:
        diff.classify([cell("A", "1")])
    with JournalDiff(journal, PLAN.name, Timings()) as diff:
        assert [c.state for c in diff.classify([cell("A", "1")])] == ["new"]


def test_a_value_already_waiting_in_a_due_batch_is_not_sent_again(journal: Journal) -> None:
    accept(journal, [cell("A", "1")])
    run = journal.start_run(PLAN.name, "0" * 64, "test")
    payload = [cell("A", "5").payload(), cell("B", "6").payload()]
    journal.add_batch(run, PLAN.name, "QX4ZTUbOt3a", "CREATE_AND_UPDATE", {}, payload)  # due
    with JournalDiff(journal, PLAN.name, Timings()) as diff:
        changes = diff.classify([cell("A", "5"), cell("B", "7"), cell("C", "1")])
    assert [(c.cell.key.data_element, c.state, c.previous, c.queue_status) for c in changes] == [
        ("A", "waiting", "1", "pending"), ("B", "new", None, None), ("C", "new", None, None),
    ]  # fmt: skip


def test_cells_differ_by_attribute_option_combo(journal: Journal) -> None:
    accept(journal, [cell("A", "1")])  # under the default attribute option combo
    funded = Cell(CellKey("A", "202405", "OU1", "", "aocFUNDER01"), "1", "soh", "stock_on_hand",
                  "t.push:1:1", "S001", "I1")  # fmt: skip
    with JournalDiff(journal, PLAN.name, Timings()) as diff:
        assert [c.state for c in diff.classify([funded])] == ["new"]
        assert [r.key.aoc for r in diff.vanished(SLOTS)] == [""]
