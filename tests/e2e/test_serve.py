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
from tests.faults.proxy import fault_proxy
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


@pytest.mark.parametrize("outage", ["failing", "hanging", "hanging-import"])
def test_sigterm_during_an_outage_stops_within_seconds_and_leaves_the_slots_due(
    outage: str, country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    """DHIS2 answers 503 to everything (serve is retrying with backoff), accepts the connection
    and never answers (a request in flight: serve's first, /api/system/info), or never answers
    an import (a journalled batch in flight): SIGTERM still ends serve in seconds."""
    with ExitStack() as stack:
        if outage == "failing":
            live_sandbox.set_faults(status=503, count=1_000_000)
            url, busy = live_sandbox.url, lambda: live_sandbox.request_count() >= 2
        elif outage == "hanging":
            server = stack.enter_context(slow_server("hang"))
            url, busy = server.url, lambda: len(server.requests) >= 1
        else:
            proxy = stack.enter_context(fault_proxy(live_sandbox.url))
            proxy.hang.set()
            url, busy = proxy.url, lambda: proxy.imports >= 1
        plan = plan_file("kiribati", url, country.db, tmp_path)
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
    assert "sent" not in statuses
    if outage == "hanging-import":  # the batch abandoned in flight stays pending, resent first
        assert statuses.get("pending", 0) >= 1
    else:  # stopped while reaching DHIS2: nothing was journalled
        assert statuses == {}
    runs = journal_runs(state, country.db)
    assert runs[0]["status"] == "stopped"
