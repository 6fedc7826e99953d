"""Stage 4 of a run: reach DHIS2 (its version and clock first), resend the queue, then journal
each new batch as pending and send it (``deliver.Courier``).

A batch row is committed *before* its HTTP request, so a process killed in between leaves it
``pending`` and the next run resends it. After an outage the rest of the run is queued behind it
(journalled, not sent). A dry run asks DHIS2 to validate and journals nothing; a disabled target
is never contacted.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import Packed
from dhispatch.runtime.plan import Target
from dhispatch.runtime.run.batches import Batch
from dhispatch.runtime.run.clock import ServerClock
from dhispatch.runtime.run.clock import read_clock
from dhispatch.runtime.run.deliver import Courier
from dhispatch.runtime.run.deliver import InFlight
from dhispatch.runtime.run.deliver import classify
from dhispatch.runtime.run.deliver import data_values
from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.ledger import SlotLedger
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.timing import Timings

if TYPE_CHECKING:
    import httpx

    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import ServerVersion
    from dhispatch.runtime.dhis2.client import PushRequest

DEFAULT_PARK_AFTER = 3


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach the target: the environment holding its credentials, the deadline of one
    request (None: the client's), the event that abandons requests when the run must stop,
    and (tests, benchmarks) a transport and a faster retry delay."""

    env: Mapping[str, str]
    transport: httpx.BaseTransport | None = None
    retry_delay: float | None = None
    deadline: float | None = None
    cancel: threading.Event | None = None

    def client(self, target: Target) -> Dhis2Client:
        """A client of ``target`` with the credentials read from ``env`` now (ConfigError when
        a variable is unset), this connection's deadline and cancel event; the caller closes
        it."""
        from dhispatch.runtime.dhis2 import Dhis2Client
        from dhispatch.runtime.dhis2 import RetryPolicy

        kwargs: dict[str, Any] = {"cancel": self.cancel}
        if self.deadline is not None:
            kwargs["deadline"] = self.deadline
        if self.transport is not None:
            kwargs["transport"] = self.transport
        if self.retry_delay is not None:
            kwargs["retry"] = RetryPolicy(base_delay=self.retry_delay)
        return Dhis2Client.for_target(target, self.env, **kwargs)


@dataclass(frozen=True, slots=True)
class Delivery:
    """The sender's settings: batch size, failures in a row before a batch is parked."""

    batch_size: int
    park_after: int = DEFAULT_PARK_AFTER


@dataclass(frozen=True, slots=True)
class Ready:
    """A batch (``packed``: its payload packed for the journal, if it is) with its request
    built (``request``; None: built when it is sent)."""

    batch: Batch
    packed: Packed | None
    request: PushRequest | None


