"""The journal's queue: re-batching keeps lineage, a failure of one kind counts towards parking
(an outage does not), parked batches are retried or dropped, a late retry never overwrites a
newer confirmed value, a partly settled batch leaves its rest due."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import Settlement


def values(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"dataElement": de, "period": "202405", "orgUnit": "OU1", "value": v, "step": "s",
             "store": "S1", "item": de} for de, v in pairs]  # fmt: skip


def batch(journal: Journal, run: int, payload: list[dict[str, Any]]) -> Any:
    batch_id = journal.add_batch(run, "p", "DS", "CREATE_AND_UPDATE", {}, payload, 1)
    row = journal.batch(batch_id)
    assert row is not None
    return row


def test_split_keeps_lineage_and_failures(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("p", "0" * 64, "push", 1)
        row = batch(j, run, values(*((f"D{i}", str(i)) for i in range(5))))
        assert j.batch_failed(row, run, 500, "boom", kind="HTTP 500", park_after=3) == "failed"
        row = j.batch(row.id)
        assert row is not None
        children = j.split_batch(row, 2, run)
        assert [len(c.payload) for c in children] == [2, 2, 1]
        assert {(c.origin_id, c.parent_id, c.failures, c.status) for c in children} == {
            (row.id, row.id, 1, "failed")
        }
        assert j.batch(row.id).status == "split"  # type: ignore[union-attr]
        assert [b.id for b in j.due_batches("p", 1)] == [c.id for c in children]


def test_one_kind_of_failure_in_a_row_parks_an_outage_does_not_count(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("p", "0" * 64, "push", 1)
        row = batch(j, run, values(("A", "1")))
        for _ in range(5):  # DHIS2 unreachable: not the batch's doing
            assert j.batch_failed(row, run, None, "down", kind=None, park_after=3) == "failed"
            row = j.batch(row.id)
        assert row.failures == 0
        statuses = []
        for kind in ("HTTP 500", "HTTP 413", "HTTP 413", "HTTP 413"):
            statuses.append(j.batch_failed(row, run, 413, "too big", kind=kind, park_after=3))
            row = j.batch(row.id)
        assert statuses == ["failed", "failed", "failed", "parked"]
        assert row.status == "parked" and "failing 3 times in a row: too big" in (row.note or "")
        assert [b.id for b in j.parked_batches("p", 1)] == [row.id] and j.due_batches("p", 1) == []
        assert j.unpark() == 1
        row = j.batch(row.id)
        assert (row.status, row.failures) == ("failed", 0)


def test_a_dropped_batch_is_never_resent(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("p", "0" * 64, "push", 1)
        row = batch(j, run, values(("A", "1")))
        j.batch_failed(row, run, 500, "boom", kind="HTTP 500", park_after=1)
        assert not j.drop_parked(row.id + 1) and j.drop_parked(row.id)
        assert j.batch(row.id).status == "dropped"  # type: ignore[union-attr]
        assert j.due_batches("p", 1) == [] and j.parked_batches() == []
        assert j.unpark(row.id) == 0


def test_a_late_retry_leaves_out_values_confirmed_from_a_newer_batch(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("p", "0" * 64, "push", 1)
        old = batch(j, run, values(("A", "1"), ("B", "1")))
        j.batch_failed(old, run, 500, "boom", kind="HTTP 500", park_after=1)  # parked
        newer = batch(j, run, values(("A", "2")))
        j.batch_settled(newer, run, Settlement(frozenset({0}), (), frozenset(),
                                               counts=(1, 0, 0, 0)))  # fmt: skip
        old = j.batch(old.id)
        assert old is not None and j.fresh_indexes(old) == [1]  # B only: A went out as 2
        assert j.cells("p", target_id=1)[next(iter(j.cells("p", target_id=1)))].value == "2"


def test_a_partly_settled_batch_leaves_the_rest_due(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.sqlite") as j:
        run = j.start_run("p", "0" * 64, "push", 1)
        row = batch(j, run, values(("A", "1"), ("B", "2"), ("C", "3")))
        refusal = ConflictRow(row.id, run, 1, "S1", "B", "soh", "x:1:1", "E8103", "unknown B")
        outcome = Settlement(frozenset({0}), (refusal,), frozenset({1}), frozenset({2}),
                             "DHIS2 went away", 200, (0, 1, 1, 0))  # fmt: skip
        j.batch_settled(row, run, outcome)
        (rest,) = j.due_batches("p", 1)
        assert rest.payload == values(("C", "3")) and rest.status == "failed"
        assert (rest.parent_id, rest.origin_id, rest.error) == (row.id, row.id, "DHIS2 went away")
        assert j.batch(row.id).status == "split"  # type: ignore[union-attr]
        assert [k.data_element for k in j.cells("p", target_id=1)] == ["A"]
        assert [c.code for c in j.conflicts(run)] == ["E8103"]
