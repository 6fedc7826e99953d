"""Check ``runtime/sources/schema.py`` against open mSupply's own DDL files (a developer's tool).

open mSupply's dumps are not part of this repository, so this is a script, run by hand whenever
``schema.py`` changes, with the folder of the upstream files::

    .venv/bin/python -m tests.sources.verify_schema UPSTREAM_DIR [SCHEMASPY_DIR]

``UPSTREAM_DIR`` holds ``sqlite_latest.sql`` and ``postgres_latest.sql`` (open mSupply's 2.15.0
dumps, ``server/repository/src/migrations/base_migrations/``) and optionally
``migrations_2_16_to_2_19.sql`` (the SQLite statements of 2.16–2.19 on these tables, see
reference/omsupply/README.md); ``SCHEMASPY_DIR`` optionally holds the per-release folders of
``open-msupply-database-schema/docs`` (``2.9.0/omsupply-database.public.xml`` …), which describe
real PostgreSQL databases of those releases. For every table dhispatch reads it compares columns
(type, NOT NULL, default, primary key), indexes and foreign keys between these tables, and prints
every difference; exit status 1 when there is one.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psycopg

from dhispatch.runtime.sources import schema
from tests.pgserver import PostgresServer

Layout = dict[
    str, dict[str, Any]
]  # table -> {"columns": {name: facts}, "indexes": set, "fks": set}


def _ours(version: schema.Version) -> set[str]:
    return {t.name for t in schema.tables(version)}


def sqlite_layout(conn: sqlite3.Connection, names: set[str]) -> Layout:
    out: Layout = {}
    for table in sorted(names):
        cols = {
            r[1]: (r[2].upper(), bool(r[3]), r[4], bool(r[5]))
            for r in conn.execute(f'PRAGMA table_info("{table}")')
        }
        if not cols:
            continue
        indexes = set()
        for _, name, *_rest in conn.execute(f'PRAGMA index_list("{table}")'):
            if name.startswith("sqlite_autoindex"):
                continue
            indexes |= {(name, r[2]) for r in conn.execute(f'PRAGMA index_info("{name}")')}
        fks = {
            (r[3], r[2])
            for r in conn.execute(f'PRAGMA foreign_key_list("{table}")')
            if r[2] in names
        }
        out[table] = {"columns": cols, "indexes": indexes, "fks": fks}
    return out


def postgres_layout(url: str, names: set[str]) -> Layout:
    out: Layout = {}
    with psycopg.connect(url) as conn:
        for table in sorted(names):
            rows = conn.execute(
                "SELECT column_name, CASE WHEN data_type = 'USER-DEFINED' THEN udt_name "
                "ELSE data_type END, is_nullable = 'NO', column_default FROM "
                "information_schema.columns WHERE table_schema = 'public' AND table_name = %s",
                (table,),
            ).fetchall()
            if not rows:
                continue
            pk = {
                r[0]
                for r in conn.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                    "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass "
                    "AND i.indisprimary",
                    (f"public.{table}",),
                )
            }
            cols = {r[0]: (r[1], bool(r[2]), _pg_default(r[3]), r[0] in pk) for r in rows}
            indexes = {
                (r[0], r[1])
                for r in conn.execute(
                    "SELECT i.relname, a.attname FROM pg_index x JOIN pg_class i ON i.oid = "
                    "x.indexrelid JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = "
                    "ANY(x.indkey) WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
                    (f"public.{table}",),
                )
            }
            fks = {
                (r[0], r[1])
                for r in conn.execute(
                    "SELECT a.attname, f.relname FROM pg_constraint c JOIN pg_class f ON f.oid = "
                    "c.confrelid JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = "
                    "ANY(c.conkey) WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
                    (f"public.{table}",),
                )
                if r[1] in names
            }
            out[table] = {"columns": cols, "indexes": indexes, "fks": fks}
    return out


def _pg_default(text: str | None) -> str | None:
    if text is None:
        return None
    return re.sub(r"::[a-z_ .]+", "", text.replace("public.", ""))


def schemaspy_layout(xml_file: Path, names: set[str]) -> Layout:
    """Columns (type, nullability) and foreign keys of a SchemaSpy export of a real database."""
    out: Layout = {}
    root = ET.parse(xml_file).getroot()
    for table in root.iter("table"):
        name = table.get("name")
        if name not in names or table.get("type", "TABLE") != "TABLE":
            continue
        cols: dict[str, Any] = {}
        fks = set()
        for col in table.findall("column"):
            kind = (col.get("type") or "").replace('"public".', "").strip('"')
            cols[col.get("name") or ""] = (kind, col.get("nullable") == "false", None, None)
            for parent in col.iter("parent"):
                if parent.get("table") in names:
                    fks.add((col.get("name"), parent.get("table")))
        out[str(name)] = {"columns": cols, "indexes": None, "fks": fks}
    return out


_PG_SHORT = {
    "text": "text",
    "float8": "double precision",
    "int4": "integer",
    "int8": "bigint",
    "bool": "boolean",
    "timestamp": "timestamp without time zone",
    "date": "date",
}


def compare(label: str, want: Layout, got: Layout, *, loose: bool = False) -> list[str]:
    """Differences of ``got`` (ours) from ``want`` (upstream); ``loose``: types and NULLs only."""
    problems = []
    for table in sorted(set(want) | set(got)):
        if table not in got or table not in want:
            where = "upstream only" if table in want else "ours only"
            problems.append(f"{label}: table {table}: {where}")
            continue
        wc, gc = want[table]["columns"], got[table]["columns"]
        for col in sorted(set(wc) | set(gc)):
            a, b = wc.get(col), gc.get(col)
            if loose and a is not None and b is not None:
                a = (_PG_SHORT.get(a[0], a[0]), a[1])
                b = (b[0], b[1])
            if a != b:
                problems.append(f"{label}: {table}.{col}: upstream {a}, ours {b}")
        for key in ("indexes", "fks"):
            if want[table][key] is None:
                continue
            missing = want[table][key] - got[table][key]
            extra = got[table][key] - want[table][key]
            if missing or extra:
                problems.append(
                    f"{label}: {table} {key}: upstream only {sorted(missing)}, "
                    f"ours only {sorted(extra)}"
                )
    return problems


def _sqlite_from(statements: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    return conn


def check_sqlite(upstream: Path) -> list[str]:
    problems = []
    ref = sqlite3.connect(":memory:")
    ref.executescript((upstream / "sqlite_latest.sql").read_text(encoding="utf-8"))
    v215 = (2, 15, 0)
    ours = _sqlite_from(schema.ddl("sqlite", v215))
    problems += compare(
        "sqlite 2.15", sqlite_layout(ref, _ours(v215)), sqlite_layout(ours, _ours(v215))
    )
    later = upstream / "migrations_2_16_to_2_19.sql"
    if later.exists():
        ref.executescript(later.read_text(encoding="utf-8"))
        # that file leaves invoice.goods_received_id in place; 2.17 drops it upstream
        ref.execute("ALTER TABLE invoice DROP COLUMN goods_received_id")
        ours = _sqlite_from(schema.ddl("sqlite", schema.CURRENT))
        names = _ours(schema.CURRENT)
        problems += compare("sqlite 2.19", sqlite_layout(ref, names), sqlite_layout(ours, names))
    return problems


def check_postgres(upstream: Path, server: PostgresServer) -> list[str]:
    base = server.url.rpartition("/")[0]
    with psycopg.connect(server.url, autocommit=True) as conn:
        for db in ("ref215", "ours215"):
            conn.execute(f"DROP DATABASE IF EXISTS {db}")
            conn.execute(f"CREATE DATABASE {db}")
    with psycopg.connect(f"{base}/ref215", autocommit=True) as conn:
        dump = (upstream / "postgres_latest.sql").read_text(encoding="utf-8")
        conn.execute(dump.replace("SELECT pg_catalog.set_config('search_path', '', false);", ""))
    v215 = (2, 15, 0)
    with psycopg.connect(f"{base}/ours215", autocommit=True) as conn:
        for statement in schema.ddl("postgresql", v215):
            conn.execute(statement)
    names = _ours(v215)
    return compare(
        "postgresql 2.15",
        postgres_layout(f"{base}/ref215", names),
        postgres_layout(f"{base}/ours215", names),
    )


def check_schemaspy(folder: Path, server: PostgresServer) -> list[str]:
    problems = []
    base = server.url.rpartition("/")[0]
    # 2.9.0 only: the repository's "2.17.0" export was taken before the last 2.17 migrations
    # (it has invoice_line.status but not the charges or manufacturer columns).
    for release in ("2.9.0",):
        xml_file = folder / release / "omsupply-database.public.xml"
        if not xml_file.exists():
            continue
        version = tuple(int(p) for p in release.split("."))
        assert len(version) == 3
        db = "ours" + release.replace(".", "_")
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db}")
            conn.execute(f"CREATE DATABASE {db}")
        with psycopg.connect(f"{base}/{db}", autocommit=True) as conn:
            for statement in schema.ddl("postgresql", version):  # type: ignore[arg-type]
                conn.execute(statement)
        names = _ours(version)  # type: ignore[arg-type]
        want = schemaspy_layout(xml_file, names)
        got = postgres_layout(f"{base}/{db}", names)
        problems += compare(f"schemaspy {release}", want, got, loose=True)
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    upstream = Path(argv[0])
    problems = check_sqlite(upstream)
    server = PostgresServer.start()
    try:
        problems += check_postgres(upstream, server)
        if len(argv) > 1:
            problems += check_schemaspy(Path(argv[1]), server)
    finally:
        server.stop()
    for line in problems:
        print(line)
    print(f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
