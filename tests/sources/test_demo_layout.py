"""The demo country is written in open mSupply's real layout (the one ``runtime/sources/schema.py``
declares and ``verify_schema.py`` checks against upstream's DDL): the same tables, columns (type,
nullability, default, key), foreign keys and indexes as a database built from that DDL, and a
version the adapter reads as the current one."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from dhispatch.runtime.demo.generator import generate_demo
from dhispatch.runtime.sources import open_source
from dhispatch.runtime.sources.schema import CURRENT
from tests.sources.ledger import create_schema


def _layout(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    out: dict[str, Any] = {}
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in sorted(tables):
        out[table] = (
            conn.execute(f'PRAGMA table_info("{table}")').fetchall(),
            sorted(conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()),
            sorted(
                (r[1], r[2], tuple(c[2] for c in conn.execute(f'PRAGMA index_info("{r[1]}")')))
                for r in conn.execute(f'PRAGMA index_list("{table}")')
            ),
        )
    conn.close()
    return out


def test_the_demo_writes_the_real_layout(tmp_path: Path) -> None:
    demo = tmp_path / "demo.sqlite"
    generate_demo(str(demo), stores=2, items=3, months=1, seed=1, end=date(2024, 1, 31))
    reference = tmp_path / "reference.sqlite"
    conn = sqlite3.connect(reference)
    create_schema(conn, "sqlite", CURRENT)
    conn.commit()
    conn.close()
    got, want = _layout(demo), _layout(reference)
    assert sorted(got) == sorted(want)
    for table in want:
        assert got[table] == want[table], table
    with open_source(str(demo)) as source:
        assert source.caps.version == CURRENT
