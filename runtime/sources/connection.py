"""A read-only connection to an open mSupply database (SQLite file or PostgreSQL URL).

One code path for both back-ends through SQLAlchemy Core ``text()`` statements; the only dialect
differences the callers see are the parameter forms of timestamps and dates (:meth:`Source.ts`,
:meth:`Source.day`) and the epoch-seconds expression (:meth:`Source.epoch_sql`).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import quote

from dhispatch.runtime.sources.model import Scope
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import redact
from dhispatch.runtime.sources.model import split_credentials
from dhispatch.runtime.sources.pg_session import session_options
from dhispatch.runtime.sources.pg_session import timeout_message

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine import Engine

    from dhispatch.runtime.plan import ScopeRules

# "host=… dbname=… password=…": libpq's keyword form (never a SQLite path we could open)
_KEYWORD_DSN = re.compile(
    r"(?i)\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options)\s*="
)
REQUIRED_TABLES = (
    "item",
    "item_link",
    "store",
    "name_link",
    "name",
    "stock_line",
    "invoice",
    "invoice_line",
)


def open_source(database: str) -> Source:
    """Open ``database`` (SQLite path or ``postgresql://`` URL) read-only; check its tables."""
    if not database:
        raise SourceError("no stock database given")
    if _KEYWORD_DSN.match(database):
        raise SourceError(
            f"{redact(database)!r} is a libpq keyword string; give the stock database as a "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE URL (or a SQLite file path)"
        )
    if database.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return Source._open_postgres(database)
    if "://" in database:
        raise SourceError(
            f"unsupported database URL {redact(database)!r}: use a SQLite file path "
            "or a postgresql:// URL"
        )
    return Source._open_sqlite(database)


class Source:
    """An open, read-only open mSupply database. Use as a context manager or call :meth:`close`."""

    dialect: str

    def __init__(self, engine: Engine, dialect: str, label: str) -> None:
        self._engine = engine
        self.dialect = dialect
        self.label = label
        try:
            self._conn: Connection = engine.connect()
        except Exception as exc:  # noqa: BLE001 - driver errors become one clear line
            engine.dispose()
            raise SourceError(f"cannot open stock database {label}: {_first_line(exc)}") from None
        self._columns: dict[str, frozenset[str]] = {}
        try:
            missing = [t for t in REQUIRED_TABLES if not self.columns(t)]
        except SourceError as exc:
            self.close()
            reason = str(exc).rpartition(" failed: ")[2]
            raise SourceError(f"cannot read stock database {label}: {reason}") from None
        if missing:
            self.close()
            raise SourceError(
                f"{label} is not an open mSupply database: missing table(s) {', '.join(missing)}"
            )

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def _open_sqlite(cls, path: str) -> Source:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import StaticPool

        file = Path(path)
        if not file.is_file():
            raise SourceError(f"stock database {redact(path)} does not exist (or is not a file)")

        def connect() -> sqlite3.Connection:
            # mode=ro: SQLite itself refuses every write, whatever a query tries.
            uri = f"file:{quote(str(file.resolve()))}?mode=ro"
            return sqlite3.connect(uri, uri=True, check_same_thread=False)

        engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool)
        return cls(engine, "sqlite", path)

    @classmethod
    def _open_postgres(cls, url: str) -> Source:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        credentials = split_credentials(url)
        _, _, rest = credentials.url.partition("://")
        try:
            target = make_url(f"postgresql+psycopg://{rest}").set(
                username=credentials.user, password=credentials.password
            )
            given = target.query.get("options")
            options = session_options(
                " ".join(given) if isinstance(given, tuple) else given, os.environ
            )
            engine = create_engine(
                target.difference_update_query(["options"]),
                poolclass=NullPool,
                # one snapshot for all statements of a computation (balances, flows and day
                # buckets must see the same ledger); read-only transactions never conflict
                isolation_level="REPEATABLE READ",
                # read-only (the server refuses writes), and lock and statement time limits
                connect_args={"options": options},
            )
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"invalid database URL {redact(url)}: {_first_line(exc)}") from None
        return cls(engine, "postgresql", redact(url))

    def release(self) -> None:
        """End the current read transaction, so a long-lived source holds no old snapshot."""
        try:
            self._conn.rollback()
        except Exception:  # noqa: BLE001 - nothing was written; a dead session shows up next query
            pass

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            self._engine.dispose()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------
    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """All rows of one statement (for small results)."""
        return list(self.stream(sql, params))

    def stream(self, sql: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Rows of one statement, fetched in chunks (server-side cursor on PostgreSQL)."""
        from sqlalchemy import bindparam
        from sqlalchemy import text

        statement = text(sql)
        values = dict(params or {})
        expanding: list[Any] = [
            bindparam(k, expanding=True) for k, v in values.items() if isinstance(v, list)
        ]
        if expanding:
            statement = statement.bindparams(*expanding)
        try:
            result = self._conn.execute(
                statement, values, execution_options={"stream_results": True, "yield_per": 5000}
            )
            yield from result
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - never a traceback for a bad database
            self._conn.rollback()
            message = (
                timeout_message(exc, self.label, self._conn) if self.dialect != "sqlite" else None
            )
            self.release()
            raise SourceError(
                message or f"query on {self.label} failed: {redact(_first_line(exc))}"
            ) from None

    def columns(self, table: str) -> frozenset[str]:
        """The columns of ``table`` (empty when it does not exist); probed once, then cached."""
        if table not in self._columns:
            if self.dialect == "sqlite":
                found = {row[1] for row in self.rows(f'PRAGMA table_info("{table}")')}
            else:
                found = {
                    row[0]
                    for row in self.rows(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = :t AND table_schema = current_schema()",
                        {"t": table},
                    )
                }
            self._columns[table] = frozenset(found)
        return self._columns[table]

    @property
    def server_version(self) -> tuple[int, ...]:
        """The database engine's version (SQLite library or PostgreSQL server)."""
        if self.dialect == "sqlite":
            return sqlite3.sqlite_version_info
        info = self._engine.dialect.server_version_info or ()
        return tuple(int(part) for part in info if isinstance(part, int))

    def newest_transaction(self) -> datetime | None:
        """When the newest invoice (any transaction) was created, as naive UTC; None when
        there is none. A site that stopped syncing stops adding them."""
        epoch = self.epoch_sql("max(created_datetime)")
        try:
            found = self.rows(f"SELECT {epoch} FROM invoice")
        finally:
            self.release()
        if not found or found[0][0] is None:
            return None
        return datetime.fromtimestamp(int(found[0][0]), UTC).replace(tzinfo=None)

    def has_column(self, table: str, column: str) -> bool:
        return column in self.columns(table)

    # -- dialect helpers -------------------------------------------------------------------
    def ts(self, instant: datetime) -> Any:
        """A naive-UTC timestamp parameter, compared with ``<=``/``>`` against stored values.

        SQLite stores TEXT ``YYYY-MM-DD HH:MM:SS[.ffffff]``; we always send six fractional
        digits so that text order equals time order for ``stored <= param`` (a shorter stored
        value is a prefix of the same instant and sorts first).
        """
        if self.dialect == "sqlite":
            return instant.strftime("%Y-%m-%d %H:%M:%S.%f")
        return instant

    def day(self, value: date) -> Any:
        """A date parameter (TEXT ``YYYY-MM-DD`` on SQLite, ``date`` on PostgreSQL)."""
        return value.isoformat() if self.dialect == "sqlite" else value

    def epoch_sql(self, expr: str) -> str:
        """Whole seconds since 1970 of a naive-UTC timestamp expression (truncated)."""
        if self.dialect == "sqlite":
            return f"CAST(strftime('%s', {expr}) AS INTEGER)"
        return f"CAST(floor(extract(epoch FROM {expr})) AS BIGINT)"

    def scope(self, rules: ScopeRules) -> Scope:
        """Stores and items selected by a plan's scope rules (filters AND-ed)."""
        from dhispatch.runtime.sources.scope import build_scope

        try:
            return build_scope(self, rules)
        finally:
            self.release()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(text[0] if text else type(exc).__name__)
