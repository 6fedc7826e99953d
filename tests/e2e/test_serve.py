"""``dhispatch serve``: does the due work, then sleeps; SIGTERM ends it cleanly with exit 0."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CANARY
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import env_for
from tests.e2e.conftest import journal_runs
from tests.e2e.conftest import plan_file
from tests.slow_server import slow_server
from tests.slow_server import wait_for


def test_serve_runs_due_slot_then_stops_on_sigterm(
    country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", live_sandbox.url, country.db, tmp_path)
    state = tmp_path / "state.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(plan), "--state",
         str(state)],
        env={**os.environ, **env_for(country.db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        done = False
        while time.monotonic() < deadline and not done:
            time.sleep(0.1)
            if state.exists():
                with sqlite3.connect(state) as conn:
                    try:
                        done = conn.execute("SELECT count(*) FROM slots").fetchone()[0] == 3
                    except sqlite3.OperationalError:
                        pass
        assert done, "serve did not complete its first due slots"
        # a second runner is refused while serve holds the lock
        busy = cli(["run", "--once", str(plan), "--state", str(state)], country.db, code=1)
        assert "another dhispatch runner" in busy.output
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in err and "next due" in err
    assert CANARY not in out + err
    # the sandbox runs on the real clock: last month's values are taken as they are
    runs = journal_runs(state, country.db)
    assert len(runs) == 1 and runs[0]["trigger"] == "schedule"
    summary = runs[0]["summary"]
    assert summary["values"] > 500 and summary["sent"] + summary["refused"] == summary["values"]


def test_sigterm_mid_push_finishes_the_batch_in_flight_and_exits_0(
    country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", live_sandbox.url, country.db, tmp_path)
    state = tmp_path / "state.sqlite"
    live_sandbox.set_faults(latency_ms=150)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(plan), "--state",
         str(state), "--batch-size", "40"],
        env={**os.environ, **env_for(country.db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        sent = 0
        while time.monotonic() < deadline and sent < 2:
            time.sleep(0.05)
            if state.exists():
                with sqlite3.connect(state) as conn:
                    try:
                        sent = conn.execute(
                            "SELECT count(*) FROM batches WHERE status = 'sent'"
                        ).fetchone()[0]
                    except sqlite3.OperationalError:
                        pass
        assert sent >= 2
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - stopping
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped on request" in err and took < 5
    assert CANARY not in out + err
    with sqlite3.connect(state) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM batches GROUP BY status"))
        slots = conn.execute("SELECT count(*) FROM slots").fetchone()[0]
    assert set(statuses) == {"sent"} and statuses["sent"] < 1054 // 40  # stopped early
    assert slots == 0  # the slots stay due: the next run recomputes and sends the rest
    runs = journal_runs(state, country.db)
    assert runs[0]["status"] == "stopped"


def prime_metadata_cache(plan: Path, sandbox: Any, state: Path, db: Path) -> None:
    """The admission stage's cached metadata for ``plan``'s target, read from the sandbox (so
    the run goes on to its batches without asking the unreachable DHIS2 for it)."""
    from dhispatch.runtime.dhis2 import BasicAuth
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import Secret
    from dhispatch.runtime.dhis2.metadata import fetch_snapshot
    from dhispatch.runtime.plan import load_plan
    from dhispatch.runtime.run.metadata_cache import cache_for
    from dhispatch.runtime.run.metadata_cache import cache_key

    loaded, env = load_plan(plan), env_for(db)
    auth = BasicAuth(env["DHIS2_USER"], Secret(env["DHIS2_PASSWORD"]))
    with Dhis2Client(sandbox.url, auth) as client:
        snapshot = fetch_snapshot(client, loaded.target.data_set)
    cache_for(state).save(cache_key(loaded, env), snapshot)


@pytest.mark.parametrize(
    ("outage", "cached"), [("failing", True), ("hanging", True), ("failing", False)]
)
def test_sigterm_during_an_outage_stops_within_seconds_and_leaves_the_slots_due(
    outage: str, cached: bool, country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    """DHIS2 answers 503 to everything (serve is retrying with backoff), or accepts the
    connection and never answers (a request in flight): SIGTERM still ends serve in seconds —
    while it sends a batch (the metadata the values are checked against is cached), or while
    the admission stage asks for that metadata (nothing is journalled then)."""
    sandbox = live_sandbox  # on the real clock: the due slot's period is open on DHIS2's
    with ExitStack() as stack:
        server = stack.enter_context(slow_server("hang")) if outage == "hanging" else None
        plan = plan_file("kiribati", server.url if server else sandbox.url, country.db, tmp_path)
        state = tmp_path / "state.sqlite"
        if cached:
            prime_metadata_cache(plan, sandbox, state, country.db)
        if server is None:
            sandbox.set_faults(status=503, count=1_000_000)
            base = sandbox.request_count()
            busy = lambda: sandbox.request_count() >= base + 2  # noqa: E731
        else:
            busy = lambda: len(server.requests) >= 1  # noqa: E731
        proc = subprocess.Popen(
            [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(plan), "--state",
             str(state)],
            env={**os.environ, **env_for(country.db)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert wait_for(busy, timeout=60), "serve never reached DHIS2"
            stopping = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
            took = time.monotonic() - stopping
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert took < 5, f"serve took {took:.1f} s to stop"
    assert "stopped" in err and CANARY not in out + err
    with sqlite3.connect(state) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM batches GROUP BY status"))
        slots = conn.execute("SELECT count(*) FROM slots").fetchone()[0]
    assert slots == 0  # the slots stay due: the next start sends them
    if cached:
        assert "sent" not in statuses and statuses.get("pending", 0) >= 1
    else:
        assert statuses == {}  # stopped before any batch was journalled
    runs = journal_runs(state, country.db)
    assert runs[0]["status"] == "stopped"
