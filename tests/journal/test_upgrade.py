"""The schema ladder from real schema-1 journals (written by dhispatch at d436d1c, see
``fixtures/make_v1_journals.py``): upgraded in place on first open with every row kept, read
without writing by read-only commands, and their history given to the target it was written for
— never to a copy of the spec aimed at another server."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from dhispatch.runtime.journal import SCHEMA_VERSION
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import TargetKey
from dhispatch.runtime.journal.schema import STEPS
from dhispatch.runtime.run.target import resolve_target
from tests.run.conftest import kiribati

FIXTURES = Path(__file__).with_name("fixtures")
PLAN = "kiribati-national"
ENV = {"DHIS2_USER": "admin", "DHIS2_PASSWORD": "x", "OMSUPPLY_DB": "unused"}


def v1_copy(tmp_path: Path, name: str = "v1-kiribati.sqlite") -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


def v1_server(path: Path) -> str:
    """The server the fixture's test-connection reached (schema 1 records nothing else)."""
    with sqlite3.connect(path) as conn:
        (url,) = conn.execute("SELECT url FROM connections").fetchone()
    return str(url)


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_the_ladder_is_contiguous_and_ends_at_the_current_version() -> None:
    assert sorted(STEPS) == list(range(1, SCHEMA_VERSION)) and SCHEMA_VERSION == 7