class Sender:
    """Sends the batches of one run to one target, counting what DHIS2 proved of them."""

    def __init__(
        self,
        plan_name: str,
        target: Target,
        journal: Journal,
        mode: RunMode,
        connection: Connection,
        counts: RunCounts,
        timings: Timings,
        delivery: Delivery,
    ) -> None:
        self._plan_name = plan_name
        self._target = target
        self._journal = journal
        self._connection = connection
        self._counts = counts
        self._timings = timings
        self._delivery = delivery
        self._stores = mode.stores and target.enabled
        self._validates = mode is RunMode.DRY_RUN and target.enabled
        self._client: Dhis2Client | None = None
        self._courier: Courier | None = None
        self.version: ServerVersion | None = None
        self.clock: ServerClock | None = None
        self.online = True  # False once DHIS2 could not be reached: the rest is queued
        self.cancelled = False  # True once a stop request abandoned a request: the rest waits
        self.error: str | None = None  # the last failure, for the summary
        self.ledger = SlotLedger()
        self.target_id = 0
        self._flight: InFlight | None = None  # the batch whose request is under way

    @property
    def contacts(self) -> bool:
        return self._stores or self._validates

    def connect(self) -> None:
        """Reach DHIS2 before anything is computed: a configuration problem stops the run with
        one message; an unreachable server makes the run offline (its batches are journalled
        and queued, not sent). The server's version decides how its counts are read, its clock
        which slots may run."""
        from dhispatch.runtime.dhis2 import Cancelled
        from dhispatch.runtime.dhis2 import ConfigError
        from dhispatch.runtime.dhis2 import Dhis2Error
        from dhispatch.runtime.dhis2 import ServerVersion

        if not self.contacts:
            return
        try:
            info = self._client_for().system_info()
        except ConfigError as exc:
            raise RunError(f"{self._target.origin}: {exc}") from exc
        except Cancelled as exc:
            self.cancelled, self.error = True, str(exc)  # a stop, not an outage
            return
        except Dhis2Error as exc:
            self.online, self.error = False, str(exc)
            return
        self.version = ServerVersion.parse(info.version)
        self.clock = read_clock(info.server_date, info.server_time_zone)

    def client(self) -> Dhis2Client:
        """The run's one client of the target (the admission stage reads metadata with it)."""
        return self._client_for()

    def close(self) -> None:
        """Record the answer of the request in flight, if any, and close the connection."""
        try:
            self.flush()
        finally:
            if self._courier is not None:
                self._courier.close()
            self._close_client()

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None

    def start(self, run_id: int, target_id: int) -> None:
        """Ready to send for run ``run_id`` (the courier carries the run's counts and ledger)."""
        self.target_id = target_id
        self._courier = Courier(
            self._journal, self._client_for, self._target.id_schemes, run_id,
            version=self.version, limit=self._delivery.batch_size,
            park_after=self._delivery.park_after, counts=self._counts, timings=self._timings,
            ledger=self.ledger,
        )  # fmt: skip
        self._courier.online = self.online

    def resend_queue(self) -> bool:
        """Resend this plan's due batches, oldest first (re-batched to the current size, values
        superseded since left out). False when the queue could not be sent (DHIS2 unreachable):
        the run computes nothing then, so an outage never queues the same cells twice."""
        if not self._stores or self._courier is None:
            return True
        with self._timings.measure("journal"):
            due = self._journal.due_batches(self._plan_name, self.target_id)
        if not self.online:
            self._counts.queued += sum(len(row.payload) for row in due)
            return not due
        for row in due:
            if self._stopping():
                return False  # the queue waits for the next run
            self._counts.resent_batches += 1
            self._courier.send(row, resend=True)
            if not self._courier.online or self._courier.cancelled:
                break
        return self._sync()

    def prepare(self, batch: Batch, packed: Packed | None = None) -> Ready:
        """Build one batch's request (``packed``: its payload already packed, for the journal)
        while the batch before is still in flight."""
        request = None
        if self._stores and self._courier is not None:
            request = self._courier.prepare(batch.payload, self._target.data_set, batch.strategy)
        return Ready(batch, packed, request)

    def deliver(self, ready: Ready, run_id: int | None) -> None:
        """Journal a prepared batch and send it (or validate it). Its request goes on in the
        background while the caller computes or reads the next batch; the answer of the batch
        before is recorded while this one is on its way (``answered`` first: the caller waits
        for it before it decides to go on)."""
        if not self._stores:
            if self._validates and self.online:
                self._validate(ready.batch)
            return
        assert run_id is not None and self._courier is not None, "a storing run has a row"
        previous, self._flight = self._flight, None
        if previous is not None and not previous.answered():
            self._finish(previous)  # a failed request changes what comes next
            previous = None
        if self._stopping():
            self._finish(previous)
            self._sync()
            return  # asked to stop: journal nothing new, the slots stay due
        row = self._journalled(ready.batch, run_id, ready.packed)
        # after an outage the courier keeps the batch queued instead of sending it
        self._flight = self._courier.start(row, request=ready.request)
        self._finish(previous)
        self._sync()

    def send(self, batch: Batch, run_id: int | None, packed: Packed | None = None) -> None:
        """``prepare`` then ``deliver``."""
        self.deliver(self.prepare(batch, packed), run_id)

    def answered(self) -> None:
        """Wait for the answer of the batch in flight (not recording it yet, unless the request
        failed): the caller decides on it whether to go on."""
        flight = self._flight
        if flight is not None and not flight.answered():
            self.flush()

    def flush(self) -> bool:
        """Record the answer of the batch in flight, if any (waiting for it); False when DHIS2
        could not be reached or a stop abandoned a request."""
        flight, self._flight = self._flight, None
        self._finish(flight)
        return self._sync()

    def _finish(self, flight: InFlight | None) -> None:
        if flight is not None and self._courier is not None:
            self._courier.finish(flight)

    def _journalled(self, batch: Batch, run_id: int, packed: Packed | None) -> BatchRow:
        target = self._target
        with self._timings.measure("journal"):
            return self._journal.new_batch(
                run_id, self._plan_name, target.data_set, batch.strategy,
                target.id_schemes.as_json(), batch.payload, self.target_id, packed,
            )  # fmt: skip

    def _sync(self) -> bool:
        """The courier's state is the sender's: offline after an outage, cancelled after a stop
        abandoned a request (a stop is not an outage: the run is stopped, not failed)."""
        if self._courier is not None:
            self.online = self.online and self._courier.online
            self.cancelled = self.cancelled or self._courier.cancelled
            self.error = self._courier.error or self.error
        return self.online and not self.cancelled

    def _stopping(self) -> bool:
        """Asked to stop (serve's SIGTERM): no new batch is journalled or sent, and a batch
        already journalled goes out once (DHIS2 retries end with the stop)."""
        cancel = self._connection.cancel
        if cancel is not None and cancel.is_set():
            self.cancelled = True
        return self.cancelled

    # ---- DHIS2 ---------------------------------------------------------------------------

    def _client_for(self) -> Dhis2Client:
        if self._client is None:
            self._client = self._connection.client(self._target).__enter__()
        return self._client

    def _validate(self, batch: Batch) -> None:
        """A dry run: DHIS2 validates the batch (``dryRun=true``) and stores nothing."""
        from dhispatch.runtime.dhis2 import Dhis2Error
        from dhispatch.runtime.dhis2.reconcile import place

        values = data_values(batch.payload)
        try:
            with self._timings.measure("http"):
                result = self._client_for().push(
                    values, data_set=self._target.data_set, id_schemes=self._target.id_schemes,
                    dry_run=True, import_strategy=batch.strategy,
                )  # fmt: skip
        except Dhis2Error as exc:
            failure = classify(exc)
            self.error = failure.error
            self.online = failure.kind is not None
            return
        placement = place(result, values)
        refused = len(values) if placement.whole is not None else len(placement.refused)
        self._counts.refused += refused
        self._counts.sent += len(values) - refused
