"""The journal: a SQLite state database of runs, batches, outcomes, due slots and pushed cells.

It answers "what did we send, when, and what did DHIS2 say?" and makes pushes crash-safe: a batch
row is committed *before* its HTTP request, so a killed process leaves it ``pending`` and the next
run resends it (DHIS2's import is an upsert, so resending is safe). Nothing secret is ever stored:
URLs lose their userinfo and payloads hold only data values.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from dhispatch.errors import DhispatchError

SCHEMA_VERSION = 1

_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS withheld (
    run_id INTEGER NOT NULL REFERENCES runs(id), store TEXT, item TEXT, indicator TEXT,
    origin TEXT, code TEXT, message TEXT NOT NULL, rule TEXT NOT NULL, data_element TEXT NOT NULL,
    period TEXT NOT NULL, org_unit TEXT NOT NULL, coc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    plan_name TEXT NOT NULL, data_element TEXT NOT NULL, period TEXT NOT NULL,
    org_unit TEXT NOT NULL, coc TEXT NOT NULL, value TEXT NOT NULL,
    step_id TEXT NOT NULL, store TEXT NOT NULL, item TEXT NOT NULL,
    run_id INTEGER NOT NULL, pushed_at TEXT NOT NULL,
    PRIMARY KEY (plan_name, data_element, period, org_unit, coc)
);
"""


class JournalError(DhispatchError):
    """The state database cannot be used (unreadable, locked by another runner, newer schema)."""


