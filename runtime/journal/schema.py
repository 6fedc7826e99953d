"""The journal's schema and its upgrade ladder: version 1 as dhispatch ≤ d436d1c wrote it, then
one small step per version, each run in one transaction on first open of an older journal.

A new journal is created at version 1 and climbs the same ladder, so every step runs in every
test. To add a version: write ``_vN_to_vN1(conn)`` (SQL only, no reading of the plan), append it
to ``STEPS``, and add a fixture journal of version N to ``tests/journal/fixtures``.
"""

from __future__ import annotations

import json
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


_NAMED = (
    "plan_name",
    "data_element",
    "period",
    "org_unit",
    "coc",
    "aoc",
    "step_id",
    "store",
    "item",
)
# the confirmed cells with their names, as schema 2 stored them (the view as step 3 -> 4 made it)
_CELL_VALUES_4 = """
CREATE VIEW cell_values AS SELECT pl.name AS plan_name, c.target_id, de.name AS data_element,
    pe.name AS period, ou.name AS org_unit, co.name AS coc, ao.name AS aoc, c.value,
    st.name AS step_id, so.name AS store, it.name AS item, c.run_id, c.batch_id,
    c.period AS period_id
    FROM cells c JOIN names pl ON pl.id = c.plan JOIN names de ON de.id = c.data_element
    JOIN names pe ON pe.id = c.period JOIN names ou ON ou.id = c.org_unit
    JOIN names co ON co.id = c.coc JOIN names ao ON ao.id = c.aoc JOIN names st ON st.id = c.step
    JOIN names so ON so.id = c.store JOIN names it ON it.id = c.item
"""


def _compact(conn: sqlite3.Connection) -> None:
    """The journal stays small. Cells are keyed by numbers standing for their names (``names``:
    each identifier stored once) in a table ``WITHOUT ROWID`` (its key is not stored twice, in
    the table and again in an index), without a timestamp per cell (the run's and the batch's
    say when); slots too are ``WITHOUT ROWID``. Payloads are packed (``payload.pack``:
    zlib-compressed columns, provenance once per batch); payloads pruned before (``'[]'``) are
    empty blobs with ``pruned_at`` 'before packing'. Digests of batches journalled before stay those
    of their JSON text."""
    from dhispatch.runtime.journal.payload import pack

    conn.create_function("dhispatch_pack", 1, lambda text: pack(json.loads(text)))
    union = " UNION ".join(f"SELECT {n} FROM cells" for n in _NAMED)
    joins = " ".join(f"JOIN names n_{n} ON n_{n}.name = c.{n}" for n in _NAMED)
    _statements(
        conn,
        f"""
        CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        INSERT INTO names(id, name) VALUES (0, '');
        INSERT OR IGNORE INTO names(name) {union};
        CREATE TABLE cells3 (
            plan INTEGER NOT NULL, target_id INTEGER NOT NULL, period INTEGER NOT NULL,
            org_unit INTEGER NOT NULL, data_element INTEGER NOT NULL, coc INTEGER NOT NULL,
            aoc INTEGER NOT NULL, value TEXT NOT NULL, step INTEGER NOT NULL,
            store INTEGER NOT NULL, item INTEGER NOT NULL, run_id INTEGER NOT NULL,
            batch_id INTEGER,
            PRIMARY KEY (plan, target_id, period, org_unit, data_element, coc, aoc)
        ) WITHOUT ROWID;
        INSERT INTO cells3 SELECT n_plan_name.id, c.target_id, n_period.id, n_org_unit.id,
            n_data_element.id, n_coc.id, n_aoc.id, c.value, n_step_id.id, n_store.id,
            n_item.id, c.run_id, c.batch_id FROM cells c {joins};
        DROP TABLE cells;
        ALTER TABLE cells3 RENAME TO cells;
        {_CELL_VALUES_4};
        CREATE TABLE slots3 (
            plan_name TEXT NOT NULL, target_id INTEGER NOT NULL, step_id TEXT NOT NULL,
            period TEXT NOT NULL, due TEXT NOT NULL, reference TEXT NOT NULL,
            run_id INTEGER NOT NULL REFERENCES runs(id), completed_at TEXT NOT NULL,
            PRIMARY KEY (plan_name, target_id, step_id, period, due)
        ) WITHOUT ROWID;
        INSERT INTO slots3 SELECT * FROM slots;
        DROP TABLE slots;
        ALTER TABLE slots3 RENAME TO slots;
        ALTER TABLE batches ADD COLUMN pruned_at TEXT;
        UPDATE batches SET pruned_at = 'before packing' WHERE payload = '[]' AND size > 0;
        UPDATE batches SET payload = dhispatch_pack(payload);
        """,
    )


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    """Alert states: per plan, target and condition whether it is failing, since when, why, and
    whether that state was told (an alert is sent once per change of state, and again at the
    next evaluation only when sending it failed)."""
    _statements(
        conn,
        """
        CREATE TABLE alerts (
            plan_name TEXT NOT NULL, target_id INTEGER NOT NULL, condition TEXT NOT NULL,
            failing INTEGER NOT NULL, detail TEXT NOT NULL, since TEXT NOT NULL,
            told INTEGER NOT NULL DEFAULT 0, told_at TEXT, error TEXT,
            PRIMARY KEY (plan_name, target_id, condition)
        ) WITHOUT ROWID
        """,
    )


