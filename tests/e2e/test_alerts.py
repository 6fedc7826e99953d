"""Alerts from ``run --once`` over real protocols: a sandbox that fails then recovers, a stock
database that stops getting transactions, a slot run late — each change of state told once to a
webhook receiver and an SMTP server (STARTTLS) on loopback, and no secret anywhere."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.alerts.servers import Hook
from tests.alerts.servers import Mailbox
from tests.alerts.servers import smtp_server
from tests.alerts.servers import webhook_server
from tests.e2e.conftest import CANARY
from tests.e2e.conftest import Country
from tests.e2e.conftest import env_for
from tests.e2e.conftest import plan_file

SMTP_PASSWORD = f"smtp-{CANARY}-pw"
ALERTS = {
    "origin": "specs/kiribati.push:40:1",
    "webhook": {"env": "ALERT_HOOK"},
    "email_to": {"value": "ops@moh.example.org"},
    "email_from": {"value": "dhispatch@moh.example.org"},
    "smtp": {"env": "ALERT_SMTP"},
    "smtp_user": {"value": "alerts"},
    "smtp_password": {"env": "ALERT_SMTP_PASSWORD"},
    "stale_days": 30,
}


def _run(plan: Path, state: Path, now: str, env: dict[str, str], code: int) -> str:
    from dhispatch.runtime.cli.main import cli as group

    args = ["run", "--once", str(plan), "--state", str(state), "--now", now, "--retry-delay", "0"]
    result = CliRunner().invoke(group, args, env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _subjects(hook: Hook, box: Mailbox) -> tuple[list[str], list[str]]:
    posted = [body["text"].split("\n")[0] for _, body in hook.posts]
    mailed = [str(m["Subject"]) for m in box.messages]
    return posted, mailed


def test_failing_recovered_and_stale_are_each_told_once(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path, alerts=ALERTS)
    outputs: list[str] = []
    with smtp_server(tmp_path, "alerts", SMTP_PASSWORD) as box, webhook_server(CANARY) as hook:
        env = {
            **env_for(country.db), "ALERT_HOOK": hook.url, "ALERT_SMTP": f"{box.host}:{box.port}",
            "ALERT_SMTP_PASSWORD": SMTP_PASSWORD, "DHISPATCH_SMTP_CA_FILE": str(box.ca_file),
        }  # fmt: skip
        june = "2024-06-01T12:00:00+12:00"  # 12 h after May's slot fell due: not missed
        sandbox.set_faults(status=503, count=10_000)
        for _ in range(2):  # failing twice: told once
            outputs.append(_run(plan, state, june, env, 1))
        assert _subjects(hook, box) == (["[dhispatch] ALERT kiribati-national: a run failed"],) * 2
        sandbox.clear_faults()
        outputs.append(_run(plan, state, june, env, 0))
        recovered = "[dhispatch] RECOVERED kiribati-national: a run failed"
        assert _subjects(hook, box)[0][1:] == [recovered]
        # August: July's slot ran a month late and the ledger's last transaction is from June
        sandbox.set_today(date(2024, 8, 1))
        outputs.append(_run(plan, state, "2024-08-01T12:00:00+12:00", env, 0))
        posted, mailed = _subjects(hook, box)
    assert posted == mailed and sorted(posted[2:]) == [
        "[dhispatch] ALERT kiribati-national: a due slot was missed",
        "[dhispatch] ALERT kiribati-national: the stock database looks stale",
    ]
    stale = next(b["text"] for _, b in hook.posts if "stale" in b["text"])
    assert "no new transaction for" in stale and "stopped syncing" in stale
    assert box.encrypted == [True] * len(box.messages) and set(box.logins) == {"alerts"}
    assert "alert sent: [dhispatch] ALERT kiribati-national: a run failed" in outputs[0]
    assert "alert sent" not in outputs[1]
    # secrets: not in any output, alert body, mail or the journal (the hook's path holds its own)
    with sqlite3.connect(state) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = [repr(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables]
        told = conn.execute("SELECT condition, failing, told FROM alerts ORDER BY 1").fetchall()
    assert told == [
        ("missed", 1, 1), ("offline", 0, 1), ("refused", 0, 1), ("run", 0, 1),
        ("stale-source", 1, 1),
    ]  # fmt: skip
    bodies = [repr(body) for _, body in hook.posts] + [m.decode() for m in box.raw]
    assert all(CANARY not in text for text in [*outputs, *bodies, *dump])


def test_a_first_run_days_after_its_slot_fell_due_is_not_a_missed_slot(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    alerts = {"origin": ALERTS["origin"], "webhook": ALERTS["webhook"]}
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path, alerts=alerts)
    with webhook_server(CANARY) as hook:
        env = {**env_for(country.db), "ALERT_HOOK": hook.url}
        # a new installation's first run, 5 days after May's slot fell due: nothing was missed
        _run(plan, tmp_path / "state.sqlite", "2024-06-05T12:00:00+12:00", env, 0)
    assert hook.posts == []
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:
        rows = conn.execute("SELECT condition, failing FROM alerts ORDER BY 1").fetchall()
    assert rows == [("offline", 0), ("refused", 0), ("run", 0), ("stale-source", 0)]
