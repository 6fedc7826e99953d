"""The stages together (``execute``) in each run mode, against a real journal and sandbox."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.journal import Journal
from dhispatch.runtime.run import RunMode
from dhispatch.runtime.run import RunOptions
from dhispatch.runtime.run import execute
from dhispatch.runtime.slots import manual_slots
from tests.run.conftest import env_for
from tests.run.conftest import kiribati


def options(country: Path, **more: Any) -> RunOptions:
    return RunOptions(env=env_for(country), retry_delay=0.01, **more)


def test_a_preview_records_and_sends_nothing(country: Path, sandbox: Any, journal: Journal) -> None:
    plan = kiribati(sandbox.url)
    slots = manual_slots(plan, period="202405")
    result = execute(plan, journal, slots, mode=RunMode.PREVIEW, trigger="plan",
                     options=options(country))  # fmt: skip
    assert result.run_id is None and result.status == "preview" and journal.runs() == []
    assert result.changes and {c.state for c in result.changes} == {"new"}
    assert result.summary.counts.values == len(result.changes) and sandbox.values() == []


def test_a_push_sends_once_then_finds_everything_unchanged(
    country: Path, sandbox: Any, journal: Journal
) -> None:
    plan = kiribati(sandbox.url)
    slots = manual_slots(plan, period="202405")
    first = execute(plan, journal, slots, mode=RunMode.PUSH, trigger="push",
                    options=options(country, batch_size=50))  # fmt: skip
    counts = first.summary.counts
    assert first.status == "ok" and counts.sent == counts.values == counts.new > 0
    assert counts.batches == -(-counts.values // 50) and len(sandbox.values()) == counts.values
    assert journal.slots(plan.name) == []  # a manual push completes no slot
    again = execute(plan, journal, slots, mode=RunMode.PREVIEW, trigger="plan",
                    options=options(country))  # fmt: skip
    assert {c.state for c in again.changes} == {"unchanged"}
    second = execute(plan, journal, slots, mode=RunMode.PUSH, trigger="push",
                     options=options(country))  # fmt: skip
    assert (second.summary.counts.sent, second.summary.counts.unchanged) == (0, counts.values)
    row = journal.run(second.run_id or 0)
    assert row is not None and row.summary == second.summary.as_json()
    t = second.summary.timings
    assert t.total >= t.indicators + t.payload + t.journal + t.http > 0


def test_a_scheduled_run_completes_its_slots(country: Path, sandbox: Any, journal: Journal) -> None:
    plan = kiribati(sandbox.url)
    slots = manual_slots(plan, period="202405")
    result = execute(plan, journal, slots, mode=RunMode.SCHEDULED, trigger="schedule",
                     options=options(country))  # fmt: skip
    assert result.status == "ok"
    assert {(s["step_id"], s["period"]) for s in journal.slots(plan.name)} == {
        (s.step_id, "202405") for s in slots
    }


def test_stop_finishes_the_batch_in_flight_and_leaves_the_slots_due(
    country: Path, sandbox: Any, journal: Journal
) -> None:
    plan = kiribati(sandbox.url)
    slots = manual_slots(plan, period="202405")

    def stop() -> bool:  # asked between chunks while computing, between batches while sending
        return len(sandbox.values()) > 0

    result = execute(plan, journal, slots, mode=RunMode.SCHEDULED, trigger="schedule",
                     options=options(country, batch_size=20, stop=stop))  # fmt: skip
    assert result.status == "stopped" and result.summary.counts.batches == 1
    assert len(sandbox.values()) == 20 and journal.slots(plan.name) == []
    assert result.vanished == () and result.summary.counts.vanished == 0


def test_stop_while_computing_leaves_every_slot_due(
    country: Path, sandbox: Any, journal: Journal
) -> None:
    """A stop (serve's SIGTERM, the console's cancel) after the first chunk was computed and
    before anything was sent: the slots were marked completed, so catch-up never sent them."""
    plan = kiribati(sandbox.url)
    slots = manual_slots(plan, period="202405")
    asked = []

    def stop() -> bool:  # asked after reaching DHIS2, before computing, then after each chunk
        asked.append(True)
        return len(asked) > 2

    result = execute(plan, journal, slots, mode=RunMode.SCHEDULED, trigger="schedule",
                     options=options(country, batch_size=20, stop=stop))  # fmt: skip
    assert result.status == "stopped" and result.summary.counts.values == 20
    assert sandbox.values() == [] and journal.slots(plan.name) == []


def test_vanished_cells_follow_the_policy(country: Path, sandbox: Any, journal: Journal) -> None:
    plan = kiribati(sandbox.url, vanished="zero")
    slots = manual_slots(plan, period="202405")
    execute(plan, journal, slots, mode=RunMode.PUSH, trigger="push", options=options(country))
    # the same plan, but S001 lost its org unit: its cells vanish and are zeroed
    rule = dataclasses.replace(
        plan.source.scope.org_unit, kind="mapping_file", path=str(_mapping(country))
    )
    scope = dataclasses.replace(plan.source.scope, org_unit=rule)
    narrowed = dataclasses.replace(plan, source=dataclasses.replace(plan.source, scope=scope))
    result = execute(narrowed, journal, slots, mode=RunMode.PUSH, trigger="push",
                     options=options(country))  # fmt: skip
    gone = result.vanished
    assert (
        gone and {r.store for r in gone} == {"S001"} and result.summary.counts.vanished == len(gone)
    )
    assert {r.value for r in gone} != {"0"}
    stored = {(v["orgUnit"], v["value"]) for v in sandbox.values() if v["orgUnit"] == "ou000000001"}
    assert {value for _, value in stored} == {"0"}


def _mapping(country: Path) -> Path:
    """A store → org unit mapping of every store with a Dhis2Code except S001."""
    from dhispatch.runtime.demo import identifiers as dc

    path = country.with_name("mapping.csv")
    rows = [
        f"{dc.store_code(j)},{dc.store_code(j)}" for j in range(2, 9) if dc.store_has_dhis2_code(j)
    ]
    path.write_text("store_code,org_unit\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_ctrl_c_mid_push_records_the_run_as_interrupted_with_what_reached_dhis2(
    country: Path, sandbox: Any, journal: Journal
) -> None:
    """Issue 12 point 10: ``log`` showed 0 for a run that delivered 300 before Ctrl-C."""
    plan = kiribati(sandbox.url)
    slots = manual_slots(plan, period="202405")

    def stop() -> bool:
        if len(sandbox.values()) >= 30:
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        execute(plan, journal, slots, mode=RunMode.PUSH, trigger="push",
                options=options(country, batch_size=10, stop=stop))  # fmt: skip
    (run,) = journal.runs()
    assert run.status == "interrupted" and "interrupted" in run.summary["error"]
    assert run.summary["sent"] == len(sandbox.values()) == 30
    assert run.summary["batches"] == 3 and run.finished_at is not None