def _v5_to_v6(conn: sqlite3.Connection) -> None:
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


# the confirmed cells with their names and values as text. A cell keeps no run of its own: its
# ``run_id`` is the run that journalled the value, its origin batch's (``batches.run_id``); 0 for
# a cell schema 1 confirmed, which recorded no batch
CELL_VALUES = """
CREATE VIEW cell_values AS SELECT pl.name AS plan_name, sc.target_id, de.name AS data_element,
    pe.name AS period, ou.name AS org_unit, co.name AS coc, ao.name AS aoc,
    CAST(c.value AS TEXT) AS value, st.name AS step_id, so.name AS store, it.name AS item,
    coalesce(b.run_id, 0) AS run_id, c.batch_id, c.period AS period_id
    FROM cells c JOIN scopes sc ON sc.id = c.scope JOIN names pl ON pl.id = sc.plan
    JOIN names de ON de.id = c.data_element
    JOIN names pe ON pe.id = c.period JOIN names ou ON ou.id = c.org_unit
    JOIN names co ON co.id = c.coc JOIN names ao ON ao.id = c.aoc JOIN names st ON st.id = c.step
    JOIN names so ON so.id = c.store JOIN names it ON it.id = c.item
    LEFT JOIN batches b ON b.id = c.batch_id
"""
_CELL_KEY = "period, org_unit, data_element, coc, aoc"


def _v6_to_v7(conn: sqlite3.Connection) -> None:
    """Fewer bytes a value. A cell's plan and target become one number (``scopes``: one row per
    pair, never changed); cells lose their run (nothing reads it that the origin batch cannot
    tell: ``cell_values.run_id``) and keep a value as an INTEGER when its text is an integer's
    canonical form (``records.stored_value``; read back as the same text). Payloads move to a
    table of their own, an emptied payload being no row: a pruned payload then frees whole
    pages, which ``PRAGMA incremental_vacuum`` gives back to the file system, where it shared
    its pages with the batch rows before."""
    from dhispatch.runtime.journal.records import stored_value

    conn.create_function("dhispatch_stored", 1, stored_value, deterministic=True)
    _statements(
        conn,
        f"""
        CREATE TABLE payloads (batch_id INTEGER PRIMARY KEY, blob BLOB NOT NULL);
        INSERT INTO payloads SELECT id, payload FROM batches WHERE length(payload) > 0
            ORDER BY id;
        ALTER TABLE batches DROP COLUMN payload;
        CREATE TABLE scopes (
            id INTEGER PRIMARY KEY, plan INTEGER NOT NULL, target_id INTEGER NOT NULL,
            UNIQUE (plan, target_id)
        );
        INSERT INTO scopes(plan, target_id) SELECT DISTINCT plan, target_id FROM cells
            ORDER BY plan, target_id;
        DROP VIEW cell_values;
        CREATE TABLE cells4 (
            scope INTEGER NOT NULL, period INTEGER NOT NULL, org_unit INTEGER NOT NULL,
            data_element INTEGER NOT NULL, coc INTEGER NOT NULL, aoc INTEGER NOT NULL,
            value NOT NULL, step INTEGER NOT NULL, store INTEGER NOT NULL,
            item INTEGER NOT NULL, batch_id INTEGER,
            PRIMARY KEY (scope, {_CELL_KEY})
        ) WITHOUT ROWID;
        INSERT INTO cells4 SELECT s.id, {_CELL_KEY}, dhispatch_stored(value), step, store,
            item, batch_id FROM cells c JOIN scopes s USING (plan, target_id)
            ORDER BY s.id, {_CELL_KEY};
        DROP TABLE cells;
        ALTER TABLE cells4 RENAME TO cells;
        {CELL_VALUES}
        """,
    )


# version N -> the step that takes a journal from N to N + 1
STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _compact,
    4: _v4_to_v5,
    5: _v5_to_v6,
    6: _v6_to_v7,
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


def shrinkable(conn: sqlite3.Connection) -> bool:
    """Make a journal give freed pages back to the file system when pruned: a journal created
    before schema 3 is rewritten once (VACUUM, outside any transaction). True if it was."""
    (mode,) = conn.execute("PRAGMA auto_vacuum").fetchone()
    if mode == 2:  # INCREMENTAL
        return False
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return True
