"""Crash safety (SIGKILL mid-push), catch-up of missed months, and every sandbox fault mode."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.journal.payload import unpack
from tests.e2e.conftest import MAY
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import env_for
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import journal_runs
from tests.e2e.conftest import plan_file
from tests.e2e.conftest import stored


def _batches(state: Path) -> list[tuple[int, str, str, str]]:
    with sqlite3.connect(state) as conn:
        return conn.execute(
            "SELECT id, status, strategy, blob FROM batches LEFT JOIN payloads ON batch_id = id "
            "ORDER BY id"
        ).fetchall()


def test_sigkill_mid_push_then_run_once_is_exact(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path)
    state = tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", country.db, *MAY)
    sandbox.set_faults(latency_ms=150)  # slow every request so the kill lands mid-push
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "push", str(plan), "--period",
         "202405", "--state", str(state), "--batch-size", "40"],
        env={**os.environ, **env_for(country.db)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if state.exists():
                try:
                    statuses = Counter(b[1] for b in _batches(state))
                except sqlite3.OperationalError:
                    statuses = Counter()
                if statuses["sent"] >= 2 and statuses["pending"] >= 1:
                    break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    sandbox.clear_faults()
    before = _batches(state)
    pending_ids = {b[0] for b in before if b[1] == "pending"}
    assert pending_ids, "the kill should have left a batch pending"
    assert len(stored(sandbox)) < len(expected)

    # the next scheduled run: first resends the pending batch, then does its due slot (May)
    cli(["run", "--once", str(plan), "--state", str(state), "--now",
         "2024-06-01T01:00:00+12:00"], country.db)  # fmt: skip
    assert stored(sandbox) == expected
    after = _batches(state)
    assert {b[1] for b in after} == {"sent"}
    assert all(b[1] == "sent" for b in after if b[0] in pending_ids)
    # none twice in effect: each cell was sent in exactly one (possibly resent) batch
    sent_cells = Counter(
        (v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"])
        for b in after
        for v in unpack(b[3])
    )
    assert max(sent_cells.values()) == 1 and len(sent_cells) == len(expected)
    runs = journal_runs(state, country.db)
    assert runs[0]["trigger"] == "schedule" and runs[0]["summary"]["resent_batches"] >= 1
    assert runs[-1]["status"] == "killed"  # the next runner found it running: it was killed


def test_run_once_catches_up_three_missed_months_oldest_first(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path)
    state = tmp_path / "state.sqlite"
    args = ["run", "--once", str(plan), "--state", str(state), "--json", "--now"]
    # the last run was three months ago: it pushed February (first run: latest slot only)
    cli([*args, "2024-03-01T06:00:00+12:00"], country.db)
    feb = expected_cells("kiribati", country.db, "202402", date(2024, 2, 1), date(2024, 2, 29))
    assert stored(sandbox) == feb
    cli([*args, "2024-06-01T06:00:00+12:00"], country.db)
    runs = list(reversed(journal_runs(state, country.db)))
    assert [r["summary"]["periods"] for r in runs] == [["202402"], ["202403"], ["202404"],
                                                        ["202405"]]  # fmt: skip
    assert [r["started_at"] for r in runs] == sorted(r["started_at"] for r in runs)
    months = {
        "202403": (date(2024, 3, 1), date(2024, 3, 31)),
        "202404": (date(2024, 4, 1), date(2024, 4, 30)),
        "202405": (date(2024, 5, 1), date(2024, 5, 31)),
    }
    want = set(feb)
    for period, (first, last) in months.items():
        want |= expected_cells("kiribati", country.db, period, first, last)
    assert stored(sandbox) == want
    # each month has its own values (stock moves), not one month's values copied
    by_period = {p: {c[:3] + c[3:4]: c[4] for c in want if c[1] == p} for p in months}
    assert by_period["202403"] != by_period["202405"]
    # and a third pass has nothing due
    again = cli([*args, "2024-06-01T07:00:00+12:00"], country.db)
    assert "nothing due" in again.output


FAULTS = [
    pytest.param({"status": 503, "count": 2}, True, id="503-burst-retried"),
    pytest.param({"status": 429, "count": 1}, True, id="429-retried"),
    pytest.param({"drop": 2}, True, id="dropped-connections-retried"),
    pytest.param({"status": 500, "count": 1000}, False, id="500-outage"),
    pytest.param({"drop": 1000}, False, id="connection-outage"),
    pytest.param({"expire_credentials": True}, False, id="expired-credentials"),
    pytest.param({"latency_ms": 200, "count": 0}, True, id="latency"),
]


@pytest.mark.parametrize(("fault", "completes"), FAULTS)
def test_faults_complete_now_or_on_next_run(
    fault: dict[str, Any], completes: bool, country: Country, sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path)
    state = tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", country.db, *MAY)
    sandbox.set_faults(**fault)
    push = ["push", str(plan), "--period", "202405", "--state", str(state), "--json",
            "--retry-delay", "0.01", "--batch-size", "400"]  # fmt: skip
    first = cli(push, country.db, code=0 if completes else 1)
    summary = json.loads(first.output)
    if completes:
        assert summary["status"] == "ok"
    else:
        # DHIS2 unreachable from the start: every batch journalled and queued, none sent
        assert summary["status"] == "failed" and summary["failed_batches"] == 0
        assert summary["queued"] == summary["values"] > 0 and summary["error"]
        sandbox.clear_faults()
        nxt = json.loads(
            cli(["run", "--once", str(plan), "--state", str(state), "--json", "--now",
                 "2024-06-01T01:00:00+12:00"], country.db).output
        )  # fmt: skip
        assert nxt["resent_batches"] == 3 and nxt["status"] == "ok"
    assert stored(sandbox) == expected
    with sqlite3.connect(state) as conn:
        assert conn.execute("SELECT count(*) FROM batches WHERE status != 'sent'").fetchone() == (
            0,
        )
