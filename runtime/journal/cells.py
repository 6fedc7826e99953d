"""The journal's view of DHIS2: the last confirmed value per cell of a plan and target, and the
temporary tables a run diffs against (cells produced, cells waiting in due or parked batches),
kept in SQLite so that memory stays bounded by the batch size."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

from dhispatch.runtime.journal.payload import Packed
from dhispatch.runtime.journal.payload import unpack
from dhispatch.runtime.journal.records import LEGACY_TARGET
from dhispatch.runtime.journal.records import CellKey
from dhispatch.runtime.journal.records import CellRecord
from dhispatch.runtime.journal.records import cell_key
from dhispatch.runtime.journal.store import Store

_KEY = "data_element, period, org_unit, coc, aoc"
_RECORD = f"{_KEY}, value, step_id, store, item, run_id"
_TEMP_KEY = "de TEXT, period TEXT, ou TEXT, coc TEXT, aoc TEXT"
# the numbers of some names: filtering cells by them lets SQLite seek the key's period, where a
# filter on the view's period name made it read every period of the plan and target
_NUMBERS = "SELECT id FROM names WHERE name IN ({})"


def _record(r: Sequence[Any]) -> CellRecord:
    key = CellKey(r[0], r[1], r[2], r[3], r[4])
    return CellRecord(key, r[5], r[6], r[7], r[8], r[9])


def _key_args(k: CellKey) -> tuple[str, str, str, str, str]:
    return (k.data_element, k.period, k.org_unit, k.coc, k.aoc)


class CellsMixin:
    """Cell queries of a ``Journal`` (whose ``_db`` is the store)."""

    _db: Store

    def cells(
        self,
        plan_name: str,
        periods: Iterable[str] | None = None,
        target_id: int = LEGACY_TARGET,
    ) -> dict[CellKey, CellRecord]:
        """The last confirmed value per cell for a plan and target (optionally some periods)."""
        sql = f"SELECT {_RECORD} FROM cell_values WHERE plan_name = ? AND target_id = ?"
        args: list[Any] = [plan_name, target_id]
        if periods is not None:
            plist = sorted(set(periods))
            if not plist:
                return {}
            sql += f" AND period_id IN ({_NUMBERS.format(','.join('?' * len(plist)))})"
            args += plist
        return {(rec := _record(r)).key: rec for r in self._db.rows(sql, args)}

    # ---- the cells a run produces -----------------------------------------------------------

    def seen_begin(self) -> None:
        self._db.run(
            f"CREATE TEMP TABLE IF NOT EXISTS seen ({_TEMP_KEY}, "
            "PRIMARY KEY (de, period, ou, coc, aoc)) WITHOUT ROWID"
        )
        self._db.run(f"CREATE TEMP TABLE IF NOT EXISTS probe ({_TEMP_KEY})")
        self._db.run("DELETE FROM temp.seen")

    def seen_end(self) -> None:
        self._db.run("DROP TABLE IF EXISTS temp.seen")
        self._db.run("DROP TABLE IF EXISTS temp.probe")
        self._db.run("DROP TABLE IF EXISTS temp.queued")

    def seen_add(self, keys: Sequence[CellKey]) -> CellKey | None:
        """Remember produced cells, and probe for them (``probed_cells``, ``queued_for``);
        returns a cell produced twice (a bug to refuse), else None."""
        conn = self._db.conn
        with self._db.tx() as db:
            db.run("DELETE FROM temp.probe")
            db.many("INSERT INTO temp.probe VALUES (?, ?, ?, ?, ?)", [_key_args(k) for k in keys])
            # one statement for the chunk, from the probe (the keys cross into SQLite once);
            # only a chunk with a double is undone and searched, to name the double
            conn.execute("SAVEPOINT chunk")
            try:
                conn.execute(
                    "INSERT INTO temp.seen SELECT de, period, ou, coc, aoc FROM temp.probe"
                )
            except sqlite3.IntegrityError:
                conn.execute("ROLLBACK TO chunk")
                conn.execute("RELEASE chunk")
                return self._double()
            conn.execute("RELEASE chunk")
        return None

    def _double(self) -> CellKey:
        """The probed cell produced before, or twice in the probe itself."""
        row = self._db.one(
            "SELECT de, period, ou, coc, aoc FROM temp.probe p WHERE EXISTS (SELECT 1 FROM "
            "temp.seen s WHERE s.de = p.de AND s.period = p.period AND s.ou = p.ou "
            "AND s.coc = p.coc AND s.aoc = p.aoc) ORDER BY rowid LIMIT 1"
        ) or self._db.one(
            "SELECT de, period, ou, coc, aoc FROM temp.probe GROUP BY de, period, ou, coc, aoc "
            "HAVING count(*) > 1 ORDER BY min(rowid) LIMIT 1"
        )
        assert row is not None, "an insert refused for a double names one"
        return CellKey(row[0], row[1], row[2], row[3], row[4])

    def probed_cells(
        self, plan_name: str, target_id: int = LEGACY_TARGET
    ) -> dict[CellKey, CellRecord]:
        """The journal's last confirmed values for the cells in the probe (``seen_add``)."""
        # CROSS JOIN keeps this order (SQLite has no statistics on the probe): each probed
        # cell's names, then its row by the whole key — never every cell of the plan
        rows = self._db.rows(
            "SELECT p.de, p.period, p.ou, p.coc, p.aoc, CAST(c.value AS TEXT), st.name, "
            "so.name, it.name, coalesce(b.run_id, 0) FROM temp.probe p "
            "CROSS JOIN names pe ON pe.name = p.period "
            "CROSS JOIN names ou ON ou.name = p.ou CROSS JOIN names de ON de.name = p.de "
            "CROSS JOIN names co ON co.name = p.coc CROSS JOIN names ao ON ao.name = p.aoc "
            "CROSS JOIN cells c ON c.scope = (SELECT s.id FROM scopes s JOIN names n ON "
            "n.id = s.plan WHERE n.name = ? AND s.target_id = ?) "
            "AND c.period = pe.id AND c.org_unit = ou.id "
            "AND c.data_element = de.id AND c.coc = co.id AND c.aoc = ao.id "
            "JOIN names st ON st.id = c.step JOIN names so ON so.id = c.store "
            "JOIN names it ON it.id = c.item LEFT JOIN batches b ON b.id = c.batch_id",
            (plan_name, target_id),
        )
        return {(rec := _record(r)).key: rec for r in rows}

    def vanished(
        self,
        plan_name: str,
        pairs: Iterable[tuple[str, str]],
        periods: Sequence[str],
        target_id: int = LEGACY_TARGET,
    ) -> list[CellRecord]:
        """Cells confirmed before for a (step, period) of this run that the run did not produce."""
        wanted = set(pairs)
        if not periods:
            return []
        rows = self._db.rows(
            f"SELECT {_RECORD} FROM cell_values c WHERE plan_name = ? AND target_id = ? "
            f"AND period_id IN ({_NUMBERS.format(','.join('?' * len(periods)))}) "
            "AND NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.de = c.data_element AND "
            "s.period = c.period AND s.ou = c.org_unit AND s.coc = c.coc AND s.aoc = c.aoc) "
            "ORDER BY period, org_unit, data_element, coc, aoc",
            (plan_name, target_id, *periods),
        )
        return [rec for r in rows if ((rec := _record(r)).step_id, rec.key.period) in wanted]

    def held_values(
        self,
        plan_name: str,
        pairs: Iterable[tuple[str, str]],
        periods: Sequence[str],
        target_id: int = LEGACY_TARGET,
    ) -> int:
        """How many non-zero values the journal says DHIS2 holds for these (step, period)s."""
        wanted = set(pairs)
        if not periods:
            return 0
        rows = self._db.rows(
            "SELECT step_id, period, count(*) FROM cell_values WHERE plan_name = ? "
            "AND target_id = ? "
            f"AND period_id IN ({_NUMBERS.format(','.join('?' * len(periods)))}) "
            "AND value NOT IN ('0', '0.0') "
            "GROUP BY step_id, period",
            (plan_name, target_id, *periods),
        )
        return sum(int(r[2]) for r in rows if (r[0], r[1]) in wanted)

    # ---- values waiting in due or parked batches ----------------------------------------------

    def queued_begin(self, plan_name: str, target_id: int = LEGACY_TARGET) -> int:
        """Load the values of this plan's due and parked batches (the newest batch's value per
        cell wins), so the diff does not send a value again that is already on its way."""
        self._db.run(
            f"CREATE TEMP TABLE IF NOT EXISTS queued ({_TEMP_KEY}, value TEXT, status TEXT, "
            "PRIMARY KEY (de, period, ou, coc, aoc)) WITHOUT ROWID"
        )
        with self._db.tx() as db:
            db.run("DELETE FROM temp.queued")
            # one batch in memory at a time; the newest batch's value per cell wins
            for blob, status in db.rows(
                "SELECT blob, status FROM batches LEFT JOIN payloads ON batch_id = id "
                "WHERE plan_name = ? AND target_id = ? "
                "AND strategy != 'DELETE' AND status IN ('pending', 'failed', 'parked') "
                "ORDER BY coalesce(origin_id, id), id",
                (plan_name, target_id),
            ):
                db.many(
                    "INSERT OR REPLACE INTO temp.queued VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(*_key_args(cell_key(v)), v["value"], status) for v in unpack(blob)],
                )
            row = db.one("SELECT count(*) FROM temp.queued")
        return int(row[0]) if row else 0

    def queued_for(self, keys: Sequence[CellKey]) -> dict[CellKey, tuple[str, str]]:
        """(value, batch status) of the given cells waiting in due or parked batches; call
        after ``seen_add`` (which fills the probe with the same keys)."""
        rows = self._db.rows(
            "SELECT q.de, q.period, q.ou, q.coc, q.aoc, q.value, q.status FROM temp.probe p "
            "JOIN temp.queued q ON q.de = p.de AND q.period = p.period AND q.ou = p.ou "
            "AND q.coc = p.coc AND q.aoc = p.aoc"
        )
        return {CellKey(r[0], r[1], r[2], r[3], r[4]): (r[5], r[6]) for r in rows}


