"""Process kills at random points of a push (computing, journalling, mid-request, between
batches): after each, the journal still opens and never claims a value DHIS2 lacks; one clean
run later DHIS2 holds exactly the plan's values and the journal says so, and every killed run is
recorded as killed."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from dhispatch.runtime.journal import Journal
from tests.e2e.conftest import plan_file
from tests.faults.conftest import PERIOD
from tests.faults.conftest import Stack
from tests.faults.conftest import Value
from tests.faults.conftest import env_for
from tests.faults.conftest import journal_view
from tests.faults.conftest import plan_for
from tests.faults.conftest import push

KILLS = int(os.environ.get("DHISPATCH_FAULT_KILLS", 5))  # more for a longer hunt
SEED = int(os.environ.get("DHISPATCH_FAULT_SEED", 20241202))


def newest_run(state: Path) -> int:
    """The id of the journal's newest run (0 without one)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{state.as_uri()}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0  # no journal yet


def wait_for_a_running_run(state: Path, proc: subprocess.Popen[bytes], after: int) -> None:
    """Until the pushing process has recorded its own run as running (or has ended)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists():
            try:
                with contextlib.closing(
                    sqlite3.connect(f"{state.as_uri()}?mode=ro", uri=True)
                ) as db:
                    if db.execute(
                        "SELECT 1 FROM runs WHERE status = 'running' AND id > ?", (after,)
                    ).fetchone():
                        return
            except sqlite3.Error:
                pass  # the journal is being created or upgraded: look again
        time.sleep(0.02)


def test_random_kills_then_a_clean_run_is_exact(
    stacks: dict[str, Stack], fault_country: Path, expected: set[Value], tmp_path: Path
) -> None:
    stack = stacks["2.40"]
    stack.reset()
    stack.sandbox.set_faults(latency_ms=60, count=0)  # a push takes a second or two
    plan = plan_file("kiribati", stack.proxy.url, fault_country, tmp_path)
    state = tmp_path / "state.sqlite"
    rng = random.Random(SEED)
    for _ in range(KILLS):
        before = newest_run(state)
        proc = subprocess.Popen(
            [sys.executable, "-m", "dhispatch.runtime.cli.main", "push", str(plan),
             "--period", PERIOD, "--state", str(state), "--batch-size", "7", "--force"],
            env={**os.environ, **env_for(fault_country)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # The random moment counts from the run's start, not the process's: under load the
        # interpreter's start alone can outlast a fixed delay, and a kill before the run exists
        # tests nothing about the journal.
        wait_for_a_running_run(state, proc, before)
        time.sleep(rng.uniform(0.0, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if state.exists():
            assert journal_view(state, stack) <= stack.dhis2()
    stack.sandbox.clear_faults()
    result = push(plan_for(stack), state, fault_country)
    assert result.status == "ok"
    assert stack.dhis2() == expected == journal_view(state, stack)
    with Journal.open(state, readonly=True) as journal:
        statuses = [r.status for r in journal.runs()]
    assert "running" not in statuses and "killed" in statuses
