"""One run of a plan's slots, stage by stage: cells → diff → admit → batches → send → record.

Memory is bounded by the batch size, not the country: cells stream from the stock database and
are diffed against the journal one chunk (a batch's worth) at a time. Before computing, a storing
run resends the plan's queued batches; if DHIS2 still refuses them the run computes nothing (the
same cells would only queue again behind them) and its slots stay due.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run.admit import Admission
from dhispatch.runtime.run.batches import Batch
from dhispatch.runtime.run.batches import Batcher
from dhispatch.runtime.run.batches import vanished_batches
from dhispatch.runtime.run.diff import JournalDiff
from dhispatch.runtime.run.metadata_cache import DEFAULT_MAX_AGE
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.produce import produce
from dhispatch.runtime.run.record import complete_slots
from dhispatch.runtime.run.record import finish
from dhispatch.runtime.run.record import run_status
from dhispatch.runtime.run.send import Connection
from dhispatch.runtime.run.send import Sender
from dhispatch.runtime.run.summary import CellChange
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.summary import RunResult
from dhispatch.runtime.run.summary import RunSummary
from dhispatch.runtime.run.summary import Skipped
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot

if TYPE_CHECKING:
    import httpx

DEFAULT_BATCH_SIZE = 1000

ProgressFn = Callable[[str, int], None]
"""Called as values are computed: ``("values", count so far)``."""
StopFn = Callable[[], bool]
"""Asked between batches: True finishes the batch in flight and stops (serve's SIGTERM, a
console's cancel button); the slots stay due, so the next run recomputes and sends the rest."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run: batch size, ``force`` (resend unchanged cells), the environment holding the
    credentials and database location (default ``os.environ``), the deadline of one DHIS2
    request (None: the client's), how old the cached metadata of the admission stage may be,
    hooks, and test seams.

    ``cancel`` is the event behind ``stop`` when there is one (serve's SIGTERM): setting it also
    ends DHIS2 retries and backoff at once and abandons a request in flight after a short grace.
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    force: bool = False
    env: Mapping[str, str] | None = None
    progress: ProgressFn | None = None
    stop: StopFn | None = None
    cancel: threading.Event | None = None
    deadline: float | None = None
    transport: httpx.BaseTransport | None = None
    retry_delay: float | None = None
    metadata_max_age: timedelta = DEFAULT_MAX_AGE


def execute(
    plan: Plan,
    journal: Journal,
    slots: Sequence[Slot],
    *,
    mode: RunMode,
    trigger: str,
    options: RunOptions = RunOptions(),  # noqa: B008 - frozen, so a shared default is safe
) -> RunResult:
    """Run (or preview) ``slots`` of ``plan``: resend queued batches, then every stage."""
    return _Run(plan, journal, slots, mode, options).go(trigger)


class _Run:
    """The state one run carries between its stages."""

    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        slots: Sequence[Slot],
        mode: RunMode,
        options: RunOptions,
    ) -> None:
        self.plan, self.journal, self.slots = plan, journal, tuple(slots)
        self.mode, self.options = mode, options
        self.env = dict(os.environ if options.env is None else options.env)
        self.timings = Timings()
        self.counts = RunCounts()
        self.per_store: dict[str, Counter[str]] = {}
        self.changes: list[CellChange] = []
        self.vanished: list[CellRecord] = []
        self.skipped: Skipped | None = None
        self.stopped = False
        connection = Connection(
            self.env, options.transport, options.retry_delay, options.deadline, options.cancel
        )
        self.sender = Sender(
            plan.name, plan.target, journal, mode, connection, self.counts, self.timings
        )
        self.admission = Admission(
            plan, journal, mode, connection, self.counts, self.timings,
            client=self.sender.client, max_age=options.metadata_max_age,
        )  # fmt: skip

    def go(self, trigger: str) -> RunResult:
        started = time.perf_counter()
        run_id = None
        if self.mode.records_run:
            with self.timings.measure("journal"):
                run_id = self.journal.start_run(
                    self.plan.name, self.plan.metadata.spec_sha256, self.mode.trigger(trigger)
                )
        try:
            self._stages(run_id)
            if run_id is not None and self.mode.completes_slots and self._status() in (
                "ok", "conflicts",
            ):  # fmt: skip
                due = self.admission.unsettled  # withheld cells keep their slots due
                done = [s for s in self.slots if (s.step_id, s.period.id) not in due]
                complete_slots(self.journal, self.plan.name, done, run_id, self.timings)
        except BaseException:
            if run_id is not None:
                self.journal.finish_run(run_id, "error", {"error": "interrupted or failed"})
            raise
        finally:
            self.sender.close()
        self.timings.total = time.perf_counter() - started
        summary = self._summary()
        conflicts = finish(self.journal, run_id, summary)
        return RunResult(run_id, summary, conflicts, tuple(self.changes), tuple(self.vanished))

    def _stages(self, run_id: int | None) -> None:
        self.sender.connect()
        if run_id is not None and not self.sender.resend_pending(run_id):
            return  # DHIS2 still refuses the queue: compute nothing, the slots stay due
        if not self.slots:
            return
        if self._stop_requested():
            self.stopped = True  # asked to stop before computing: the slots stay due
            return
        with JournalDiff(self.journal, self.plan.name, self.timings) as diff:
            self._cells(diff, run_id)
            self.stopped = self.stopped or self._stop_requested()
            if not self.stopped:
                self._vanished(diff, run_id)

    def _cells(self, diff: JournalDiff, run_id: int | None) -> None:
        """Stages 1-4 for the computed cells, one chunk (a batch's worth) at a time."""
        size = self.options.batch_size
        batcher = Batcher(size, force=self.options.force)
        with produce(self.plan, self.env, self.slots, self.timings) as production:
            self.skipped = production.skipped
            chunk: list[Cell] = []
            for cell in production.cells:
                chunk.append(cell)
                self.counts.values += 1
                if len(chunk) >= size:
                    self._send(batcher.add(self._diff(diff, chunk, run_id)), run_id)
                    self._progress()
                    if self._stop_requested():
                        self.stopped = True  # the partial chunk and batch are left unsent
                        break
            else:
                self._send(batcher.add(self._diff(diff, chunk, run_id)), run_id)
        self._progress()
        rest = batcher.rest()
        if rest is not None and not self.stopped:
            self._send([rest], run_id)

    def _diff(self, diff: JournalDiff, chunk: list[Cell], run_id: int | None) -> list[CellChange]:
        """Stage 2, then the admission stage: the changes worth batching."""
        changes = diff.classify(chunk)
        chunk.clear()
        for change in changes:
            setattr(self.counts, change.state, getattr(self.counts, change.state) + 1)
            counter = self.per_store.setdefault(change.cell.store, Counter())
            counter[change.cell.indicator] += 1
        if self.mode is RunMode.PREVIEW:
            self.changes += changes
            return []
        return self.admission.admit(changes, run_id, force=self.options.force)

    def _send(self, batches: Iterable[Batch], run_id: int | None) -> None:
        for batch in batches:
            self.sender.deliver(batch, run_id)

    def _vanished(self, diff: JournalDiff, run_id: int | None) -> None:
        self.vanished = diff.vanished(self.slots)
        self.counts.vanished = len(self.vanished)
        if self.mode is not RunMode.PREVIEW:
            steps = {s.id: s for s in self.plan.steps}
            size = self.options.batch_size
            gone = self.admission.admit_vanished(self.vanished, run_id)
            self._send(vanished_batches(gone, self.plan.vanished, steps, size), run_id)

    def _stop_requested(self) -> bool:
        return self.sender.cancelled or (self.options.stop is not None and self.options.stop())

    def _progress(self) -> None:
        if self.options.progress is not None:
            self.options.progress("values", self.counts.values)

    def _status(self) -> str:
        return run_status(
            self.mode, self.plan.target.enabled, self.sender.online,
            self.stopped or self.sender.cancelled, self.counts.refused + self.counts.withheld,
        )  # fmt: skip

    def _summary(self) -> RunSummary:
        return RunSummary(
            plan=self.plan.name,
            status=self._status(),
            slots=self.slots,
            vanished_policy=self.plan.vanished,
            counts=replace(self.counts),
            skipped=self.skipped,
            per_store={store: dict(c) for store, c in self.per_store.items()},
            timings=replace(self.timings),
            error=self.sender.error,
            withheld_causes=dict(self.admission.causes),
            admission=self.admission.note,
        )
