"""One run of a plan's slots, stage by stage: reach DHIS2 → resend the queue → cells → diff →
admit → guard → batches → send → record.

DHIS2 is asked first for its version (how its counts read) and clock (slots whose period has not
started there are not run). The queue of due batches goes before anything new; after an outage
the run computes nothing (the same cells would only queue again behind them). Cells stream from
the stock database and are diffed against the journal a chunk at a time into staged batches, so
memory is bounded by the batch size and the drop guard sees every change before anything is sent.
When the guard cannot stop the run (the journal holds no value for its slots: a new period; or
the drop is accepted) the batches go out as they are computed, each request under way while the
next chunk is computed; otherwise each is read from the outbox while the one before is in
flight. A batch goes once the one before was answered (that answer is recorded while it is on
its way; a failed request is recorded first), and each batch is journalled before it is sent.
A slot completes only when every value of it was settled (``ledger``).
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
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import Protocol

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import Packed
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run.admit import Admission
from dhispatch.runtime.run.batches import Batch
from dhispatch.runtime.run.batches import Batcher
from dhispatch.runtime.run.batches import vanished_batches
from dhispatch.runtime.run.clock import split_future
from dhispatch.runtime.run.diff import JournalDiff
from dhispatch.runtime.run.guard import DEFAULT_MAX_DROP
from dhispatch.runtime.run.guard import DropGuard
from dhispatch.runtime.run.guard import vanishing
from dhispatch.runtime.run.metadata_cache import DEFAULT_MAX_AGE
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.produce import produce
from dhispatch.runtime.run.record import complete_slots
from dhispatch.runtime.run.record import finish
from dhispatch.runtime.run.record import run_status
from dhispatch.runtime.run.send import DEFAULT_PARK_AFTER
from dhispatch.runtime.run.send import Connection
from dhispatch.runtime.run.send import Delivery
from dhispatch.runtime.run.send import Sender
from dhispatch.runtime.run.summary import CellChange
from dhispatch.runtime.run.summary import Notices
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.summary import RunResult
from dhispatch.runtime.run.summary import RunSummary
from dhispatch.runtime.run.summary import Skipped
from dhispatch.runtime.run.target import resolve_target
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot

if TYPE_CHECKING:
    import httpx

DEFAULT_BATCH_SIZE = 1000


class ProgressFn(Protocol):
    """Told how far a run is: ``("values", computed so far, None)`` while cells are computed
    (their number is known only at the end), then ``("sent", values sent, values to send)``
    batch by batch (while a run that sends as it computes is computing, values to send is a bound:
    every slot for every store × item in scope);
    ``Runner.backfill`` adds ``("periods", periods done, periods)``."""

    def __call__(self, what: str, count: int, total: int | None = None, /) -> None: ...


StopFn = Callable[[], bool]
"""Asked between batches: True finishes the batch in flight and stops (serve's SIGTERM, a
console's cancel button); the slots stay due, so the next run recomputes and sends the rest."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run: batch size, ``force`` (resend unchanged cells), failures in a row before a
    batch is parked, the drop guard's share and its override, the environment holding the
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
    park_after: int = DEFAULT_PARK_AFTER
    max_drop: float = DEFAULT_MAX_DROP
    accept_drop: bool = False
    now: datetime | None = None  # the instant the run believes it is (catch-up's now)


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
        self.per_store: Counter[tuple[str, str]] = Counter()  # (store, indicator) -> cells
        self.changes: list[CellChange] = []
        self.vanished: list[CellRecord] = []
        self.skipped: Skipped | None = None
        self.notices = Notices()
        self.stopped = False
        self.produced: set[tuple[str, str]] = set()  # (period, org unit) with values
        self.staged = 0  # values in the outbox: the total the send stage counts towards
        self.streaming = False  # batches sent as they are computed (the guard cannot stop it)
        self.at_most = 0  # cells the run can compute (streaming: the bound sending counts to)
        self.run_id: int | None = None
        connection = Connection(
            self.env, options.transport, options.retry_delay, options.deadline, options.cancel
        )
        self.sender = Sender(
            plan.name,
            plan.target,
            journal,
            mode,
            connection,
            self.counts,
            self.timings,
            Delivery(options.batch_size, options.park_after),
        )
        self.admission = Admission(
            plan, journal, mode, connection, self.counts, self.timings,
            client=self.sender.client, online=lambda: self.sender.online,
            clock=lambda: self.sender.clock,
            max_age=options.metadata_max_age,
        )  # fmt: skip

    def go(self, trigger: str) -> RunResult:
        started = time.perf_counter()
        target = resolve_target(self.journal, self.plan, self.env, create=self.mode.records_run)
        run_id = None
        if self.mode.records_run:
            with self.timings.measure("journal"):
                run_id = self.journal.start_run(
                    self.plan.name, self.plan.metadata.spec_sha256, self.mode.trigger(trigger),
                    target or 0,
                )  # fmt: skip
        try:
            self._stages(run_id, target)
            ledger = self.sender.ledger
            ledger.unsettled |= self.admission.unsettled  # withheld cells keep slots due
            later = self._register(run_id, target)  # a withheld cell: its period waits too
            if run_id is not None and target is not None and self.mode.completes_slots:
                settled = ledger.settled(self.slots)
                settled = [s for s in settled if s.period.id not in later]
                complete_slots(self.journal, self.plan.name, settled, run_id, self.timings, target)
        except BaseException as exc:
            if run_id is not None:
                self._settle_in_flight()
                self._record_abort(run_id, exc)
            raise
        finally:
            self.sender.close()
        if run_id is not None and target is not None:
            parked = len(self.journal.parked_batches(self.plan.name, target))
            self.notices = replace(self.notices, parked_batches=parked)
        self.timings.total = time.perf_counter() - started
        summary = self._summary()
        conflicts = finish(self.journal, run_id, summary)
        return RunResult(run_id, summary, conflicts, tuple(self.changes), tuple(self.vanished))

    def _register(self, run_id: int | None, target: int | None) -> set[str]:
        """The spec's ``complete_data_set``: register each (period, org unit) whose every value
        DHIS2 holds; the periods whose registration is still to do (their slots stay due)."""
        from dhispatch.runtime.run.complete import Registrar
        from dhispatch.runtime.run.complete import confirmed_pairs

        sender = self.sender
        if not (self.plan.target.complete_registration and self.mode.stores and sender.contacts):
            return set()
        if run_id is None or target is None or not sender.online or self._stop_requested():
            return set()
        pairs = confirmed_pairs(self.produced, sender.ledger, self.slots)
        if not pairs:
            return set()
        registrar = Registrar(self.plan, self.journal, sender.client, (target, run_id),
                              self.counts, self.timings)  # fmt: skip
        return registrar.register(pairs)

    def _settle_in_flight(self) -> None:
        """A run stopped by an exception still records the answer of the batch on its way, so
        its counts say what reached DHIS2; if that fails too, the batch stays pending in the
        journal and the next run sends it again (the first exception is the one reported)."""
        try:
            self.sender.flush()
        except Exception:  # noqa: BLE001 - the run's own error is reported, this one is not news
            pass

    def _record_abort(self, run_id: int, exc: BaseException) -> None:
        """A run that raised (Ctrl-C, a source error) is recorded with what it did so far —
        the values DHIS2 confirmed before it stopped are in its counts."""
        interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
        summary = replace(self._summary(), status="interrupted" if interrupted else "error")
        data = summary.as_json()
        data["error"] = "interrupted (Ctrl-C or a signal)" if interrupted else str(exc)
        self.journal.finish_run(run_id, summary.status, data)

    def _stages(self, run_id: int | None, target: int | None) -> None:
        self.run_id = run_id
        self.sender.connect()
        if self._stop_requested():
            self.sender.ledger.whole_run = True  # asked to stop while reaching DHIS2
            return
        if run_id is not None and target is not None:
            self.sender.start(run_id, target)
        if not self.sender.online:
            self.sender.ledger.whole_run = True  # whatever is computed is only queued
        self._check_clock()
        if run_id is not None and not self.sender.resend_queue():
            self.sender.ledger.whole_run = True
            return  # DHIS2 still refuses the queue: compute nothing, the slots stay due
        if not self.slots:
            return
        if self._stop_requested():
            self.sender.ledger.whole_run = True  # asked to stop before computing: slots stay due
            return
        with JournalDiff(self.journal, self.plan.name, self.timings, target) as diff:
            held = diff.held(self.slots)
            # the drop guard weighs a run's changes against the values DHIS2 holds; with none
            # held (a new period) or the drop accepted it cannot stop the run, so its batches
            # go out as they are computed instead of waiting in the outbox for its verdict
            self.streaming = self.mode.stores and (held == 0 or self.options.accept_drop)
            self.journal.outbox_begin()
            self._compute(diff, run_id)
            if not self.stopped:
                self._vanished(diff, run_id)
            if not self.stopped and not self._blocked(held):
                self._send_outbox(run_id)
            self.sender.flush()
            if self.streaming and self.options.progress is not None:
                self.options.progress("sent", self.staged, self.staged)
            self.journal.outbox_end()

    def _check_clock(self) -> None:
        """Slots whose period has not started on DHIS2's date are not run (nor completed)."""
        clock = self.sender.clock
        if clock is None:
            return
        running, later = split_future(self.slots, clock)
        self.slots = tuple(running)
        self.notices = replace(
            self.notices,
            future_slots=tuple(f"{s.step_id} {s.period.id}" for s in later),
            clock_skew=clock.skew(self.options.now or datetime.now(UTC)),
        )

    def _compute(self, diff: JournalDiff, run_id: int | None) -> None:
        """Stages 1-3 for the computed cells, one chunk (a batch's worth) at a time, into the
        outbox."""
        size = self.options.batch_size
        batcher = Batcher(size, force=self.options.force)
        require = self.mode is not RunMode.PREVIEW
        with produce(self.plan, self.env, self.slots, self.timings,
                     require_stores=require) as production:  # fmt: skip
            self.skipped = production.skipped
            self.at_most = production.at_most
            chunk: list[Cell] = []
            for cell in production.cells:
                chunk.append(cell)
                self.counts.values += 1
                if len(chunk) >= size:
                    self._stage(batcher.add(self._diff(diff, chunk, run_id)))
                    self._progress()
                    if self._stop_requested():
                        break
            else:
                self._stage(batcher.add(self._diff(diff, chunk, run_id)))
            self._unformattable(production.unformattable)
        self._progress()
        rest = batcher.rest()
        if rest is not None and not self.stopped:
            self._stage([rest])

    def _unformattable(self, problems: Sequence[str]) -> None:
        self.counts.unformattable = len(problems)
        self.notices = replace(self.notices, unformattable=tuple(problems[:200]))

    def _diff(self, diff: JournalDiff, chunk: list[Cell], run_id: int | None) -> list[CellChange]:
        """Stage 2, then the admission stage: the changes worth batching."""
        changes = diff.classify(chunk)
        chunk.clear()
        # counted per chunk, not per value: this runs for every computed value
        ledger, counts = self.sender.ledger, self.counts
        self.produced.update((c.cell.key.period, c.cell.key.org_unit) for c in changes)
        for state, n in Counter(c.state for c in changes).items():
            setattr(counts, state, getattr(counts, state) + n)
        counts.to_zero += sum(c.to_zero for c in changes if c.state == "changed")
        self.per_store.update((c.cell.store, c.cell.indicator) for c in changes)
        for change in changes:
            if change.state == "waiting":
                key = change.cell.key
                ledger.unconfirmed.add((key.period, key.org_unit))
                if change.queue_status != "parked":
                    ledger.cell_due(change.cell.step_id, key.period)
        if self.mode is RunMode.PREVIEW:
            self.changes += changes
            return []
        return self.admission.admit(changes, run_id, force=self.options.force)

    def _stage(self, batches: Iterable[Batch]) -> None:
        """Batches to the outbox, or (streaming) on their way to DHIS2 at once."""
        for batch in batches:
            if self.streaming:
                if not self._send(batch, self.run_id):
                    return
                self.staged += len(batch.payload)
                if self.options.progress is not None:  # known when computing ends: a bound
                    self.options.progress("sent", self.staged, max(self.at_most, self.staged))
            elif self.mode.stores or self.mode is RunMode.DRY_RUN:
                with self.timings.measure("journal"):
                    self.journal.outbox_add(batch.strategy, batch.payload)
                self.staged += len(batch.payload)

    def _vanished(self, diff: JournalDiff, run_id: int | None) -> None:
        self.vanished = diff.vanished(self.slots)
        self.counts.vanished = len(self.vanished)
        if self.mode is not RunMode.PREVIEW:
            steps = {s.id: s for s in self.plan.steps}
            size = self.options.batch_size
            gone = self.admission.admit_vanished(self.vanished, run_id)
            self._stage(vanished_batches(gone, self.plan.vanished, steps, size))

    def _blocked(self, held: int) -> bool:
        """The drop guard, before anything of this run is sent (``held``: the non-zero values
        the journal said DHIS2 holds for the run's slots when it began)."""
        guard = DropGuard(self.options.max_drop, self.options.accept_drop)
        gone = vanishing(self.vanished, self.plan.vanished)
        why = guard.verdict(held, self.counts.to_zero, gone)
        if why is None or self.mode is RunMode.PREVIEW:
            self.notices = replace(self.notices, blocked=why)
            return False
        self.notices = replace(self.notices, blocked=why)
        self.sender.ledger.whole_run = True
        return True

    def _send_outbox(self, run_id: int | None) -> None:
        """Stage 4: the staged batches, oldest first, until done or asked to stop. Each
        batch is read from the outbox while the one before is in flight."""
        sent = 0
        while True:
            with self.timings.measure("journal"):
                staged = self.journal.outbox_take()
            if staged is None:
                break
            strategy, payload, packed = staged
            if not self._send(Batch(payload, strategy), run_id, packed):
                break
            sent += len(payload)
            if self.options.progress is not None:
                self.options.progress("sent", sent, self.staged)
        self.sender.flush()

    def _send(self, batch: Batch, run_id: int | None, packed: Packed | None = None) -> bool:
        """This batch's request built while the batch in flight is imported, then the batch
        journalled and on its way once that one is answered (whose answer is recorded
        meanwhile) — unless asked to stop: nothing new is journalled or sent after a stop.
        False once stopped."""
        ready = self.sender.prepare(batch, packed)  # while the one before is in flight
        self.sender.answered()
        if self._stop_requested():
            self.sender.flush()
            return False
        self.sender.deliver(ready, run_id)
        return True

    def _stop_requested(self) -> bool:
        """Asked to stop (or a stop abandoned a request): the run stops, its slots stay due."""
        if self.sender.cancelled or (self.options.stop is not None and self.options.stop()):
            self.stopped = True
            # whatever was computed and not sent is in no batch: only a due slot brings it back
            self.sender.ledger.whole_run = True
        return self.stopped

    def _progress(self) -> None:
        if self.options.progress is not None:
            self.options.progress("values", self.counts.values)

    def _status(self) -> str:
        return run_status(
            self.mode, self.plan.target.enabled, self.sender.online,
            self.stopped or self.sender.cancelled, self.counts,
            blocked=self.notices.blocked is not None and self.mode is not RunMode.PREVIEW,
            deferred=bool(self.notices.future_slots),
        )  # fmt: skip

    def _summary(self) -> RunSummary:
        return RunSummary(
            plan=self.plan.name,
            status=self._status(),
            slots=self.slots,
            vanished_policy=self.plan.vanished,
            counts=replace(self.counts),
            skipped=self.skipped,
            per_store=_by_store(self.per_store),
            timings=replace(self.timings),
            error=self.sender.error,
            withheld_causes=dict(self.admission.causes),
            admission=self.admission.note,
            notices=replace(self.notices, instead=self._instead()),
        )

    def _instead(self) -> tuple[str, ...]:
        """The pushes DHIS2 takes for slots whose whole period its rules lock (openFuturePeriods,
        expiryDays, input periods: their values were withheld)."""
        spec = self.plan.metadata.spec_path
        periods = self.admission.open_instead(self.slots)
        return tuple(f"dhispatch push {spec} --period {period}" for period in periods)


def _by_store(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Cells per store, then per indicator (the summary's ``per_store``)."""
    out: dict[str, dict[str, int]] = {}
    for (store, indicator), n in counts.items():
        out.setdefault(store, {})[indicator] = n
    return out
