"""``serve`` as a service: one timestamped (or JSON) log line per event, written as it happens,
and ``/health`` on loopback saying ok or degraded with the reason — DHIS2 failing, then back."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO
from typing import Any

from tests.e2e.conftest import CANARY
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import env_for
from tests.e2e.conftest import plan_file


def health(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def until(check: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(0.2)
    raise AssertionError("timed out")


def reader(stream: IO[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """Lines of ``stream`` as they arrive (the log must not wait for a buffer to fill), and the
    thread reading them (joined once the process ended: every line read)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, thread


def test_serve_logs_json_lines_and_health_follows_dhis2(
    small_country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", live_sandbox.url, small_country.db, tmp_path)
    live_sandbox.set_faults(status=503, count=100000)  # DHIS2 down from the start
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(plan), "--state",
         str(tmp_path / "state.sqlite"), "--log-format", "json", "--health", "127.0.0.1:0",
         "--max-sleep", "1", "--deadline", "2"],
        env={**os.environ, **env_for(small_country.db)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    lines, pump = reader(proc.stderr)
    seen: list[dict[str, Any]] = []

    def event(name: str, **match: Any) -> dict[str, Any] | None:
        while not lines.empty():
            seen.append(json.loads(lines.get()))  # every line is one JSON object
        return next((e for e in seen if e.get("event") == name
                     and all(e.get(k) == v for k, v in match.items())), None)  # fmt: skip

    try:
        started = until(lambda: event("serve_started"))
        url = started["health"]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/health")
        # the failing run is logged as it ends, and health says why it is degraded
        failed = until(lambda: event("run_finished", status="failed"))
        assert failed["level"] == "warning" and failed["plan"] == "kiribati-national"
        code, body = until(lambda: (got := health(url))[1]["status"] == "degraded" and got)
        assert code == 503
        assert f"kiribati-national: last run {failed['run']} ended failed" in body["reasons"]
        assert body["plans"]["kiribati-national"]["last_status"] == "failed"
        assert CANARY not in json.dumps(body)  # the health answer is an output path too
        # DHIS2 is back: the next wake-up delivers, health is ok again
        live_sandbox.clear_faults()
        until(lambda: event("run_finished", status="ok"), timeout=120)
        code, body = until(lambda: (got := health(url))[1]["status"] == "ok" and got)
        assert code == 200 and body["reasons"] == []
        assert body["plans"]["kiribati-national"]["last_connection"] is not None
        assert health(url.replace("/health", "/other"))[0] == 404
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        pump.join(timeout=10)  # stderr read to its end by the pump alone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == 0
    assert event("serve_stopped") is not None
    for record in seen:  # time, level and message on every line, in UTC
        assert record["time"].endswith("Z") and record["level"] and record["message"]
    assert {"run_started", "run_finished", "next_due"} <= {e.get("event") for e in seen}
    assert CANARY not in out + json.dumps(seen)


def test_text_log_lines_are_timestamped(
    small_country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", live_sandbox.url, small_country.db, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(plan), "--state",
         str(tmp_path / "state.sqlite")],
        env={**os.environ, **env_for(small_country.db)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    lines, pump = reader(proc.stderr)
    got: list[str] = []
    try:
        # the run's line arrives while serve is still running: written a line at a time
        until(lambda: got.extend(iter_queue(lines)) or any("next due" in x for x in got))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        pump.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    proc.stderr.close()
    finished = [x for x in got if ": run 1 " in x]
    assert len(finished) == 1, got
    stamp, level, rest = finished[0].split(maxsplit=2)
    assert stamp.endswith("Z") and stamp[:4].isdigit() and level in ("INFO", "WARNING")
    assert rest.startswith("dhispatch: kiribati-national: run 1 ")


def iter_queue(lines: queue.Queue[str]) -> list[str]:
    out = []
    while not lines.empty():
        out.append(lines.get())
    return out


def test_health_beyond_loopback_needs_saying_so(small_country: Country, tmp_path: Path) -> None:
    plan = plan_file("kiribati", "http://127.0.0.1:9", small_country.db, tmp_path)
    refused = cli(["serve", str(plan), "--state", str(tmp_path / "s.sqlite"), "--health",
                   "0.0.0.0:8021"], small_country.db, code=2)  # fmt: skip
    assert "--health-public" in refused.output and "beyond this machine" in refused.output
    assert not (tmp_path / "s.sqlite").exists()  # refused before anything was touched