@pytest.mark.parametrize("fixture", ["v1-kiribati.sqlite", "v1-empty.sqlite"])
def test_a_v1_journal_is_upgraded_in_place_with_every_row_kept(
    fixture: str, tmp_path: Path
) -> None:
    path = v1_copy(tmp_path, fixture)
    tables = ("runs", "batches", "conflicts", "cells", "slots", "connections")
    before = {t: rows(path, f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    with Journal.open(path) as journal:
        assert journal.schema_version() == SCHEMA_VERSION
    after = {t: rows(path, f"SELECT count(*) FROM {t}")[0][0] for t in before}
    assert after == before
    version = rows(path, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert version == [(str(SCHEMA_VERSION),)]
    # schema 1 never sent an attribute option combo: its cells are under DHIS2's default
    assert rows(path, "SELECT DISTINCT aoc, target_id FROM cell_values") in ([], [("", 0)])


def test_the_v1_history_reads_as_it_was_written(tmp_path: Path) -> None:
    path = v1_copy(tmp_path)
    with Journal.open(path) as journal:
        runs = journal.runs()
        assert [(r.trigger, r.status) for r in reversed(runs)] == [
            ("push", "conflicts"), ("schedule", "conflicts"), ("push", "failed"),
        ]  # fmt: skip
        assert all(r.target_id == 0 for r in runs)
        (failed,) = journal.due_batches(PLAN, 0)
        assert failed.status == "failed" and "503" in (failed.error or "")
        assert failed.origin_id == failed.id and failed.failure_kind == "schema 1"
        assert len(journal.conflicts(runs[-1].id)) == 12
        assert len(journal.cells(PLAN)) == 24
        assert {s["period"] for s in journal.slots(PLAN, 0)} == {"202405"}


def test_read_only_commands_read_a_v1_journal_without_writing_it(tmp_path: Path) -> None:
    path = v1_copy(tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Journal.open(path, readonly=True) as journal:
        assert journal.schema_version() == SCHEMA_VERSION and len(journal.runs()) == 3
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not Path(str(path) + "-wal").exists() or Path(str(path) + "-wal").stat().st_size == 0


def test_the_history_goes_to_the_target_it_was_written_for(tmp_path: Path) -> None:
    path = v1_copy(tmp_path)
    plan = kiribati(v1_server(path))  # the same spec text, pushing where schema 1 did
    with Journal.open(path) as journal:
        assert resolve_target(journal, plan, ENV, create=False) == 0  # read-only: seen, kept
        target = resolve_target(journal, plan, ENV)
        assert target is not None and target > 0
        key = journal.targets()[target]
        assert key == TargetKey(v1_server(path), plan.target.data_set, "admin")
        assert all(r.target_id == target for r in journal.runs())
        assert [b.status for b in journal.due_batches(PLAN, target)] == ["failed"]
        assert len(journal.cells(PLAN, target_id=target)) == 24
        assert journal.cells(PLAN, target_id=0) == {}


def test_a_copy_of_the_spec_aimed_elsewhere_starts_from_nothing(tmp_path: Path) -> None:
    """Issue 12 point 5: a spec copied with only the URL changed pushed nothing ("1,054
    unchanged") because the journal did not know where it had pushed."""
    path = v1_copy(tmp_path)
    staging = kiribati(v1_server(path))
    # the copy's spec text differs (its url line), so its SHA-256 does too
    copied = replace(
        kiribati("https://production.example.org"),
        metadata=replace(staging.metadata, spec_sha256="1" * 64),
    )
    # and a plan JSON with only its url edited (same spec SHA) reached another server
    edited = kiribati("https://production.example.org")
    with Journal.open(path) as journal:
        for plan in (copied, edited):
            target = resolve_target(journal, plan, ENV)
            assert target is not None and journal.cells(PLAN, target_id=target) == {}
            assert journal.due_batches(PLAN, target) == []
        assert all(r.target_id == 0 for r in journal.runs())  # still unclaimed
        assert resolve_target(journal, staging, ENV) not in (None, 0)


def test_log_reads_a_v1_journal_without_writing_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dhispatch.runtime.cli.main import cli

    path = v1_copy(tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    out = CliRunner().invoke(cli, ["log", "--json", "--state", str(path)])
    assert out.exit_code == 0, out.output
    runs = json.loads(out.output)
    assert [r["status"] for r in runs] == ["failed", "conflicts", "conflicts"]
    assert all(r["target"] is None for r in runs)  # written before targets were recorded
    text = CliRunner().invoke(cli, ["log", "--state", str(path)]).output
    assert "(not recorded: schema 1)" in text and "1 batch(es) failed" in text
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # read-only: untouched


@pytest.mark.parametrize("fixture", ["v2-kiribati.sqlite", "v2-empty.sqlite"])
def test_a_v2_journal_gains_the_withheld_table_with_every_row_kept(
    fixture: str, tmp_path: Path
) -> None:
    """Schema 2 (written by 0719a9b, see ``fixtures/make_v2_journals.py``) → 3: the table of
    values the admission stage withheld, empty, then → 4 (batches, cells and slots as step 3 → 4
    stores them: ``test_compact.py``) → 5: the alert states, empty; everything else as it was."""
    path = v1_copy(tmp_path, fixture)
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]
    tables = ("runs", "conflicts", "connections", "targets")
    before = {t: rows(path, f"SELECT * FROM {t} ORDER BY rowid") for t in tables}
    with Journal.open(path) as journal:
        assert journal.schema_version() == SCHEMA_VERSION == 7
        assert journal.alert_states("kiribati-national", 1) == {}
    after = {t: rows(path, f"SELECT * FROM {t} ORDER BY rowid") for t in tables}
    # step 5 -> 6 gives targets a name column (NULL until a named target runs)
    assert [r[-1] for r in after["targets"]] == [None] * len(before["targets"])
    after["targets"] = [r[:-1] for r in after["targets"]]
    assert after == before
    assert rows(path, "SELECT count(*) FROM withheld") == [(0,)]
    assert rows(path, "SELECT count(*) FROM alerts") == [(0,)]


def test_withheld_values_of_an_upgraded_v2_journal_read_before_its_refusals(
    tmp_path: Path,
) -> None:
    from dhispatch.runtime.journal import WITHHELD
    from dhispatch.runtime.journal import CellKey
    from dhispatch.runtime.journal import WithheldRow

    path = v1_copy(tmp_path, "v2-kiribati.sqlite")
    with Journal.open(path) as journal:
        first = journal.runs()[-1]
        refused = journal.conflicts(first.id)
        assert len(refused) == 12 and all(c.batch_id != WITHHELD for c in refused)
        key = CellKey("DE1", "202405", "OU1", "COC1", "")
        journal.add_withheld(
            first.id,
            [
                WithheldRow(
                    key, "approval", "E7642", "not sent: x", "S001", "I1", "soh", "specs/k.push:3:1"
                )
            ],
        )
        both = journal.conflicts(first.id)
    assert [c.batch_id for c in both[:1]] == [WITHHELD] and both[1:] == refused
    assert rows(path, "SELECT rule, code, data_element, aoc FROM withheld") == [
        ("approval", "E7642", "DE1", ""),
    ]  # fmt: skip


def test_log_reads_a_v2_journal_without_writing_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dhispatch.runtime.cli.main import cli

    path = v1_copy(tmp_path, "v2-kiribati.sqlite")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    out = CliRunner().invoke(cli, ["log", "--json", "--state", str(path)])
    assert out.exit_code == 0, out.output
    runs = json.loads(out.output)
    assert [r["status"] for r in runs] == ["failed", "conflicts", "conflicts"]
    assert all(r["summary"].get("withheld", 0) == 0 for r in runs)
    assert len(runs[-1]["conflicts"]) == 12 and not any(
        c["withheld"] for c in runs[-1]["conflicts"]
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # read-only: untouched


def test_a_v3_journal_climbs_the_ladder_with_every_row_kept(tmp_path: Path) -> None:
    """Schema 3 (written by 68adc33, see ``fixtures/make_v3_journal.py``) → 4 (batches, cells
    and slots as ``_compact`` stores them: ``test_compact.py``) → 5 (alert states) → 6: the
    registrations table and the targets' spec names, and nothing else changed."""
    path = v1_copy(tmp_path, "v3-kiribati.sqlite")
    tables = ("runs", "conflicts", "connections", "withheld")
    before = {t: rows(path, f"SELECT * FROM {t} ORDER BY rowid") for t in tables}
    targets = rows(path, "SELECT * FROM targets")
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]
    assert len(before["runs"]) == 3 and len(targets) == 1
    with Journal.open(path, readonly=True) as journal:  # read-only: upgraded in memory only
        assert journal.registrations() == [] and journal.target_names() == {}
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]
    with Journal.open(path) as journal:
        assert journal.schema_version() == SCHEMA_VERSION == 7
        (target,) = journal.targets()
        journal.record_registrations(PLAN, target, "QX4ZTUbOt3a", 1,
                                     [("202405", "S001", "", "registered", None)])  # fmt: skip
        assert journal.registered(PLAN, target, "QX4ZTUbOt3a") == {("202405", "S001", "")}
        journal.name_target(target, "production")
        assert journal.target_names() == {target: "production"}
    assert {t: rows(path, f"SELECT * FROM {t} ORDER BY rowid") for t in tables} == before
    assert rows(path, "SELECT * FROM targets") == [(*targets[0], "production")]
