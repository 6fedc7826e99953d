"""A read-only connection to an open mSupply database (SQLite file or PostgreSQL URL).

One code path for both back-ends through SQLAlchemy Core ``text()`` statements; the only dialect
differences the callers see are the parameter forms of timestamps and dates (:meth:`Database.ts`,
:meth:`Database.day`), the epoch-seconds expression and the layout facts of ``caps`` (read once,
when the connection opens).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Self
from urllib.parse import quote

from dhispatch.runtime.sources.capabilities import Capabilities
from dhispatch.runtime.sources.capabilities import read_capabilities
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import redact
from dhispatch.runtime.sources.model import split_credentials
from dhispatch.runtime.sources.pg_session import session_options
from dhispatch.runtime.sources.pg_session import timeout_message

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine import Engine


class Database:
    """An open, read-only open mSupply database. Use as a context manager or call :meth:`close`."""

    dialect: str
    caps: Capabilities

    def __init__(self, engine: Engine, dialect: str, label: str) -> None:
        self._engine = engine
        self.dialect = dialect
        self.label = label
        try:
            self._conn: Connection = engine.connect()
        except Exception as exc:  # noqa: BLE001 - driver errors become one clear line
            engine.dispose()
            raise SourceError(f"cannot open stock database {label}: {_first_line(exc)}") from None
        try:
            self.caps = read_capabilities(self.rows, dialect, label)
        except SourceError as exc:
            self.close()
            reason = str(exc)
            if " failed: " in reason:
                reason = f"cannot read stock database {label}: {reason.rpartition(' failed: ')[2]}"
            raise SourceError(reason) from None
        finally:
            self.release()

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open_sqlite(cls, path: str) -> Self:
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
    def open_postgres(cls, url: str) -> Self:
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

    def setting(self, name: str, value: str) -> None:
        """A PostgreSQL setting for the current read transaction only (``set_config`` local)."""
        self.rows("SELECT set_config(:name, :value, true)", {"name": name, "value": value})

    def columns(self, table: str) -> frozenset[str]:
        """The columns of ``table`` that dhispatch reads about (probed once, at open)."""
        return self.caps.columns.get(table, frozenset())

    def has_column(self, table: str, column: str) -> bool:
        return self.caps.has(table, column)

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

    def truth(self, expr: str) -> str:
        """``expr`` (a boolean column) as a condition: 0/1 integers on SQLite."""
        return f"({expr} <> 0)" if self.dialect == "sqlite" else f"({expr})"

    def epoch_sql(self, expr: str) -> str:
        """Whole seconds since 1970 of a naive-UTC timestamp expression (truncated)."""
        if self.dialect == "sqlite":
            return f"CAST(strftime('%s', {expr}) AS INTEGER)"
        return f"CAST(floor(extract(epoch FROM {expr})) AS BIGINT)"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(text[0] if text else type(exc).__name__)
