"""Stage 4 (send): batches journalled, then sent over real HTTP to the DHIS2 sandbox; an outage
queues the rest, a failure of one batch does not; dry runs validate only; a disabled target is
never contacted."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.demo.metadata import kiribati_element_uid
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run.batches import Batch
from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.send import Connection
from dhispatch.runtime.run.send import Delivery
from dhispatch.runtime.run.send import Sender
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.timing import Timings
from tests.run.conftest import env_for
from tests.run.conftest import kiribati

SOH = "h9mSLj2ZYcK"  # Kiribati's stock-on-hand option combo


def value(item: int, store: int, amount: str, element: str | None = None) -> dict[str, Any]:
    return {
        "dataElement": element or f"UC{item:05d}", "period": "202405", "orgUnit": f"S{store:03d}",
        "categoryOptionCombo": SOH, "value": amount, "step": "stock_on_hand",
        "indicator": "stock_on_hand", "origin": "specs/kiribati.push:33:1",
        "store": f"S{store:03d}", "item": f"I{item:04d}",
    }  # fmt: skip


def sender(
    plan: Plan,
    journal: Journal,
    mode: RunMode,
    counts: RunCounts,
    run: int | None = None,
    **env: str,
) -> Sender:
    """A connected sender of run ``run`` (journal target 1)."""
    connection = Connection({**env_for(Path("unused")), **env}, retry_delay=0.01)
    send = Sender(plan.name, plan.target, journal, mode, connection, counts, Timings(),
                  Delivery(batch_size=1000))  # fmt: skip
    send.connect()
    if run is not None:
        send.start(run, 0)
    return send


def test_a_batch_is_journalled_then_sent_and_its_cells_recorded(
    sandbox: Any, journal: Journal
) -> None:
    plan = kiribati(sandbox.url)
    counts = RunCounts()
    run = journal.start_run(plan.name, "0" * 64, "test")
    send = sender(plan, journal, RunMode.PUSH, counts, run)
    send.send(Batch([value(1, 1, "12"), value(2, 1, "3")]), run)
    send.close()
    assert send.online and send.error is None and send.version is not None
    assert {(v["dataElement"], v["value"]) for v in sandbox.values()} == {
        (kiribati_element_uid(1), "12"), (kiribati_element_uid(2), "3"),
    }  # fmt: skip
    (row,) = journal.batches(run)
    assert (row.status, row.imported, row.attempts) == ("sent", 2, 1)
    assert (counts.batches, counts.sent, counts.imported, counts.refused) == (1, 2, 2, 0)
    assert {k.data_element for k in journal.cells(plan.name)} == {"UC00001", "UC00002"}


def test_refused_values_become_conflicts_with_their_provenance(
    sandbox: Any, journal: Journal
) -> None:
    plan = kiribati(sandbox.url)
    counts = RunCounts()
    run = journal.start_run(plan.name, "0" * 64, "test")
    send = sender(plan, journal, RunMode.PUSH, counts, run)
    send.send(Batch([value(1, 1, "5"), value(2, 2, "1", element="NOPE")]), run)
    send.close()
    assert (counts.sent, counts.refused) == (1, 1)
    (conflict,) = journal.conflicts(run)
    assert (conflict.store, conflict.item, conflict.origin) == (
        "S002", "I0002", "specs/kiribati.push:33:1",
    )  # fmt: skip
    assert {k.data_element for k in journal.cells(plan.name)} == {"UC00001"}


def test_an_outage_fails_the_batch_queues_the_rest_and_resending_delivers_them(
    sandbox: Any, journal: Journal
) -> None:
    plan = kiribati(sandbox.url)
    counts = RunCounts()
    run = journal.start_run(plan.name, "0" * 64, "test")
    send = sender(plan, journal, RunMode.PUSH, counts, run)
    sandbox.set_faults(status=503, count=1000)
    send.send(Batch([value(1, 1, "5")]), run)
    send.send(Batch([value(2, 1, "6"), value(3, 1, "7")]), run)
    send.close()
    assert send.error and "503" in send.error and not send.online
    assert (counts.failed_batches, counts.queued) == (1, 3)
    assert [b.status for b in journal.batches(run)] == ["failed", "pending"]
    assert journal.batches(run)[0].failures == 0  # an outage is not the batch's doing
    sandbox.clear_faults()
    later = journal.start_run(plan.name, "0" * 64, "test")
    again = RunCounts()
    resend = sender(plan, journal, RunMode.SCHEDULED, again, later)
    assert resend.resend_queue() and resend.online
    resend.close()
    assert (again.resent_batches, again.sent) == (2, 3)
    assert [b.status for b in journal.batches()] == ["sent", "sent"]
    assert len(sandbox.values()) == 3


def test_a_batch_that_fails_alone_stays_due_and_the_rest_flows(
    sandbox: Any, journal: Journal
) -> None:
    plan = kiribati(sandbox.url)
    counts = RunCounts()
    run = journal.start_run(plan.name, "0" * 64, "test")
    send = sender(plan, journal, RunMode.PUSH, counts, run)
    sandbox.set_faults(status=500, count=5)  # every attempt of the first batch
    send.send(Batch([value(1, 1, "5")]), run)
    send.send(Batch([value(2, 1, "6")]), run)
    send.close()
    first, second = journal.batches(run)
    assert (first.status, first.failures, first.failure_kind) == ("failed", 1, "HTTP 500")
    assert second.status == "sent" and send.online and counts.sent == 1


def test_a_dry_run_validates_and_journals_nothing(sandbox: Any, journal: Journal) -> None:
    plan = kiribati(sandbox.url)
    counts = RunCounts()
    send = sender(plan, journal, RunMode.DRY_RUN, counts)
    send.send(Batch([value(1, 1, "5"), value(2, 2, "1", element="NOPE")]), None)
    send.close()
    assert (counts.sent, counts.refused, counts.batches) == (1, 1, 0)
    assert journal.batches() == [] and sandbox.values() == []


def test_a_disabled_target_is_never_contacted(sandbox: Any, journal: Journal) -> None:
    plan = kiribati(sandbox.url)
    disabled = dataclasses.replace(plan, target=dataclasses.replace(plan.target, enabled=False))
    run = journal.start_run(plan.name, "0" * 64, "test")
    before = sandbox.request_count()
    send = sender(disabled, journal, RunMode.PUSH, RunCounts(), run)
    send.send(Batch([value(1, 1, "5")]), run)
    assert send.resend_queue()
    send.close()
    assert sandbox.request_count() == before and journal.batches() == []


def test_an_unset_credential_stops_the_run_at_the_target_line(journal: Journal) -> None:
    plan = kiribati()
    with pytest.raises(
        RunError, match=r"specs/kiribati.push:\d+:\d+: environment variable DHIS2_PASSWORD"
    ):
        sender(plan, journal, RunMode.PUSH, RunCounts(), DHIS2_PASSWORD="")
