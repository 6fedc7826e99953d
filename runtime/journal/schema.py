"""The journal's schema and its upgrade ladder: version 1 as dhispatch ≤ d436d1c wrote it, then
one small step per version, each run in one transaction on first open of an older journal.

A new journal is created at version 1 and climbs the same ladder, so every step runs in every
test. To add a version: write ``_vN_to_vN1(conn)`` (SQL only, no reading of the plan), append it
to ``STEPS``, and add a fixture journal of version N to ``tests/journal/fixtures``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
    url TEXT PRIMARY KEY, version TEXT NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_name TEXT NOT NULL, spec_sha TEXT NOT NULL, trigger TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL DEFAULT 'running',
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS slots (
    plan_name TEXT NOT NULL, step_id TEXT NOT NULL, period TEXT NOT NULL,
    due TEXT NOT NULL, reference TEXT NOT NULL, run_id INTEGER NOT NULL REFERENCES runs(id),
    completed_at TEXT NOT NULL,
    PRIMARY KEY (plan_name, step_id, period, due)
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    plan_name TEXT NOT NULL, data_set TEXT NOT NULL, strategy TEXT NOT NULL,
    id_schemes TEXT NOT NULL, payload TEXT NOT NULL, digest TEXT NOT NULL,
    size INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    http_status INTEGER, imported INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,
    ignored INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, error TEXT, created_at TEXT NOT NULL, sent_at TEXT,
    sent_run_id INTEGER, seconds REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS batches_status ON batches(plan_name, status);
CREATE TABLE IF NOT EXISTS conflicts (
    batch_id INTEGER NOT NULL REFERENCES batches(id), run_id INTEGER NOT NULL, idx INTEGER,
    store TEXT, item TEXT, indicator TEXT, origin TEXT, code TEXT, message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    plan_name TEXT NOT NULL, data_element TEXT NOT NULL, period TEXT NOT NULL,
    org_unit TEXT NOT NULL, coc TEXT NOT NULL, value TEXT NOT NULL,
    step_id TEXT NOT NULL, store TEXT NOT NULL, item TEXT NOT NULL,
    run_id INTEGER NOT NULL, pushed_at TEXT NOT NULL,
    PRIMARY KEY (plan_name, data_element, period, org_unit, coc)
);
"""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Records keyed by target (server URL without userinfo, data set, user). Schema 1 never
    recorded where it pushed: its rows get target 0 until a plan proves them its own
    (``Journal.claim_legacy``). Cells gain the attribute option combo — '' (DHIS2's default),
    which is where schema 1 always put them, since it never sent one — and the batch that
    confirmed them. Batches gain what the queue needs: lineage (origin, parent) when re-batched,
    a count of consecutive same failures and their kind (the park rule), a note."""
    _statements(
        conn,
        """
        CREATE TABLE targets (
            id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, data_set TEXT NOT NULL,
            user TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (url, data_set, user)
        );
        ALTER TABLE runs ADD COLUMN target_id INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE batches ADD COLUMN target_id INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE batches ADD COLUMN origin_id INTEGER;
        ALTER TABLE batches ADD COLUMN parent_id INTEGER;
        ALTER TABLE batches ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE batches ADD COLUMN failure_kind TEXT;
        ALTER TABLE batches ADD COLUMN note TEXT;
        UPDATE batches SET origin_id = id,
            failures = CASE status WHEN 'failed' THEN 1 ELSE 0 END,
            failure_kind = CASE status WHEN 'failed' THEN 'schema 1' END;
        DROP INDEX batches_status;
        CREATE INDEX batches_queue ON batches(plan_name, target_id, status);
        CREATE TABLE slots2 (
            plan_name TEXT NOT NULL, target_id INTEGER NOT NULL, step_id TEXT NOT NULL,
            period TEXT NOT NULL, due TEXT NOT NULL, reference TEXT NOT NULL,
            run_id INTEGER NOT NULL REFERENCES runs(id), completed_at TEXT NOT NULL,
            PRIMARY KEY (plan_name, target_id, step_id, period, due)
        );
        INSERT INTO slots2 SELECT plan_name, 0, step_id, period, due, reference, run_id,
            completed_at FROM slots;
        DROP TABLE slots;
        ALTER TABLE slots2 RENAME TO slots;
        CREATE TABLE cells2 (
            plan_name TEXT NOT NULL, target_id INTEGER NOT NULL, data_element TEXT NOT NULL,
            period TEXT NOT NULL, org_unit TEXT NOT NULL, coc TEXT NOT NULL, aoc TEXT NOT NULL,
            value TEXT NOT NULL, step_id TEXT NOT NULL, store TEXT NOT NULL, item TEXT NOT NULL,
            run_id INTEGER NOT NULL, pushed_at TEXT NOT NULL, batch_id INTEGER,
            PRIMARY KEY (plan_name, target_id, data_element, period, org_unit, coc, aoc)
        );
        INSERT INTO cells2 SELECT plan_name, 0, data_element, period, org_unit, coc, '', value,
            step_id, store, item, run_id, pushed_at, NULL FROM cells;
        DROP TABLE cells;
        ALTER TABLE cells2 RENAME TO cells;
        CREATE INDEX conflicts_run ON conflicts(run_id);
        """,
    )


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """Values a run withheld (not sent because DHIS2 would refuse them: the admission stage),
    per run, with the write rule, DHIS2's code and message and the cell. Older runs withheld
    nothing, so the table starts empty."""
    _statements(
        conn,
        """
        CREATE TABLE withheld (
            run_id INTEGER NOT NULL REFERENCES runs(id), store TEXT, item TEXT, indicator TEXT,
            origin TEXT, code TEXT, message TEXT NOT NULL, rule TEXT NOT NULL,
            data_element TEXT NOT NULL, period TEXT NOT NULL, org_unit TEXT NOT NULL,
            coc TEXT NOT NULL, aoc TEXT NOT NULL
        );
        CREATE INDEX withheld_run ON withheld(run_id);
        """,
    )


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """Completeness registrations: the last state of each (plan, target, data set, period, org
    unit, attribute option combo) registration and the run that made it; targets gain the name
    of the spec's target block that last used them (``log --target NAME``)."""
    _statements(
        conn,
        """
        ALTER TABLE targets ADD COLUMN name TEXT;
        CREATE TABLE registrations (
            plan_name TEXT NOT NULL, target_id INTEGER NOT NULL, data_set TEXT NOT NULL,
            period TEXT NOT NULL, org_unit TEXT NOT NULL, aoc TEXT NOT NULL,
            status TEXT NOT NULL, run_id INTEGER NOT NULL, at TEXT NOT NULL, message TEXT,
            PRIMARY KEY (plan_name, target_id, data_set, period, org_unit, aoc)
        );
        CREATE INDEX registrations_run ON registrations(run_id);
        """,
    )


# version N -> the step that takes a journal from N to N + 1
STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
}
SCHEMA_VERSION = max(STEPS) + 1


def version_of(conn: sqlite3.Connection) -> int | None:
    """The schema version recorded in ``meta``; None for a database without one."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if has_meta is None:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])


def create(conn: sqlite3.Connection) -> None:
    """A new journal: version 1, then the ladder."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _statements(conn, V1)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1')")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    upgrade(conn)


def _statements(conn: sqlite3.Connection, script: str) -> None:
    """Run a script statement by statement, inside the caller's transaction (``executescript``
    would commit it first). The schema's SQL has no ';' inside literals."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def upgrade(conn: sqlite3.Connection) -> list[int]:
    """Climb from the recorded version to ``SCHEMA_VERSION``, one transaction per step; the
    versions reached."""
    reached = []
    version = version_of(conn) or 1
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            STEPS[version](conn)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),)
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        version += 1
        reached.append(version)
    return reached
