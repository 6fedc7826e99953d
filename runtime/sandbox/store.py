"""Durable data values in SQLite, keyed like DHIS2's datavalue table by the 5-tuple."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

Key = tuple[str, str, str, str, str]  # dataElement, period, orgUnit, categoryOptionCombo, AOC

# The key is DHIS2's 5-tuple; its index leads with period and org unit because pushes write
# one period, batched by org unit: a batch then lands on a few neighbouring index pages however
# many values are stored, instead of one page per data element (ingest stays flat).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS datavalue (
    dataelement TEXT NOT NULL, period TEXT NOT NULL, orgunit TEXT NOT NULL,
    categoryoptioncombo TEXT NOT NULL, attributeoptioncombo TEXT NOT NULL,
    value TEXT, comment TEXT, followup INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0, storedby TEXT, created TEXT NOT NULL,
    lastupdated TEXT NOT NULL,
    PRIMARY KEY (period, orgunit, dataelement, categoryoptioncombo, attributeoptioncombo)
)
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One stored value (soft-deleted rows are kept, as DHIS2 does)."""

    key: Key
    value: str | None
    comment: str | None
    followup: bool
    deleted: bool
    stored_by: str | None
    created: str
    last_updated: str


class ValueStore:
    """A SQLite file shared by the server thread and the test/CLI thread (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def get(self, key: Key) -> Row | None:
        with self._lock:
            cur = self._conn.execute(
                "SELECT * FROM datavalue WHERE dataelement=? AND period=? AND orgunit=?"
                " AND categoryoptioncombo=? AND attributeoptioncombo=?",
                key,
            )
            found = cur.fetchone()
        return _row(found) if found else None

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Row]:
        """The stored rows of these keys, one primary-key probe per key.

        The join is driven from the VALUES list (``CROSS JOIN`` fixes SQLite's loop order): a
        row-value ``IN (VALUES …)`` is planned as a scan of the whole table, so its cost grew
        with every value stored.
        """
        wanted = sorted(set(keys))
        out: dict[Key, Row] = {}
        chunk = 400  # 5 parameters per key, well under SQLite's variable limit
        with self._lock:
            for start in range(0, len(wanted), chunk):
                part = wanted[start : start + chunk]
                marks = ",".join(["(?,?,?,?,?)"] * len(part))
                rows = self._conn.execute(
                    f"WITH k(de, pe, ou, coc, aoc) AS (VALUES {marks})"
                    " SELECT d.* FROM k CROSS JOIN datavalue d ON d.dataelement = k.de"
                    " AND d.period = k.pe AND d.orgunit = k.ou"
                    " AND d.categoryoptioncombo = k.coc AND d.attributeoptioncombo = k.aoc",
                    [v for key in part for v in key],
                ).fetchall()
                for raw in rows:
                    row = _row(raw)
                    out[row.key] = row
        return out

    def put_many(self, rows: Iterable[Row]) -> None:
        """Upsert rows in one transaction (an import is all written or not at all)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO datavalue VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT"
                    " (dataelement, period, orgunit, categoryoptioncombo, attributeoptioncombo)"
                    " DO UPDATE SET value=excluded.value, comment=excluded.comment,"
                    " followup=excluded.followup, deleted=excluded.deleted,"
                    " storedby=excluded.storedby, lastupdated=excluded.lastupdated",
                    [
                        (
                            *r.key,
                            r.value,
                            r.comment,
                            int(r.followup),
                            int(r.deleted),
                            r.stored_by,
                            r.created,
                            r.last_updated,
                        )
                        for r in rows
                    ],
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def all(self, include_deleted: bool = False) -> list[Row]:
        sql = "SELECT * FROM datavalue"
        if not include_deleted:
            sql += " WHERE deleted = 0"
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY 1, 2, 3, 4, 5").fetchall()
        return [_row(r) for r in rows]

    def count(self) -> int:
        """Live (not soft-deleted) values."""
        with self._lock:
            return int(
                self._conn.execute("SELECT count(*) FROM datavalue WHERE deleted = 0").fetchone()[0]
            )

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM datavalue")


def _row(raw: tuple[object, ...]) -> Row:
    return Row(
        key=(str(raw[0]), str(raw[1]), str(raw[2]), str(raw[3]), str(raw[4])),
        value=None if raw[5] is None else str(raw[5]),
        comment=None if raw[6] is None else str(raw[6]),
        followup=bool(raw[7]),
        deleted=bool(raw[8]),
        stored_by=None if raw[9] is None else str(raw[9]),
        created=str(raw[10]),
        last_updated=str(raw[11]),
    )
