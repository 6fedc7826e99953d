"""The runner without the CLI: what a console or a background worker would call."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dhispatch.errors import DhispatchError
from dhispatch.errors import UsageError
from dhispatch.runtime.journal import JournalError
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.runner import NextDue
from dhispatch.runtime.runner import NothingDue
from dhispatch.runtime.runner import PlanFailed
from dhispatch.runtime.runner import RunFinished
from dhispatch.runtime.runner import Runner
from dhispatch.runtime.runner import RunnerEvent
from dhispatch.runtime.runner import RunnerOptions
from dhispatch.runtime.runner import RunStarted
from tests.run.conftest import env_for
from tests.run.conftest import kiribati


def runner(state: Path, country: Path, events: list[RunnerEvent], **more: Any) -> Runner:
    options = RunnerOptions(env=env_for(country), report=events.append, retry_delay=0.01, **more)
    return Runner(state, options=options)


def broken(url: str, tmp_path: Path) -> Plan:
    """A second plan whose stock database does not exist."""
    plan = kiribati(url, name="broken-country")
    source = {
        "origin": plan.source.origin, "kind": "omsupply", "items": [],
        "database": {"value": str(tmp_path / "missing" / "omsupply.sqlite")},
        "org_unit": {"kind": "name_custom_data", "key": "Dhis2Code"},
    }  # fmt: skip
    return kiribati(url, name="broken-country", source=source)


def test_push_backfill_and_preview_report_each_run(
    country: Path, sandbox: Any, tmp_path: Path
) -> None:
    events: list[RunnerEvent] = []
    plan = kiribati(sandbox.url)
    with runner(tmp_path / "state.sqlite", country, events) as r:
        pushed = r.push(plan, period="202404")
        filled = r.backfill(plan, "202403", "202405")
        preview = r.preview(plan, period="202405")
    assert pushed.status == "ok" and [f.status for f in filled] == ["ok"] * 3
    assert [f.summary.periods for f in filled] == [["202403"], ["202404"], ["202405"]]
    assert filled[1].summary.counts.unchanged == pushed.summary.counts.values  # April again
    assert preview.run_id is None and preview.summary.counts.new == 0
    started = [e.trigger for e in events if isinstance(e, RunStarted)]
    assert started == ["push", "backfill 202403", "backfill 202404", "backfill 202405", "plan"]
    finished = [e.result for e in events if isinstance(e, RunFinished)]
    assert finished == [pushed, *filled, preview]


def test_a_request_that_cannot_run_never_touches_the_state_database(
    country: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    with runner(state, country, []) as r, pytest.raises(UsageError, match="2024W1"):
        r.push(kiribati(), period="2024W1")
    assert not state.exists()


def test_one_runner_at_a_time(country: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with runner(state, country, []) as first:
        first.journal  # noqa: B018 - takes the lock
        with runner(state, country, []) as second, pytest.raises(JournalError, match="another"):
            second.run_once([kiribati()])
        with Runner(state, lock=False) as reader:
            assert reader.journal.runs() == []  # readers never wait


def test_catch_up_runs_each_due_slot_then_finds_nothing_due(
    country: Path, sandbox: Any, tmp_path: Path
) -> None:
    events: list[RunnerEvent] = []
    plan = kiribati(sandbox.url)
    with runner(tmp_path / "state.sqlite", country, events) as r:
        first = r.run_once([plan], datetime(2024, 3, 1, 6, tzinfo=UTC))
        later = r.run_once([plan], datetime(2024, 6, 1, 6, tzinfo=UTC))
        again = r.run_once([plan], datetime(2024, 6, 1, 7, tzinfo=UTC))
    assert [x.summary.periods for x in first] == [["202402"]]
    assert [x.summary.periods for x in later] == [["202403"], ["202404"], ["202405"]]
    assert again == [] and isinstance(events[-1], NothingDue)


def test_serve_keeps_pushing_the_other_plans_when_one_cannot_run(
    country: Path, live_sandbox: Any, tmp_path: Path
) -> None:
    events: list[RunnerEvent] = []
    stop = threading.Event()

    def report(event: RunnerEvent) -> None:
        events.append(event)
        if isinstance(event, NextDue):
            stop.set()  # one pass is enough here

    good = kiribati(live_sandbox.url)
    options = RunnerOptions(env=env_for(country), report=report, stop=stop, retry_delay=0.01)
    with Runner(tmp_path / "state.sqlite", options=options) as r:
        r.serve([broken(live_sandbox.url, tmp_path), good], max_sleep=0.5)
        slots = r.journal.slots(good.name)
        runs = {run.plan_name: run.status for run in r.journal.runs()}
    failed = [e for e in events if isinstance(e, PlanFailed)]
    assert [e.plan.name for e in failed] == ["broken-country"]
    assert isinstance(failed[0].error, DhispatchError) and "missing" in str(failed[0].error)
    # the good plan ran its due slots (the sandbox is on the real clock)
    (done,) = [e.result for e in events if isinstance(e, RunFinished)]
    counts = done.summary.counts
    assert done.summary.plan == good.name and done.status in ("ok", "conflicts")
    assert counts.values > 0 and counts.sent + counts.refused == counts.values
    assert len(slots) == len(good.steps)
    assert runs == {"broken-country": "error", good.name: done.status}


def test_test_connection_records_a_success_and_names_a_failure(
    country: Path, sandbox: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    with runner(state, country, []) as r:
        ok = r.test_connection(kiribati(sandbox.url))
        again = r.test_connection(kiribati(sandbox.url))
    assert ok.failure is None and ok.info is not None and ok.me is not None
    assert ok.previous is None and again.previous is not None and not ok.refuses_pushes
    with Runner(state, options=RunnerOptions(env={**env_for(country), "DHIS2_PASSWORD": "x"})) as r:
        refused = r.test_connection(kiribati(sandbox.url))
    assert refused.failure == "authentication" and refused.refuses_pushes
    assert refused.previous is not None  # the last success is still known


# ---- automatic retention ------------------------------------------------------------------


def test_each_push_prunes_the_payloads_its_plan_keeps_no_longer(
    country: Path, sandbox: Any, tmp_path: Path
) -> None:
    """``keep_payloads`` days (default 90): older accepted payloads go after each storing run;
    the last values, rows, counts and conflicts stay, and so does everything due."""
    plan = kiribati(sandbox.url)
    assert plan.target.keep_payloads == 90
    short = replace(plan, target=replace(plan.target, keep_payloads=2))
    state = tmp_path / "state.sqlite"
    with Runner(state, options=RunnerOptions(env=env_for(country))) as runner:
        assert runner.push(plan, period="202404").status == "ok"
        first = [b.id for b in runner.journal.batches()]
        old = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
        with sqlite3.connect(state) as conn:  # April's batches were accepted three days ago
            conn.execute("UPDATE batches SET sent_at = ?", (old,))
        assert runner.push(plan, period="202405").status == "ok"  # 90 days: nothing pruned
        assert all(b.payload for b in runner.journal.batches())
        cells = runner.journal.cells(plan.name, target_id=1)
        assert runner.preview(plan, period="202404").summary.counts.new == 0
        assert runner.push(short, period="202403").status == "ok"
        kept = {b.id: b for b in runner.journal.batches()}
        assert [i for i, b in kept.items() if not b.payload] == first
        assert all(kept[i].size > 0 and kept[i].status == "sent" for i in first)
        assert runner.journal.cells(plan.name, target_id=1).items() >= cells.items()
        assert runner.preview(plan, period="202404").summary.counts.new == 0
