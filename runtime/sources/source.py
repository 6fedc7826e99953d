"""The open mSupply adapter as the runtime uses it: open a database, read the scope of a plan.

The dependency runs one way: ``source`` → ``scope`` → ``connection`` → ``capabilities``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dhispatch.runtime.sources.connection import Database
from dhispatch.runtime.sources.model import Scope
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import redact
from dhispatch.runtime.sources.scope import build_scope

if TYPE_CHECKING:
    from dhispatch.runtime.plan import ScopeRules

# "host=… dbname=… password=…": libpq's keyword form (never a SQLite path we could open)
_KEYWORD_DSN = re.compile(
    r"(?i)\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options)\s*="
)


def open_source(database: str) -> Source:
    """Open ``database`` (SQLite path or ``postgresql://`` URL) read-only; check its layout."""
    if not database:
        raise SourceError("no stock database given")
    if _KEYWORD_DSN.match(database):
        raise SourceError(
            f"{redact(database)!r} is a libpq keyword string; give the stock database as a "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE URL (or a SQLite file path)"
        )
    if database.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return Source.open_postgres(database)
    if "://" in database:
        raise SourceError(
            f"unsupported database URL {redact(database)!r}: use a SQLite file path "
            "or a postgresql:// URL"
        )
    return Source.open_sqlite(database)


class Source(Database):
    """An open, read-only open mSupply database with the questions the runtime asks of it."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scope(self, rules: ScopeRules) -> Scope:
        """Stores and items selected by a plan's scope rules (filters AND-ed)."""
        try:
            return build_scope(self, rules)
        finally:
            self.release()
