"""Progress bars on a terminal: a backfill's periods and each run's values sent of the total, with
the time remaining; nothing of them in a pipe (logs, cron mail, tests)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import env_for
from tests.e2e.conftest import plan_file

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run dhispatch with stderr on a pseudo-terminal and stdout on a pipe: (exit, stdout,
    what the terminal showed, escape codes removed)."""
    main, side = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", *args],
        stdin=side, stdout=subprocess.PIPE, stderr=side,
        env={**os.environ, **env, "TERM": "xterm-256color", "COLUMNS": "140"},
    )  # fmt: skip
    os.close(side)
    shown = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal's other side closed: the process ended
            break
        if not chunk:
            break
        shown.append(chunk)
    out, _ = proc.communicate(timeout=60)
    os.close(main)
    code = proc.returncode
    return code, out.decode(), ANSI.sub("", b"".join(shown).decode("utf-8", "replace"))


def test_a_backfill_shows_periods_and_values_to_send_with_time_remaining(
    small_country: Country, sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", sandbox.url, small_country.db, tmp_path)
    args = ["backfill", str(plan), "--from", "202404", "--to", "202405", "--batch-size", "5",
            "--state", str(tmp_path / "state.sqlite")]  # fmt: skip
    code, out, shown = on_a_terminal(args, env_for(small_country.db))
    assert code == 0, shown
    values = int(re.findall(r"values computed\s*│\s*(\d+)", out)[0])
    frames = re.split(r"[\r\n]", shown)
    sending = [f for f in frames if "kiribati-national: sending" in f]
    assert any(re.search(rf"\b\d+/{values}\b.*ETA \d+:\d\d:\d\d", f) for f in sending), sending
    assert any(re.search(r"backfill: periods.*\b[012]/2\b.*ETA", f) for f in frames)
    assert "━" not in out and "ETA" not in out  # the summary went to the pipe, bars did not


def test_no_bar_in_a_pipe(small_country: Country, sandbox: Any, tmp_path: Path) -> None:
    plan = plan_file("kiribati", sandbox.url, small_country.db, tmp_path)
    result = cli(["push", str(plan), "--period", "202405", "--batch-size", "5",
                  "--state", str(tmp_path / "state.sqlite")], small_country.db)  # fmt: skip
    assert "━" not in result.output and "ETA" not in result.output
