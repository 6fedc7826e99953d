"""PostgreSQL sessions on the stock database: read-only, and never waiting for ever.

Every ``ALTER TABLE`` of an open mSupply upgrade holds an ACCESS EXCLUSIVE lock that any read
of that table waits behind; without a limit a push waited indefinitely, holding the runner lock,
so cron runs and ``serve`` stopped. Each session therefore starts with ``lock_timeout`` (10 s)
and ``statement_timeout`` (5 min). ``PGOPTIONS`` and the URL's own ``options`` parameter come
after them, so either overrides them (``…/omsupply?options=-c%20lock_timeout%3D60s``);
``default_transaction_read_only=on`` comes last, so nothing turns it off. A statement stopped by
either limit becomes a SourceError that says what happened and who holds the lock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

LOCK_TIMEOUT = "10s"
STATEMENT_TIMEOUT = "5min"
READ_ONLY = "-c default_transaction_read_only=on"
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"

# who holds an exclusive lock on a table of this database, other than this session
_HOLDERS = (
    "SELECT l.relation::regclass::text, l.pid, a.state, a.query FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock' "
    "AND l.pid <> pg_backend_pid() AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY l.pid"
)
_VERB = re.compile(r"\s*([A-Za-z]+(?:\s+(?:TABLE|INDEX|TYPE|VIEW|SEQUENCE))?)", re.IGNORECASE)


def session_options(url_options: str | None, environ: Mapping[str, str]) -> str:
    """The ``options`` a session starts with: our limits, then ``PGOPTIONS`` and the URL's
    ``options`` (later settings win), then read-only, which nothing may undo."""
    ours = f"-c lock_timeout={LOCK_TIMEOUT} -c statement_timeout={STATEMENT_TIMEOUT}"
    given = (environ.get("PGOPTIONS"), url_options)
    return " ".join(part for part in (ours, *given, READ_ONLY) if part)


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (wrapped by SQLAlchemy or not)."""
    state = getattr(getattr(exc, "orig", None) or exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def timeout_message(exc: BaseException, label: str, conn: Any) -> str | None:
    """A clear account of a statement PostgreSQL stopped at a limit, else None. ``conn`` is the
    SQLAlchemy connection, already rolled back, used to name the lock's holder."""
    state = sqlstate(exc)
    if state == LOCK_NOT_AVAILABLE:
        holders = _holders(conn)
        return (
            f"the stock database {label} is locked: {holders or 'another session holds a table'}"
            f", longer than lock_timeout ({_setting(conn, 'lock_timeout')}) allows; an open "
            "mSupply upgrade altering its tables does this. The run stopped: run it again when "
            "the upgrade is done (or raise lock_timeout in the database URL's options, see the "
            "README)"
        )
    if state == QUERY_CANCELED and "statement timeout" in str(exc):
        return (
            f"a query on the stock database {label} ran longer than statement_timeout "
            f"({_setting(conn, 'statement_timeout')}) allows; the run stopped (raise it in the "
            "database URL's options if the database is just slow, see the README)"
        )
    return None


def _setting(conn: Any, name: str) -> str:
    try:
        return str(conn.exec_driver_sql(f"SHOW {name}").scalar())
    except Exception:  # noqa: BLE001 - only an explanation is lost
        return "?"


def _holders(conn: Any) -> str:
    """Who holds the exclusive locks: "PID 4242 (ALTER TABLE, idle in transaction) holds
    invoice_line" — the statement's first words only (never its data)."""
    try:
        rows = conn.exec_driver_sql(_HOLDERS).fetchall()
        conn.rollback()
    except Exception:  # noqa: BLE001 - only an explanation is lost
        return ""
    found = []
    for table, pid, state, query in rows[:3]:
        verb = _VERB.match(query or "")
        what = ", ".join(x for x in ((verb.group(1).upper() if verb else None), state) if x)
        found.append(f"PID {pid}" + (f" ({what})" if what else "") + f" holds {table}")
    return "; ".join(found)
