"""The same push from a PostgreSQL stock database: exact cells, and the URL never leaks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.demo import identifiers as dc
from tests.e2e.conftest import END
from tests.e2e.conftest import SEED
from tests.e2e.conftest import cli
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import plan_file
from tests.e2e.conftest import stored


@pytest.mark.postgres
def test_push_from_postgresql(postgres_db: str, sandbox: Any, tmp_path: Path) -> None:
    from dhispatch.runtime.demo.generator import generate_demo

    generate_demo(postgres_db, stores=dc.DEMO_STORES, items=dc.DEMO_ITEMS,
                  months=dc.DEMO_MONTHS, seed=SEED, end=END)  # fmt: skip
    db = postgres_db  # carried as OMSUPPLY_DB, exactly as an operator would set it
    plan = plan_file("kiribati", sandbox.url, db, tmp_path)
    expected = expected_cells("kiribati", db, "202405", date(2024, 5, 1), date(2024, 5, 31))
    out = cli(["push", str(plan), "--period", "202405", "--state", str(tmp_path / "s.sqlite"),
               "--json"], db)  # fmt: skip
    assert json.loads(out.output)["sent"] == len(expected) > 50
    assert stored(sandbox) == expected
