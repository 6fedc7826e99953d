"""The journal: a SQLite state database of runs, batches, outcomes, due slots and confirmed cells,
every record keyed by the target (server, data set, user) it was written for.

It answers "what did we send, where, when, and what did DHIS2 prove it holds?" and makes pushes
crash-safe: a batch row is committed *before* its HTTP request, so a killed process leaves it
``pending`` and the next run resends it (DHIS2's import is an upsert, so resending is safe).
Nothing secret is ever stored: URLs lose their userinfo and payloads hold only data values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from dhispatch.runtime.journal.alerts import AlertsMixin
from dhispatch.runtime.journal.cells import CellsMixin
from dhispatch.runtime.journal.cells import OutboxMixin
from dhispatch.runtime.journal.lock import RunnerLock
from dhispatch.runtime.journal.names import Names
from dhispatch.runtime.journal.payload import unpack
from dhispatch.runtime.journal.queue import QueueMixin
from dhispatch.runtime.journal.records import LEGACY_TARGET
from dhispatch.runtime.journal.records import WITHHELD
from dhispatch.runtime.journal.records import CellKey
from dhispatch.runtime.journal.records import ConflictRow
from dhispatch.runtime.journal.records import ConnectionRecord
from dhispatch.runtime.journal.records import RunRow
from dhispatch.runtime.journal.records import TargetKey
from dhispatch.runtime.journal.records import WithheldRow
from dhispatch.runtime.journal.records import iso
from dhispatch.runtime.journal.records import now
from dhispatch.runtime.journal.records import parse_time
from dhispatch.runtime.journal.records import strip_userinfo
from dhispatch.runtime.journal.registrations import RegistrationsMixin
from dhispatch.runtime.journal.store import Store
from dhispatch.runtime.journal.store import open_store

_SCOPE = (
    "SELECT s.id FROM scopes s JOIN names n ON n.id = s.plan WHERE n.name = ? AND s.target_id = ?"
)
_RUN_COLUMNS = (
    "id, plan_name, spec_sha, trigger, started_at, finished_at, status, summary, target_id"
)


class Journal(QueueMixin, CellsMixin, OutboxMixin, RegistrationsMixin, AlertsMixin):
    """The open state database. ``Journal.open(path)`` (``readonly=True`` for commands that
    only look), as a context manager."""

    def __init__(self, path: Path, store: Store, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._db = store
        self._names = Names()
        self._lock = RunnerLock(path)

    # ---- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> Journal:
        """Open (creating parent folders and schema, or upgrading an older schema, unless
        ``readonly``) a checked journal."""
        p = Path(path)
        return cls(p, open_store(p, readonly=readonly), readonly=readonly)

    def close(self) -> None:
        self.release_lock()
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- the runner lock -------------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        return self._lock.path

    def acquire_lock(self) -> None:
        """Take the one-runner-at-a-time lock, or raise JournalError naming the holder."""
        self._lock.acquire()

    def release_lock(self) -> None:
        self._lock.release()

    # ---- targets ---------------------------------------------------------------------------

    def target_id(self, key: TargetKey, *, create: bool = True) -> int | None:
        """The id of a target (created when new, unless ``create`` is False: then None)."""
        args = (key.url, key.data_set, key.user)
        found = self._db.one(
            "SELECT id FROM targets WHERE url = ? AND data_set = ? AND user = ?", args
        )
        if found is not None or not create:
            return None if found is None else int(found[0])
        with self._db.tx() as db:
            cur = db.run(
                "INSERT INTO targets(url, data_set, user, created_at) VALUES (?, ?, ?, ?)",
                (*args, now()),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def targets(self) -> dict[int, TargetKey]:
        rows = self._db.rows("SELECT id, url, data_set, user FROM targets ORDER BY id")
        return {int(r[0]): TargetKey(r[1], r[2], r[3]) for r in rows}

    def legacy_claimable(self, plan_name: str, spec_sha: str, data_set: str, url: str) -> bool:
        """Whether the schema-1 history of ``plan_name`` (which never recorded a server) was
        written for this target: a schema-1 run of the same spec text (SHA-256), its batches
        for this data set, and — when test-connection ever ran — this server among those it
        reached. A copy of the spec aimed elsewhere differs in its text, so it starts afresh."""
        same_spec = self._db.one(
            "SELECT 1 FROM runs WHERE plan_name = ? AND target_id = 0 AND spec_sha = ?",
            (plan_name, spec_sha),
        )
        if same_spec is None:
            return False
        other_set = self._db.one(
            "SELECT 1 FROM batches WHERE plan_name = ? AND target_id = 0 AND data_set != ?",
            (plan_name, data_set),
        )
        urls = {r[0].rstrip("/") for r in self._db.rows("SELECT url FROM connections")}
        return other_set is None and (not urls or strip_userinfo(url).rstrip("/") in urls)

    def claim_legacy(self, plan_name: str, target_id: int) -> int:
        """Give ``plan_name``'s schema-1 rows to ``target_id``; the number of runs claimed."""
        with self._db.tx() as db:
            count = db.run(
                "UPDATE runs SET target_id = ? WHERE plan_name = ? AND target_id = 0",
                (target_id, plan_name),
            ).rowcount
            for table in ("batches", "slots"):
                db.run(
                    f"UPDATE {table} SET target_id = ? WHERE plan_name = ? AND target_id = 0",
                    (target_id, plan_name),
                )
            # a (plan, target) number never changes (``Names`` remembers them): the cells move
            # to the pair's number
            db.run(
                "INSERT OR IGNORE INTO scopes(plan, target_id) SELECT plan, ? FROM scopes "
                "WHERE target_id = 0 AND plan = (SELECT id FROM names WHERE name = ?)",
                (target_id, plan_name),
            )
            db.run(
                f"UPDATE OR REPLACE cells SET scope = ({_SCOPE}) WHERE scope = ({_SCOPE})",
                (plan_name, target_id, plan_name, 0),
            )
        return int(count)

    # ---- connections -----------------------------------------------------------------------

    def record_connection(self, url: str, version: str, user: str, at: datetime) -> None:
        """Store a successful connection (test-connection, push) under the credential-free URL."""
        with self._db.tx() as db:
            db.run(
                "INSERT INTO connections(url, version, user, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET version=excluded.version, user=excluded.user, "
                "at=excluded.at",
                (strip_userinfo(url), version, user, iso(at)),
            )

    def last_connection(self, url: str) -> ConnectionRecord | None:
        row = self._db.one(
            "SELECT url, version, user, at FROM connections WHERE url = ?", (strip_userinfo(url),)
        )
        if row is None:
            return None
        return ConnectionRecord(row[0], row[1], row[2], parse_time(row[3]))

    # ---- runs ------------------------------------------------------------------------------

    def start_run(
        self, plan_name: str, spec_sha: str, trigger: str, target_id: int = LEGACY_TARGET
    ) -> int:
        with self._db.tx() as db:
            cur = db.run(
                "INSERT INTO runs(plan_name, spec_sha, trigger, started_at, target_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (plan_name, spec_sha, trigger, now(), target_id),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def close_dead_runs(self) -> int:
        """Runs still ``running`` when a runner takes the lock were killed (no runner holds the
        lock, so none is running): record them as ``killed``. How many."""
        with self._db.tx() as db:
            cur = db.run(
                "UPDATE runs SET status = 'killed', finished_at = ? WHERE status = 'running'",
                (now(),),
            )
            return int(cur.rowcount)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self._db.tx() as db:
            db.run(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (now(), status, json.dumps(summary, sort_keys=True), run_id),
            )

    def runs(self, limit: int | None = None, targets: Iterable[int] | None = None) -> list[RunRow]:
        """The newest runs first (only those of ``targets``, when given)."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        args: tuple[Any, ...] = ()
        if targets is not None:
            ids = tuple(targets)
            sql += f" WHERE target_id IN ({', '.join('?' * len(ids))})" if ids else " WHERE 0"
            args = ids
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args = (*args, limit)
        return [_run(r) for r in self._db.rows(sql, args)]

    def run(self, run_id: int) -> RunRow | None:
        row = self._db.one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    # ---- slots -----------------------------------------------------------------------------

    def complete_slot(
        self,
        plan_name: str,
        step_id: str,
        period: str,
        due: datetime,
        reference: datetime,
        run_id: int,
        target_id: int = LEGACY_TARGET,
    ) -> None:
        with self._db.tx() as db:
            db.run(
                "INSERT OR REPLACE INTO slots(plan_name, target_id, step_id, period, due, "
                "reference, run_id, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (plan_name, target_id, step_id, period, iso(due), iso(reference), run_id, now()),
            )

    def last_completed_due(
        self,
        plan_name: str,
        step_id: str,
        target_id: int = LEGACY_TARGET,
        before: datetime | None = None,
    ) -> datetime | None:
        """The latest due instant of a completed slot — not after ``before``: a slot completed
        "in the future" (a clock that was wrong) must not hide the slots due since."""
        sql = "SELECT max(due) FROM slots WHERE plan_name = ? AND step_id = ? AND target_id = ?"
        args: list[Any] = [plan_name, step_id, target_id]
        if before is not None:
            sql += " AND due <= ?"
            args.append(iso(before))
        row = self._db.one(sql, args)
        return None if row is None or row[0] is None else parse_time(row[0])

    def completed_dues(
        self, plan_name: str, step_id: str, target_id: int = LEGACY_TARGET
    ) -> set[datetime]:
        """The due instants of a step's completed slots."""
        rows = self._db.rows(
            "SELECT due FROM slots WHERE plan_name = ? AND step_id = ? AND target_id = ?",
            (plan_name, step_id, target_id),
        )
        return {parse_time(r[0]) for r in rows}

    def forget_slots_after(self, plan_name: str, target_id: int, moment: datetime) -> int:
        """Forget slots recorded as completed although due after ``moment`` (now): only a clock
        that was fast can have completed them, with values DHIS2 refused as future. How many."""
        with self._db.tx() as db:
            cur = db.run(
                "DELETE FROM slots WHERE plan_name = ? AND target_id = ? AND due > ?",
                (plan_name, target_id, iso(moment)),
            )
            return int(cur.rowcount)

    def slots(
        self, plan_name: str | None = None, target_id: int | None = None
    ) -> list[dict[str, Any]]:
        cols = ("plan_name", "step_id", "period", "due", "reference", "run_id", "completed_at")
        sql = f"SELECT {', '.join(cols)} FROM slots WHERE 1 = 1"
        args: list[Any] = []
        if plan_name is not None:
            sql += " AND plan_name = ?"
            args.append(plan_name)
        if target_id is not None:
            sql += " AND target_id = ?"
            args.append(target_id)
        rows = self._db.rows(sql + " ORDER BY due, step_id", args)
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # ---- conflicts -------------------------------------------------------------------------

    def add_withheld(self, run_id: int, rows: Sequence[WithheldRow]) -> None:
        """Values a run did not send because DHIS2 would refuse them (the admission stage)."""
        with self._db.tx() as db:
            db.many(
                "INSERT INTO withheld VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, w.store, w.item, w.indicator, w.origin, w.code, w.message, w.rule,
                  w.key.data_element, w.key.period, w.key.org_unit, w.key.coc, w.key.aoc)
                 for w in rows],
            )  # fmt: skip

    def withheld(self, run_id: int) -> list[WithheldRow]:
        """The values a run withheld, with their cells (the console's coverage grid)."""
        rows = self._db.rows(
            "SELECT data_element, period, org_unit, coc, aoc, rule, code, message, store, item, "
            "indicator, origin FROM withheld WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        )
        return [WithheldRow(CellKey(*r[:5]), *r[5:]) for r in rows]

    def conflicts(self, run_id: int) -> list[ConflictRow]:
        """What DHIS2 refused in the run, after what the run withheld (batch ``WITHHELD``)."""
        rows = self._db.rows(
            "SELECT ?, run_id, NULL, store, item, indicator, origin, code, message "
            "FROM withheld WHERE run_id = ? ORDER BY rowid",
            (WITHHELD, run_id),
        )
        rows += self._db.rows(
            "SELECT batch_id, run_id, idx, store, item, indicator, origin, code, message "
            "FROM conflicts WHERE run_id = ? ORDER BY batch_id, idx",
            (run_id,),
        )
        return [ConflictRow(*r) for r in rows]

    # ---- inspection ------------------------------------------------------------------------

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table and view (for audits such as the canary-secret test), each
        packed payload as its JSON document."""
        names = [r[0] for r in self._db.rows(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]  # fmt: skip
        found = {n: self._db.rows(f'SELECT * FROM "{n}"') for n in names}
        found["payloads"] = [
            tuple(json.dumps(unpack(v)) if isinstance(v, bytes) else v for v in row)
            for row in found.get("payloads", [])
        ]
        return found

    def schema_version(self) -> int:
        row = self._db.one("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row[0]) if row else 0


def _run(r: Iterable[Any]) -> RunRow:
    (id_, plan, sha, trigger, started, finished, status, summary, target) = tuple(r)
    return RunRow(
        id=id_, plan_name=plan, spec_sha=sha, trigger=trigger, started_at=parse_time(started),
        finished_at=None if finished is None else parse_time(finished), status=status,
        summary=json.loads(summary), target_id=target,
    )  # fmt: skip
