"""``dhispatch serve`` with two plans, one of which cannot reach its stock database: the other
keeps pushing, and the broken one is reported (and retried), never stopping serve."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import CANARY
from tests.e2e.conftest import Country
from tests.e2e.conftest import compile_spec
from tests.e2e.conftest import env_for
from tests.e2e.conftest import journal_runs
from tests.e2e.conftest import plan_file


def test_one_plan_s_missing_database_does_not_stop_the_others(
    country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    missing = tmp_path / "gone" / "omsupply.sqlite"
    source = {**compile_spec("tonga")["source"], "database": {"value": str(missing)}}
    broken = plan_file("tonga", live_sandbox.url, country.db, tmp_path, source=source)
    good = plan_file("kiribati", live_sandbox.url, country.db, tmp_path)
    state = tmp_path / "state.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(broken), str(good),
         "--state", str(state)],
        env={**os.environ, **env_for(country.db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        done = False
        while time.monotonic() < deadline and not done and proc.poll() is None:
            time.sleep(0.1)
            if state.exists():
                with sqlite3.connect(state) as conn:
                    try:
                        done = conn.execute("SELECT count(*) FROM slots").fetchone()[0] == 3
                    except sqlite3.OperationalError:
                        pass
        assert done, "serve did not push the good plan's due slots"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "dhispatch: tonga-national: " in err and str(missing) in err
    assert "stopped" in err and CANARY not in out + err
    runs = {r["plan"]: r["status"] for r in journal_runs(state, country.db)}
    assert runs["tonga-national"] == "error" and runs["kiribati-national"] in ("ok", "conflicts")
