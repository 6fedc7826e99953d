"""Opening the journal's SQLite file: created or upgraded in place for pushes, read-only (also on
read-only media, older versions upgraded in a memory copy) for ``log``, ``report`` and ``plan``;
its integrity checked first; every SQLite error named by its cause (``errors.explain``)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dhispatch.runtime.journal.errors import JournalError
from dhispatch.runtime.journal.errors import explain
from dhispatch.runtime.journal.schema import SCHEMA_VERSION
from dhispatch.runtime.journal.schema import create
from dhispatch.runtime.journal.schema import shrinkable
from dhispatch.runtime.journal.schema import upgrade
from dhispatch.runtime.journal.schema import version_of

QUICK_CHECK_LIMIT = 32 * 1024 * 1024  # bytes up to which every page is checked at open


class Store:
    """The journal's connection; every statement's SQLite error becomes a JournalError."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly

    def run(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise explain(exc, self.path, "write") from exc

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise explain(exc, self.path, "write") from exc

    def script(self, sql: str) -> None:
        """Statements run to completion outside a transaction (``PRAGMA incremental_vacuum``
        through ``execute`` frees one page a step; this steps it to the end)."""
        try:
            self.conn.executescript(sql)
        except sqlite3.Error as exc:
            raise explain(exc, self.path, "write") from exc

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise explain(exc, self.path, "read") from exc

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, args)
        return found[0] if found else None

    @contextlib.contextmanager
    def tx(self) -> Iterator[Store]:
        """One write transaction (``BEGIN IMMEDIATE``; a read-only journal: ``BEGIN``, for its
        temporary tables), rolled back on any exception."""
        self.run("BEGIN" if self.readonly else "BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise
        self.run("COMMIT")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()


def open_store(path: Path, *, readonly: bool = False) -> Store:
    """The journal at ``path``: checked, at the current schema (created if missing, unless
    ``readonly``, which refuses a path that does not exist instead of creating it)."""
    if readonly:
        return Store(_open_readonly(path), path, readonly=True)
    existed = path.exists() and path.stat().st_size > 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise explain(exc, path, "open") from exc
    try:
        if existed:
            check_integrity(conn, path)
        else:
            # pages freed by pruning go back to the file system; set before anything is written
            # (the WAL's header included), as afterwards only a VACUUM can (``shrinkable``)
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _to_current(conn, path, existed)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise explain(exc, path, "open") from exc
        raise
    return Store(conn, path)


def _to_current(conn: sqlite3.Connection, path: Path, existed: bool) -> None:
    version = version_of(conn)
    if version is None:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if existed and tables:
            raise JournalError(f"{path} is not a dhispatch journal (no schema version)")
        create(conn)
    else:
        _refuse_newer(version, path)
        upgrade(conn)
    if not shrinkable(conn):
        # pages a step freed (the tables it rebuilt) go back to the file system now, not at
        # the next prune
        conn.executescript("PRAGMA incremental_vacuum;")


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"the journal {path} has schema version {version}, written by a newer dhispatch; "
            f"this one reads up to {SCHEMA_VERSION} (upgrade dhispatch)",
            "newer schema",
        )


def _open_readonly(path: Path) -> sqlite3.Connection:
    """Read-only: ``mode=ro``, else (read-only media, where SQLite cannot create the WAL's
    shared memory) ``immutable=1``; an older schema is upgraded in a memory copy."""
    if not path.is_file():
        raise JournalError(
            f"there is no journal at {path} (nothing was pushed with it; check --state)",
            "missing",
        )
    uri = "file:" + quote(str(path.resolve()))
    conn = None
    for flags in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(f"{uri}?{flags}", uri=True, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
            check_integrity(conn, path)
            version = version_of(conn)
            break
        except sqlite3.OperationalError as exc:
            if conn is not None:
                conn.close()
            conn = None
            if "unable to open" not in str(exc) and "readonly" not in str(exc).lower():
                raise explain(exc, path, "read") from exc
        except sqlite3.Error as exc:
            raise explain(exc, path, "read") from exc
    if conn is None:
        raise JournalError(f"cannot read the journal {path}", "unusable")
    if version is None:
        conn.close()
        raise JournalError(f"{path} is not a dhispatch journal (no schema version)")
    _refuse_newer(version, path)
    if version < SCHEMA_VERSION:
        conn = _upgraded_copy(conn)
    return conn


def _upgraded_copy(conn: sqlite3.Connection) -> sqlite3.Connection:
    """An older journal read without writing it: upgraded in memory."""
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.backup(memory)
    conn.close()
    upgrade(memory)
    return memory


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check`` (every page) on a journal up to ``QUICK_CHECK_LIMIT`` bytes; on a
    larger one a cheap check: the header, the schema and the newest rows of the big tables."""
    try:
        size = path.stat().st_size
        if size <= QUICK_CHECK_LIMIT:
            # one line: SQLite's own findings may span lines ("*** in database main ***\n…")
            found = [" ".join(str(row[0]).split())
                     for row in conn.execute("PRAGMA quick_check(5)").fetchall()]  # fmt: skip
            if found != ["ok"]:
                raise JournalError(
                    f"the journal {path} is corrupt (SQLite quick_check: {'; '.join(found)}): "
                    "restore it from a backup, or move it aside to start a new one (which "
                    "resends everything once)",
                    "corrupt",
                )
            return
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        for table in ("runs", "batches", "payloads", "cells"):
            found = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            if found is not None:
                # schema 3's cells are WITHOUT ROWID: any row of theirs
                newest = "" if "WITHOUT ROWID" in found[0].upper() else " ORDER BY rowid DESC"
                conn.execute(f"SELECT * FROM {table}{newest} LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
            raise
        raise explain(exc, path, "read") from exc
