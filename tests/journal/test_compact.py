"""The journal stays small (the ladder's step ``schema._compact``): packed payloads, numbered
names in cells ``WITHOUT ROWID``, a file that shrinks when payloads are pruned — and journals of
schema 1 and 2, written by those releases (``fixtures/``), upgraded in place with history.
Retention after each push: ``tests/run/test_runner.py``."""

from __future__ import annotations

import shutil
import sqlite3
import string
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime.journal import SCHEMA_VERSION
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import Settlement
from dhispatch.runtime.journal.payload import pack
from dhispatch.runtime.journal.payload import unpack
from dhispatch.runtime.journal.records import stored_value

FIXTURES = Path(__file__).with_name("fixtures")
PLAN = "kiribati-national"
# a cell as every schema holds it (its run is read through its batch from schema 7 on)
CELL_COLUMNS = (
    "plan_name, target_id, data_element, period, org_unit, coc, aoc, value, step_id, store, "
    "item, batch_id"
)


def rows(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


def copy(tmp_path: Path, name: str) -> Path:
    shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path / name


def old_state(path: Path) -> dict[str, Any]:
    """What a journal of an older schema holds, read with plain SQL before it is upgraded."""
    version = int(rows(path, "SELECT value FROM meta WHERE key = 'schema_version'")[0][0])
    aoc = "aoc" if version != 1 else "''"
    target = "target_id" if aoc == "aoc" else "0"
    batch = "batch_id" if aoc == "aoc" else "NULL"
    cells = "cell_values" if version >= 4 else "cells"  # numbered names from 4 on
    return {
        "payloads": {i: unpack(p) for i, p in rows(path, "SELECT id, payload FROM batches")},
        "digests": rows(path, "SELECT id, digest, size, status FROM batches ORDER BY id"),
        "cells": sorted(
            rows(
                path,
                f"SELECT plan_name, {target}, data_element, period, org_unit, coc, {aoc}, "
                f"value, step_id, store, item, {batch} FROM {cells}",
            )
        ),
        "slots": sorted(rows(path, "SELECT plan_name, step_id, period, due, run_id FROM slots")),
        "runs": rows(path, "SELECT * FROM runs ORDER BY id"),
        "conflicts": rows(path, "SELECT * FROM conflicts ORDER BY rowid"),
    }


def check_upgraded(path: Path, before: dict[str, Any]) -> None:
    with Journal.open(path) as journal:
        assert journal.schema_version() == SCHEMA_VERSION
        for batch_id, payload in before["payloads"].items():
            row = journal.batch(batch_id)
            assert row is not None and row.payload == payload
    assert (
        rows(path, "SELECT id, digest, size, status FROM batches ORDER BY id") == before["digests"]
    )  # schema 2's digests stay those of their JSON text
    assert sorted(rows(path, f"SELECT {CELL_COLUMNS} FROM cell_values")) == before["cells"]
    assert (
        sorted(rows(path, "SELECT plan_name, step_id, period, due, run_id FROM slots"))
        == (before["slots"])
    )
    runs = rows(path, "SELECT * FROM runs ORDER BY id")
    assert [r[:8] for r in runs] == [r[:8] for r in before["runs"]]
    assert rows(path, "SELECT * FROM conflicts ORDER BY rowid") == before["conflicts"]
    assert rows(path, "PRAGMA auto_vacuum") == [(2,)]  # incremental: pruning shrinks the file
    assert rows(path, "PRAGMA freelist_count") == [(0,)]  # what the steps freed was given back
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]
    for table in ("cells", "slots"):
        (sql,) = rows(path, f"SELECT sql FROM sqlite_master WHERE name = '{table}'")[0]
        assert sql.rstrip().endswith("WITHOUT ROWID")
    assert all(isinstance(p, bytes) and p for (p,) in rows(path, "SELECT blob FROM payloads"))
    # a cell's run is the run that journalled its value: its origin batch's (schema 1: none)
    assert all(
        run == (batch_run or 0)
        for run, batch_run in rows(path, "SELECT c.run_id, b.run_id FROM cell_values c "
                                   "LEFT JOIN batches b ON b.id = c.batch_id")
    )  # fmt: skip