def strip_userinfo(url: str) -> str:
    """``https://user:pw@host/x`` → ``https://host/x``: credentials never reach the journal."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.username is None and parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _now() -> str:
    return _iso(datetime.now(UTC))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """The last successful connection to a DHIS2 server."""

    url: str
    version: str
    user: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CellKey:
    """A DHIS2 cell: the upsert key of a data value (attribute option combo is the plan's)."""

    data_element: str
    period: str
    org_unit: str
    coc: str


@dataclass(frozen=True, slots=True)
class CellRecord:
    """The last value the journal saw DHIS2 accept for a cell."""

    key: CellKey
    value: str
    step_id: str
    store: str
    item: str
    run_id: int


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One batch as stored: its payload is the data values plus the provenance of each."""

    id: int
    run_id: int
    plan_name: str
    data_set: str
    strategy: str
    id_schemes: dict[str, str]
    payload: list[dict[str, Any]]
    digest: str
    status: str
    http_status: int | None
    imported: int
    updated: int
    ignored: int
    deleted: int
    attempts: int
    error: str | None
    size: int = 0  # values in the batch (kept when a pruned payload is emptied)


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run: what triggered it, when, how it ended and its summary counts."""

    id: int
    plan_name: str
    spec_sha: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    summary: dict[str, Any]


WITHHELD = 0  # the batch of a conflict the admission stage found: the value was never sent
WITHHELD_PREFIX = "not sent: "  # how a withheld value's message starts


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """A value DHIS2 refused (or, with batch ``WITHHELD``, would refuse and was not sent),
    mapped back to store, item, indicator and spec line."""

    batch_id: int
    run_id: int
    idx: int | None
    store: str | None
    item: str | None
    indicator: str | None
    origin: str | None
    code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class WithheldRow:
    """A value a run did not send because DHIS2 would refuse it: the rule, DHIS2's code, why."""

    key: CellKey
    rule: str
    code: str | None
    message: str
    store: str | None
    item: str | None
    indicator: str | None
    origin: str | None


def payload_digest(payload: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of a batch's payload."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Journal:
    """The open state database. Use ``Journal.open(path)`` as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock_fd: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open (creating parent folders and schema if needed) a journal in WAL mode."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(p, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open state database {p}: {exc}") from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise JournalError(
                    f"state database {p} has schema version {row[0]}; this dhispatch reads "
                    f"{SCHEMA_VERSION} (upgrade dhispatch)"
                )
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(f"{p} is not a dhispatch state database: {exc}") from exc
        return cls(p, conn)

    def close(self) -> None:
        self.release_lock()
        self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # ---- the runner lock -------------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def acquire_lock(self) -> None:
        """Take the one-runner-at-a-time lock, or raise JournalError naming the holder."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise JournalError(
                f"another dhispatch runner (pid {holder}) holds {self.lock_path}; "
                "only one push may use a state database at a time"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._lock_fd = fd

    def release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # ---- connections -----------------------------------------------------------------------

    def record_connection(self, url: str, version: str, user: str, at: datetime) -> None:
        """Store a successful connection (test-connection, push) under the credential-free URL."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO connections(url, version, user, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET version=excluded.version, user=excluded.user, "
                "at=excluded.at",
                (strip_userinfo(url), version, user, _iso(at)),
            )

    def last_connection(self, url: str) -> ConnectionRecord | None:
        row = self._conn.execute(
            "SELECT url, version, user, at FROM connections WHERE url = ?", (strip_userinfo(url),)
        ).fetchone()
        if row is None:
            return None
        return ConnectionRecord(row[0], row[1], row[2], _parse(row[3]))

    # ---- runs ------------------------------------------------------------------------------

    def start_run(self, plan_name: str, spec_sha: str, trigger: str) -> int:
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO runs(plan_name, spec_sha, trigger, started_at) VALUES (?, ?, ?, ?)",
                (plan_name, spec_sha, trigger, _now()),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (_now(), status, json.dumps(summary, sort_keys=True), run_id),
            )

    def runs(self, limit: int | None = None) -> list[RunRow]:
        sql = "SELECT * FROM runs ORDER BY id DESC"
        args: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            args = (limit,)
        return [self._run(r) for r in self._conn.execute(sql, args).fetchall()]

    def run(self, run_id: int) -> RunRow | None:
        row = self._conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else self._run(row)

    @staticmethod
    def _run(r: tuple[Any, ...]) -> RunRow:
        return RunRow(
            id=r[0],
            plan_name=r[1],
            spec_sha=r[2],
            trigger=r[3],
            started_at=_parse(r[4]),
            finished_at=None if r[5] is None else _parse(r[5]),
            status=r[6],
            summary=json.loads(r[7]),
        )

    # ---- slots -----------------------------------------------------------------------------

    def complete_slot(
        self,
        plan_name: str,
        step_id: str,
        period: str,
        due: datetime,
        reference: datetime,
        run_id: int,
    ) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO slots VALUES (?, ?, ?, ?, ?, ?, ?)",
                (plan_name, step_id, period, _iso(due), _iso(reference), run_id, _now()),
            )

    def last_completed_due(self, plan_name: str, step_id: str) -> datetime | None:
        row = self._conn.execute(
            "SELECT max(due) FROM slots WHERE plan_name = ? AND step_id = ?", (plan_name, step_id)
        ).fetchone()
        return None if row is None or row[0] is None else _parse(row[0])

    def slot_done(self, plan_name: str, step_id: str, due: datetime) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM slots WHERE plan_name = ? AND step_id = ? AND due = ?",
            (plan_name, step_id, _iso(due)),
        ).fetchone()
        return row is not None

    def slots(self, plan_name: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT plan_name, step_id, period, due, reference, run_id, completed_at FROM slots"
        args: tuple[Any, ...] = ()
        if plan_name is not None:
            sql += " WHERE plan_name = ?"
            args = (plan_name,)
        cols = ("plan_name", "step_id", "period", "due", "reference", "run_id", "completed_at")
        rows = self._conn.execute(sql + " ORDER BY due, step_id", args).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # ---- batches ---------------------------------------------------------------------------

    def add_batch(
        self,
        run_id: int,
        plan_name: str,
        data_set: str,
        strategy: str,
        id_schemes: dict[str, str],
        payload: list[dict[str, Any]],
    ) -> int:
        """Commit a batch as ``pending`` — always before the HTTP request that sends it."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO batches(run_id, plan_name, data_set, strategy, id_schemes, payload, "
                "digest, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    plan_name,
                    data_set,
                    strategy,
                    json.dumps(id_schemes, sort_keys=True),
                    json.dumps(payload, separators=(",", ":")),
                    payload_digest(payload),
                    len(payload),
                    _now(),
                ),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def pending_batches(self, plan_name: str) -> list[BatchRow]:
        """Batches not yet accepted (pending after a crash, failed in an outage), oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM batches WHERE plan_name = ? AND status IN ('pending', 'failed') "
            "ORDER BY id",
            (plan_name,),
        ).fetchall()
        return [self._batch(r) for r in rows]

    def batches(self, run_id: int | None = None) -> list[BatchRow]:
        if run_id is None:
            rows = self._conn.execute("SELECT * FROM batches ORDER BY id").fetchall()
        else:
            rows = self._conn.execute(
                "SELECT * FROM batches WHERE run_id = ? OR sent_run_id = ? ORDER BY id",
                (run_id, run_id),
            ).fetchall()
        return [self._batch(r) for r in rows]

    def batch_seconds(self, run_id: int) -> float:
        row = self._conn.execute(
            "SELECT coalesce(sum(seconds), 0) FROM batches WHERE sent_run_id = ?", (run_id,)
        ).fetchone()
        return float(row[0])

    @staticmethod
    def _batch(r: tuple[Any, ...]) -> BatchRow:
        return BatchRow(
            id=r[0],
            run_id=r[1],
            plan_name=r[2],
            data_set=r[3],
            strategy=r[4],
            id_schemes=json.loads(r[5]),
            payload=json.loads(r[6]),
            digest=r[7],
            size=r[8],
            status=r[9],
            http_status=r[10],
            imported=r[11],
            updated=r[12],
            ignored=r[13],
            deleted=r[14],
            attempts=r[15],
            error=r[16],
        )

    def batch_attempt(self, batch_id: int) -> None:
        """Count an attempt before sending (so a crash mid-request is visible in the journal)."""
        with self._tx() as c:
            c.execute("UPDATE batches SET attempts = attempts + 1 WHERE id = ?", (batch_id,))

    def batch_failed(self, batch_id: int, run_id: int, http_status: int | None, error: str) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE batches SET status = 'failed', http_status = ?, error = ?, sent_run_id = ? "
                "WHERE id = ?",
                (http_status, error, run_id, batch_id),
            )

    def batch_sent(
        self,
        batch: BatchRow,
        run_id: int,
        *,
        http_status: int,
        counts: tuple[int, int, int, int],
        conflicts: Iterable[ConflictRow],
        refused: set[int],
        seconds: float,
    ) -> None:
        """Record DHIS2's answer and, in the same transaction, the cells it now holds.

        ``refused`` are payload indexes DHIS2 rejected: their cells keep their previous state.
        """
        imported, updated, ignored, deleted = counts
        with self._tx() as c:
            c.execute(
                "UPDATE batches SET status = 'sent', http_status = ?, imported = ?, updated = ?, "
                "ignored = ?, deleted = ?, error = NULL, sent_at = ?, sent_run_id = ?, "
                "seconds = seconds + ? WHERE id = ?",
                (http_status, imported, updated, ignored, deleted, _now(), run_id, seconds,
                 batch.id),
            )  # fmt: skip
            c.executemany(
                "INSERT INTO conflicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(batch.id, run_id, k.idx, k.store, k.item, k.indicator, k.origin, k.code,
                  k.message) for k in conflicts],
            )  # fmt: skip
            _record_cells(c, batch, run_id, refused)

    def add_withheld(self, run_id: int, rows: Sequence[WithheldRow]) -> None:
        """Values a run did not send because DHIS2 would refuse them (the admission stage)."""
        with self._tx() as c:
            c.executemany(
                "INSERT INTO withheld VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, w.store, w.item, w.indicator, w.origin, w.code, w.message, w.rule,
                  w.key.data_element, w.key.period, w.key.org_unit, w.key.coc) for w in rows],
            )  # fmt: skip

    def conflicts(self, run_id: int) -> list[ConflictRow]:
        """What DHIS2 refused in the run, after what the run withheld (batch ``WITHHELD``)."""
        rows = self._conn.execute(
            "SELECT ?, run_id, NULL, store, item, indicator, origin, code, message "
            "FROM withheld WHERE run_id = ? ORDER BY rowid",
            (WITHHELD, run_id),
        ).fetchall()
        rows += self._conn.execute(
            "SELECT batch_id, run_id, idx, store, item, indicator, origin, code, message "
            "FROM conflicts WHERE run_id = ? ORDER BY batch_id, idx",
            (run_id,),
        ).fetchall()
        return [ConflictRow(*r) for r in rows]

    # ---- cells -----------------------------------------------------------------------------

    def cells(
        self, plan_name: str, periods: Iterable[str] | None = None
    ) -> dict[CellKey, CellRecord]:
        """The last accepted value per cell for a plan (optionally only some periods)."""
        sql = (
            "SELECT data_element, period, org_unit, coc, value, step_id, store, item, run_id "
            "FROM cells WHERE plan_name = ?"
        )
        args: list[Any] = [plan_name]
        if periods is not None:
            plist = sorted(set(periods))
            if not plist:
                return {}
            sql += f" AND period IN ({','.join('?' * len(plist))})"
            args += plist
        out: dict[CellKey, CellRecord] = {}
        for r in self._conn.execute(sql, args):
            key = CellKey(r[0], r[1], r[2], r[3])
            out[key] = CellRecord(key, r[4], r[5], r[6], r[7], r[8])
        return out

    # ---- the cells a run produces (temporary, so memory stays bounded by the batch size) ---

    def seen_begin(self) -> None:
        self._conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS seen (de TEXT, period TEXT, ou TEXT, coc TEXT, "
            "PRIMARY KEY (de, period, ou, coc)) WITHOUT ROWID"
        )
        self._conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS probe (de TEXT, period TEXT, ou TEXT, coc TEXT)"
        )
        self._conn.execute("DELETE FROM temp.seen")

    def seen_end(self) -> None:
        self._conn.execute("DROP TABLE IF EXISTS temp.seen")
        self._conn.execute("DROP TABLE IF EXISTS temp.probe")

    def seen_add(self, keys: Sequence[CellKey]) -> CellKey | None:
        """Remember produced cells; returns a cell produced twice (a bug to refuse), else None."""
        with self._tx() as c:
            for k in keys:
                try:
                    c.execute(
                        "INSERT INTO temp.seen VALUES (?, ?, ?, ?)",
                        (k.data_element, k.period, k.org_unit, k.coc),
                    )
                except sqlite3.IntegrityError:
                    return k
        return None

    def cells_for(self, plan_name: str, keys: Sequence[CellKey]) -> dict[CellKey, CellRecord]:
        """The journal's last accepted values for the given cells."""
        with self._tx() as c:
            c.execute("DELETE FROM temp.probe")
            c.executemany(
                "INSERT INTO temp.probe VALUES (?, ?, ?, ?)",
                [(k.data_element, k.period, k.org_unit, k.coc) for k in keys],
            )
            rows = c.execute(
                "SELECT c.data_element, c.period, c.org_unit, c.coc, c.value, c.step_id, "
                "c.store, c.item, c.run_id FROM temp.probe p JOIN cells c ON c.plan_name = ? "
                "AND c.data_element = p.de AND c.period = p.period AND c.org_unit = p.ou "
                "AND c.coc = p.coc",
                (plan_name,),
            ).fetchall()
        out: dict[CellKey, CellRecord] = {}
        for r in rows:
            key = CellKey(r[0], r[1], r[2], r[3])
            out[key] = CellRecord(key, r[4], r[5], r[6], r[7], r[8])
        return out

    def vanished(
        self, plan_name: str, pairs: Iterable[tuple[str, str]], periods: Sequence[str]
    ) -> list[CellRecord]:
        """Cells pushed before for a (step, period) of this run that the run did not produce."""
        wanted = set(pairs)
        if not periods:
            return []
        rows = self._conn.execute(
            "SELECT data_element, period, org_unit, coc, value, step_id, store, item, run_id "
            f"FROM cells c WHERE plan_name = ? AND period IN ({','.join('?' * len(periods))}) "
            "AND NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.de = c.data_element AND "
            "s.period = c.period AND s.ou = c.org_unit AND s.coc = c.coc) "
            "ORDER BY period, org_unit, data_element, coc",
            (plan_name, *periods),
        ).fetchall()
        out = []
        for r in rows:
            if (r[5], r[1]) in wanted:
                key = CellKey(r[0], r[1], r[2], r[3])
                out.append(CellRecord(key, r[4], r[5], r[6], r[7], r[8]))
        return out

    def prune(self, before: datetime) -> int:
        """Empty the payloads of batches DHIS2 accepted before ``before`` (rows, digests, counts
        and conflicts stay); pending and failed batches are never touched. Returns how many."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE batches SET payload = '[]' WHERE status = 'sent' AND sent_at < ? "
                "AND payload != '[]'",
                (_iso(before),),
            )
            n = cur.rowcount
        self._conn.execute("VACUUM")
        return n

    # ---- inspection ------------------------------------------------------------------------

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table (for audits such as the canary-secret test)."""
        names = [
            r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {n: self._conn.execute(f'SELECT * FROM "{n}"').fetchall() for n in names}


def _record_cells(c: sqlite3.Connection, batch: BatchRow, run_id: int, refused: set[int]) -> None:
    """The cells DHIS2 now holds after an accepted batch: upserted, or forgotten (DELETE)."""
    now = _now()
    for i, v in enumerate(batch.payload):
        if i in refused:
            continue
        key = (batch.plan_name, v["dataElement"], v["period"], v["orgUnit"],
               v.get("categoryOptionCombo") or "")  # fmt: skip
        if batch.strategy == "DELETE":
            c.execute(
                "DELETE FROM cells WHERE plan_name = ? AND data_element = ? AND "
                "period = ? AND org_unit = ? AND coc = ?",
                key,
            )
        else:
            c.execute(
                "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, v["value"], v.get("step", ""), v.get("store", ""), v.get("item", ""),
                 run_id, now),
            )  # fmt: skip