class OutboxMixin:
    """A run's batches staged in a temporary table between computing and sending, so the drop
    guard sees every change before anything is sent while memory stays bounded."""

    _db: Store

    def outbox_begin(self) -> None:
        self._db.run(
            "CREATE TEMP TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, strategy TEXT, "
            "payload BLOB, digest TEXT)"
        )
        self._db.run("DELETE FROM temp.outbox")

    def outbox_add(self, strategy: str, payload: list[dict[str, Any]]) -> None:
        """Stage a batch, packed as the journal will store it (``outbox_take`` hands the packed
        form on, so ``new_batch`` does not pack it again)."""
        packed = Packed.of(payload)
        self._db.run(
            "INSERT INTO temp.outbox(strategy, payload, digest) VALUES (?, ?, ?)",
            (strategy, packed.blob, packed.digest),
        )

    def outbox_take(self) -> tuple[str, list[dict[str, Any]], Packed] | None:
        """The oldest staged batch, removed from the outbox; None when it is empty."""
        row = self._db.one(
            "SELECT id, strategy, payload, digest FROM temp.outbox ORDER BY id LIMIT 1"
        )
        if row is None:
            return None
        self._db.run("DELETE FROM temp.outbox WHERE id = ?", (row[0],))
        blob = bytes(row[2])
        return str(row[1]), unpack(blob), Packed(blob, str(row[3]))

    def outbox_end(self) -> None:
        self._db.run("DROP TABLE IF EXISTS temp.outbox")