@pytest.mark.parametrize(
    "fixture", ["v2-kiribati.sqlite", "v2-empty.sqlite", "v3-kiribati.sqlite", "v6-kiribati.sqlite"]
)
def test_older_journals_are_upgraded_in_place_with_their_history(
    fixture: str, tmp_path: Path
) -> None:
    path = copy(tmp_path, fixture)
    check_upgraded(path, old_state(path))


def test_a_v6_journal_keeps_every_value_text_payload_and_digest(tmp_path: Path) -> None:
    """Schema 6 (written by b906fd5, ``fixtures/make_v3_journal.py``) → 7: payloads in their own
    table, integer values stored as INTEGER and read back as the text journalled, one number
    for (plan, target), no run per cell."""
    path = copy(tmp_path, "v6-kiribati.sqlite")
    before = old_state(path)
    texts = rows(path, "SELECT value FROM cells")
    assert len(before["cells"]) == 36 and all(isinstance(v, str) for (v,) in texts)
    assert {len(p) for p in before["payloads"].values()} == {36}  # one sent, one due
    check_upgraded(path, before)
    stored = rows(path, "SELECT value FROM cells")
    assert sorted(map(str, (v for (v,) in stored))) == sorted(v for (v,) in texts)
    # an integer's canonical text is an INTEGER, any other text stays text
    assert all(isinstance(v, int) or isinstance(stored_value(v), str) for (v,) in stored)
    assert any(isinstance(v, int) for (v,) in stored)
    assert rows(path, "SELECT plan, target_id FROM scopes") == [(1, 1)]
    assert "run_id" not in {r[1] for r in rows(path, "PRAGMA table_info(cells)")}
    with Journal.open(path) as journal:
        (due,) = journal.due_batches(PLAN, 1)
        assert due.payload == before["payloads"][due.id]
        assert journal.queued_begin(PLAN, 1) == 36


def test_a_v2_journal_with_pruned_payloads_is_upgraded_in_place(tmp_path: Path) -> None:
    path = copy(tmp_path, "v2-pruned.sqlite")
    before = old_state(path)
    assert before["payloads"][1] == [] and len(before["payloads"][2]) == 36  # pruned / kept
    check_upgraded(path, before)
    assert rows(path, "SELECT id, pruned_at FROM batches WHERE pruned_at IS NOT NULL") == [
        (1, "before packing")
    ]
    with Journal.open(path) as journal:
        (due,) = journal.due_batches(PLAN, 1)
        assert due.id == 4 and due.payload == before["payloads"][4]
        assert journal.cells(PLAN, ["202403"], target_id=1)  # the diff still reads them
        assert journal.queued_begin(PLAN, 1) == 36


def test_a_v1_journal_climbs_both_steps_with_its_history(tmp_path: Path) -> None:
    path = copy(tmp_path, "v1-kiribati.sqlite")
    before = old_state(path)
    check_upgraded(path, before)


def test_a_v2_journal_read_only_is_upgraded_in_memory(tmp_path: Path) -> None:
    path = copy(tmp_path, "v2-pruned.sqlite")
    untouched = path.read_bytes()
    with Journal.open(path, readonly=True) as journal:
        assert journal.schema_version() == SCHEMA_VERSION
        assert len(journal.cells(PLAN, target_id=1)) == 48
    assert path.read_bytes() == untouched


# ---- packed payloads ----------------------------------------------------------------------

TEXT = st.text(alphabet=string.ascii_letters + 'éü€ "\\:,', max_size=12)
VALUES = st.lists(
    st.dictionaries(
        st.sampled_from(
            [
                "dataElement",
                "period",
                "orgUnit",
                "value",
                "step",
                "indicator",
                "origin",
                "store",
                "item",
                "categoryOptionCombo",
            ]
        ),  # fmt: skip
        TEXT | st.none() | st.integers(),
        min_size=1,
    ),
    max_size=30,
)


