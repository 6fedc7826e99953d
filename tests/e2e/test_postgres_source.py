"""The same push from a PostgreSQL stock database: exact cells, and the URL never leaks."""

from __future__ import annotations

import json
import time
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


@pytest.mark.postgres
def test_a_push_behind_an_upgrade_lock_fails_within_the_lock_timeout_and_frees_the_runner(
    postgres_db: str, sandbox: Any, tmp_path: Path
) -> None:
    """An open mSupply upgrade's ALTER TABLE holds ACCESS EXCLUSIVE on a table the push reads:
    the push used to wait for ever, holding the runner lock (cron and serve stopped)."""
    import psycopg

    from dhispatch.runtime.demo.generator import generate_demo
    from dhispatch.runtime.journal import Journal

    generate_demo(postgres_db, stores=3, items=5, months=2, seed=SEED, end=END)
    db = f"{postgres_db}?options=-c%20lock_timeout%3D2s"  # the operator's override (default 10 s)
    plan = plan_file("kiribati", sandbox.url, db, tmp_path)
    state = tmp_path / "state.sqlite"
    with psycopg.connect(postgres_db) as upgrade:
        upgrade.execute("ALTER TABLE invoice_line ADD COLUMN upgrade_step integer")  # not committed
        started = time.monotonic()
        result = cli(["push", str(plan), "--period", "202405", "--state", str(state)], db, code=1)
        took = time.monotonic() - started
        upgrade.rollback()
    err = result.stderr
    assert took < 2 + 8, f"the push took {took:.1f} s"
    err = err[err.index("dhispatch: ") :]  # after the line naming the period pushed (issue 13)
    assert err.startswith("dhispatch: the stock database ") and "is locked: PID " in err
    assert "(ALTER TABLE, idle in transaction) holds invoice_line" in err
    assert "lock_timeout (2s) allows" in err and "mSupply upgrade" in err
    assert "Traceback" not in err
    assert sandbox.request_count() == 1  # /api/system/info only: nothing was sent
    with Journal.open(state) as journal:
        journal.acquire_lock()  # free: the next cron run or serve's next wake-up can go
        assert [r.status for r in journal.runs()] == ["error"]
