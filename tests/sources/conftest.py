"""Source fixtures: real databases of open mSupply's layout, built from a test ledger."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dhispatch.runtime.sources.schema import CURRENT
from dhispatch.runtime.sources.schema import Version
from tests.sources.ledger import Ledger
from tests.sources.ledger import create_schema
from tests.sources.ledger import write
from tests.sources.ledger import write_sqlite

MakeDb = Callable[[Ledger, str, Version], str]


@pytest.fixture
def make_db(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeDb]:
    """``make_db(ledger, dialect, version)``: a fresh database of that layout holding the
    ledger (a SQLite file, or a new database on the session's PostgreSQL server)."""
    created: list[str] = []
    server = ""

    def make(ledger: Ledger, dialect: str, version: Version = CURRENT) -> str:
        nonlocal server
        if dialect == "sqlite":
            path = str(tmp_path / f"oms-{uuid.uuid4().hex[:8]}.sqlite")
            write_sqlite(path, ledger, version)
            return path
        server = server or request.getfixturevalue("postgres_server")
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        url = f"{server.rpartition('/')[0]}/{name}"
        with psycopg.connect(url) as conn:
            create_schema(conn, "postgresql", version)
            write(conn, "postgresql", ledger, version)
        return url

    yield make
    if created:
        with psycopg.connect(server, autocommit=True) as conn:
            for name in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