@given(VALUES)
def test_a_packed_payload_unpacks_to_what_was_journalled(payload: list[dict[str, Any]]) -> None:
    assert unpack(pack(payload)) == payload
    shuffled = [dict(reversed(list(v.items()))) for v in payload]
    assert pack(shuffled) == pack(payload)  # key order does not change the bytes (the digest)


@given(
    st.text(max_size=24)
    | st.integers().map(str)
    | st.sampled_from(
        ["0", "-0", "+1", "007", "1_000", "0.0", " 5", "٣", str(2**63), str(-(2**63))]
    )
)
def test_a_value_reads_back_as_the_text_journalled(text: str) -> None:
    """A cell's value is stored as INTEGER only when its text is an integer's canonical form,
    and SQLite gives back that same text; ``held_values``' '0' / '0.0' keep their meaning."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (value NOT NULL)")  # no affinity, as the cells' value
    conn.execute("INSERT INTO t VALUES (?)", (stored_value(text),))
    ((back, kind, zero),) = conn.execute(
        "SELECT CAST(value AS TEXT), typeof(value), CAST(value AS TEXT) IN ('0', '0.0') FROM t"
    ).fetchall()
    assert back == text and zero == (text in ("0", "0.0"))
    canonical = text.lstrip("-").isascii() and text.lstrip("-").isdigit() and str(int(text)) == text
    assert kind == ("integer" if canonical and -(2**63) <= int(text) < 2**63 else "text")


def values(n: int, period: str = "202405") -> list[dict[str, Any]]:
    """Values shaped as a run builds them (random-looking UIDs, 13 steps per item)."""
    out = []
    for i in range(n):
        item, step = divmod(i, 13)
        out.append({
            "dataElement": f"d{(item * 7919) % 100003:010d}", "period": period,
            "orgUnit": f"o{(item // 300) * 104729 % 1000003:010d}", "value": str(i % 977),
            "categoryOptionCombo": f"c{step:010d}", "step": f"step{step}",
            "indicator": f"indicator_{step}", "origin": f"specs/x.push:{10 + step}",
            "store": f"{item // 300:032X}", "item": f"{item % 300:032X}",
        })  # fmt: skip
    return out


def push(journal: Journal, payload: list[dict[str, Any]], size: int = 1000) -> None:
    run = journal.start_run(PLAN, "sha", "push", 1)
    for i in range(0, len(payload), size):
        part = payload[i : i + size]
        row = journal.new_batch(run, PLAN, "ds", "CREATE_AND_UPDATE", {}, part, 1)
        journal.batch_settled(row, run, Settlement(frozenset(range(len(part))), (), frozenset()))


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def test_pruning_shrinks_the_file_and_keeps_what_is_due(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Journal.open(path) as journal:
        push(journal, values(20_000))
        run = journal.start_run(PLAN, "sha", "push", 1)
        due = journal.new_batch(run, PLAN, "ds", "CREATE_AND_UPDATE", {}, values(50, "202406"), 1)
        journal.batch_failed(due, run, 503, "unavailable")
        cells = journal.cells(PLAN, target_id=1)
        assert len(cells) == 20_000
        journal.batch_attempt(due.id)
    full = size_of(path)
    packed = rows(path, "SELECT sum(length(blob)) FROM payloads JOIN batches ON id = batch_id "
                        "WHERE status = 'sent'")[0][0]  # fmt: skip
    with Journal.open(path) as journal:
        assert journal.prune(datetime.now(UTC) - timedelta(days=1)) == 0  # none that old
        assert journal.prune(datetime.now(UTC) + timedelta(days=1)) == 20
        assert journal.batch(1) is not None and journal.batch(1).payload == []  # type: ignore[union-attr]
        assert [b.payload for b in journal.due_batches(PLAN, 1)] == [values(50, "202406")]
        assert journal.cells(PLAN, target_id=1) == cells
        assert journal.prune(datetime.now(UTC) + timedelta(days=1)) == 0  # once
    pruned = size_of(path)
    assert full - pruned >= 0.9 * packed, (full, pruned, packed)
    assert rows(path, "PRAGMA freelist_count") == [(0,)]  # freed pages went back to the disk


def test_a_value_takes_a_few_dozen_bytes(tmp_path: Path) -> None:
    """418 B a value in schema 2 (payload JSON with provenance per value, cells with names);
    in schema 4 a few dozen (here 13 values per data element, so names weigh ~4 B a value;
    ``benchmarks/push_country.py`` measures a whole country); in schema 7 44 B, 35 B once the
    payloads are pruned (schema 6: 47 and 38 — integer values, one number for plan and target, no
    run per cell, cells' pages filled by the prune's rewrite)."""
    path = tmp_path / "state.sqlite"
    with Journal.open(path) as journal:
        push(journal, values(39_000))
    kept = size_of(path) / 39_000
    with Journal.open(path) as journal:
        journal.prune(datetime.now(UTC) + timedelta(days=1))
    retained = size_of(path) / 39_000
    assert kept <= 46 and retained <= 36 and retained < kept, (kept, retained)


def test_every_prune_gives_back_what_it_emptied(tmp_path: Path) -> None:
    """Each push prunes the few batches that just passed ``keep_payloads``: such prunes shrink
    the file by about what they emptied (a payload fills pages of its own), without a rewrite of
    the file once the first prune has rewritten it."""
    path = tmp_path / "state.sqlite"
    with Journal.open(path) as journal:
        push(journal, values(40_000))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with sqlite3.connect(path) as conn:  # batch i was accepted on day i
        conn.execute("UPDATE batches SET sent_at = datetime(?, '+' || id || ' days')",
                     (start.strftime("%Y-%m-%d"),))  # fmt: skip
    sizes, rewrites = [], []
    with Journal.open(path) as journal:
        for day in range(1, 41):
            emptied = rows(path, "SELECT length(blob) FROM payloads WHERE batch_id = ?", (day,))
            before = size_of(path)
            assert journal.prune(start + timedelta(days=day, hours=1)) == 1
            sizes.append((before, size_of(path), emptied[0][0]))
            rewrites.append(rows(path, "SELECT value FROM meta WHERE key = 'rewritten_pages'"))
    # the first prune rewrote the file (it had grown from nothing); the others only freed pages
    assert all(r == rewrites[0] != [] for r in rewrites), rewrites
    # a payload's own pages are freed at once; what it left in a page shared with another (and
    # a batch row grown by its ``pruned_at``) now and then costs a prune its page
    shrunk = [before - after for before, after, _ in sizes[1:]]
    assert sum(shrunk) >= 0.75 * sum(e for _, _, e in sizes[1:]), sizes
    assert sum(s > 0 for s in shrunk) >= 0.75 * len(shrunk), sizes


def test_a_grown_file_is_rewritten_at_a_prune_and_its_cells_pages_filled(tmp_path: Path) -> None:
    """Pages of a table ``WITHOUT ROWID`` that rows are appended to stay ~7/8 full (SQLite splits
    them in halves): the prune after the file grew by a quarter rewrites it."""
    path = tmp_path / "state.sqlite"
    with Journal.open(path) as journal:
        push(journal, values(39_000))
        cells = journal.cells(PLAN, target_id=1)
    with sqlite3.connect(path) as conn:
        (unused,) = conn.execute("SELECT sum(unused) FROM dbstat WHERE name = 'cells'").fetchone()
        (whole,) = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'cells'").fetchone()
    assert unused > 0.08 * whole, (unused, whole)
    with Journal.open(path) as journal:
        journal.prune(datetime.now(UTC) + timedelta(days=1))
        assert journal.cells(PLAN, target_id=1) == cells
    with sqlite3.connect(path) as conn:
        (unused,) = conn.execute("SELECT sum(unused) FROM dbstat WHERE name = 'cells'").fetchone()
    assert unused < 0.02 * whole, (unused, whole)
