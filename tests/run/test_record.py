"""Stage 5 (record): the run's status, completed slots, and the summary the journal keeps —
with exactly the keys that ``log``, ``report`` and ``--json`` have always read."""

from __future__ import annotations

import json

import pytest

from dhispatch.runtime.journal import Journal
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.record import complete_slots
from dhispatch.runtime.run.record import finish
from dhispatch.runtime.run.record import run_status
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.summary import RunSummary
from dhispatch.runtime.run.summary import Skipped
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.slots import manual_slots
from tests.plans import typed_plan

PLAN = typed_plan({})
SLOTS = tuple(manual_slots(PLAN, period="202405"))
# The summary keys the journal has stored since the first release.
KEYS = {
    "plan", "status", "slots", "periods", "vanished_policy", "skipped", "skipped_list",
    "per_store", "timings", "error", "values", "new", "changed", "unchanged", "vanished", "sent",
    "refused", "imported", "updated", "ignored", "deleted", "batches", "resent_batches",
    "failed_batches", "queued",
    # since issue 12: what stayed due, was parked, already waited, could not be formatted,
    # would drop to 0; and the run's notices
    "unconfirmed", "parked", "waiting", "unformattable", "to_zero", "unformattable_list",
    "future_slots", "clock_skew_seconds", "blocked", "parked_batches",
    # since issue 13: completeness registrations made, and refused or failed
    "registered", "registrations_refused",
    # since issue 13: the pushes DHIS2 takes instead of a period its rules lock
    "instead",
}  # fmt: skip
# Added since, read with defaults so older journals render alike: the admission stage's.
ADDED = {"withheld", "withheld_causes", "admission"}


@pytest.mark.parametrize(
    ("mode", "enabled", "online", "stopped", "counts", "status"),
    [
        (RunMode.PREVIEW, True, True, False, {}, "preview"),
        (RunMode.PUSH, False, True, False, {}, "disabled"),
        (RunMode.DRY_RUN, True, False, False, {"refused": 3}, "dry-run"),
        (RunMode.SCHEDULED, True, False, True, {}, "failed"),
        (RunMode.PUSH, True, True, True, {"refused": 2}, "stopped"),
        (RunMode.PUSH, True, True, False, {"refused": 2, "unconfirmed": 1}, "unconfirmed"),
        (RunMode.PUSH, True, True, False, {"refused": 2, "parked": 5}, "parked"),
        (RunMode.PUSH, True, True, False, {"refused": 2}, "conflicts"),
        (RunMode.PUSH, True, True, False, {"unformattable": 1}, "conflicts"),
        (RunMode.SCHEDULED, True, True, False, {}, "ok"),
    ],
)
def test_status(
    mode: RunMode, enabled: bool, online: bool, stopped: bool, counts: dict[str, int], status: str
) -> None:
    assert run_status(mode, enabled, online, stopped, RunCounts(**counts)) == status
    if status == "ok":
        assert run_status(mode, enabled, online, stopped, RunCounts(), blocked=True) == "blocked"
        assert run_status(mode, enabled, online, stopped, RunCounts(), deferred=True) == "deferred"


def summary(**counts: int) -> RunSummary:
    skipped = Skipped(("S007",), {"soh": ("I0005",), "amc": ()})
    return RunSummary(PLAN.name, "ok", SLOTS, "keep", RunCounts(**counts), skipped,
                      {"S002": {"stock_on_hand": 2}, "S001": {"stock_on_hand": 1}}, Timings(),
                      None)  # fmt: skip


def test_the_summary_keeps_the_journal_s_keys() -> None:
    data = summary(values=3, new=3, sent=3, batches=1).as_json()
    assert set(data) == KEYS | ADDED
    assert data["slots"] == [
        {"step": s.step_id, "period": "202405", "due": s.due.isoformat(),
         "reference": s.reference.isoformat()}
        for s in SLOTS
    ]  # fmt: skip
    assert data["periods"] == ["202405"] and data["values"] == 3 and data["queued"] == 0
    assert data["skipped"] == {"stores_without_org_unit": 1, "items_without_reference": 1}
    assert data["skipped_list"] == {
        "stores_without_org_unit": ["S007"], "items_without_reference": {"soh": ["I0005"]},
    }  # fmt: skip
    assert list(data["per_store"]) == ["S001", "S002"]
    assert set(data["timings"]) == {
        "indicators",
        "payload",
        "journal",
        "http",
        "admission",
        "total",
    }
    nothing = RunSummary(PLAN.name, "failed", (), "keep", RunCounts(), None, {}, Timings(), "x")
    assert nothing.as_json()["skipped"] == {} == nothing.as_json()["skipped_list"]


def test_finish_stores_the_summary_and_complete_slots_marks_them_done(journal: Journal) -> None:
    run = journal.start_run(PLAN.name, "0" * 64, "schedule")
    timings = Timings()
    complete_slots(journal, PLAN.name, SLOTS, run, timings)
    assert [s["run_id"] for s in journal.slots(PLAN.name)] == [run] * len(SLOTS)
    assert journal.last_completed_due(PLAN.name, SLOTS[0].step_id) == SLOTS[0].due.replace(
        microsecond=0
    )
    assert timings.journal > 0
    assert finish(journal, run, summary(values=1)) == ()
    row = journal.run(run)
    assert row is not None and row.status == "ok" and row.summary["values"] == 1
    assert json.dumps(row.summary, sort_keys=True) == json.dumps(
        summary(values=1).as_json(), sort_keys=True
    )
    assert finish(journal, None, summary()) == ()  # a preview has no row
