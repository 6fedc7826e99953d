"""Stage 4 of a run: journal each batch as pending, send it, record DHIS2's answer.

A batch row is committed *before* its HTTP request, so a process killed in between leaves it
``pending`` and the next run resends it. When DHIS2 cannot be reached the batch is ``failed`` and
the rest of the run is queued behind it (journalled, not sent). A dry run asks DHIS2 to validate
and journals nothing; a disabled target is never contacted.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Target
from dhispatch.runtime.run.batches import Batch
from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.timing import Timings

if TYPE_CHECKING:
    import httpx

    from dhispatch.runtime.dhis2 import DataValue
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import ImportResult


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """One batch's fate: DHIS2's counts, or ``error`` when it could not be sent at all."""

    sent: int = 0
    refused: int = 0
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0
    error: str | None = None


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


class Sender:
    """Sends the batches of one run to one target, counting what DHIS2 did with them."""

    def __init__(
        self,
        plan_name: str,
        target: Target,
        journal: Journal,
        mode: RunMode,
        connection: Connection,
        counts: RunCounts,
        timings: Timings,
    ) -> None:
        self._plan_name = plan_name
        self._target = target
        self._journal = journal
        self._connection = connection
        self._counts = counts
        self._timings = timings
        self._stores = mode.stores and target.enabled
        self._validates = mode is RunMode.DRY_RUN and target.enabled
        self._client: Dhis2Client | None = None
        self.online = True  # False once DHIS2 failed a batch: the rest is queued
        self.cancelled = False  # True once a stop request abandoned a request: the rest waits
        self.error: str | None = None  # the last failure, for the summary

    def connect(self) -> None:
        """Build the client up front (when the run talks to DHIS2), so that a configuration
        problem stops the run with one message before anything is computed."""
        from dhispatch.runtime.dhis2 import ConfigError

        if self._stores or self._validates:
            try:
                self._client_for()
            except ConfigError as exc:
                raise RunError(f"{self._target.origin}: {exc}") from exc

    def client(self) -> Dhis2Client:
        """The run's one client of the target (the admission stage reads metadata with it)."""
        return self._client_for()

    def close(self) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None

    def resend_pending(self, run_id: int) -> bool:
        """Resend this plan's pending and failed batches, oldest first; False on an outage."""
        if not self._stores:
            return True
        with self._timings.measure("journal"):
            pending = self._journal.pending_batches(self._plan_name)
        for row in pending:
            if self._stopping():
                return False  # the queue waits for the next run
            self._counts.resent_batches += 1
            if self._post(row, run_id).error is not None:
                self.online = self.cancelled  # a stop is not an outage
                return False
        return True

    def deliver(self, batch: Batch, run_id: int | None) -> SendOutcome | None:
        """Journal and send (or validate) one batch; None when nothing was sent."""
        if not self._stores:
            if not self._validates:
                return None
            outcome = self._validate(batch)
            self.online = outcome.error is None
            return outcome
        assert run_id is not None, "a storing run has a journal row"
        if self._stopping():
            return None  # asked to stop: journal nothing new, the slots stay due
        with self._timings.measure("journal"):
            row = self._journal_batch(batch, run_id)
        if not self.online:
            self._counts.queued += len(batch.payload)
            return None
        outcome = self._post(row, run_id)
        self.online = outcome.error is None or self.cancelled
        return outcome

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

    def _journal_batch(self, batch: Batch, run_id: int) -> BatchRow:
        """Commit the batch as ``pending`` — always before the request that sends it."""
        target = self._target
        schemes = target.id_schemes.as_json()
        batch_id = self._journal.add_batch(
            run_id, self._plan_name, target.data_set, batch.strategy, schemes, batch.payload
        )
        return BatchRow(
            id=batch_id, run_id=run_id, plan_name=self._plan_name, data_set=target.data_set,
            strategy=batch.strategy, id_schemes=schemes, payload=batch.payload, digest="",
            status="pending", size=len(batch.payload), http_status=None, imported=0, updated=0,
            ignored=0, deleted=0, attempts=0, error=None,
        )  # fmt: skip

    def _post(self, row: BatchRow, run_id: int) -> SendOutcome:
        """Send one journalled batch and journal DHIS2's answer (or the failure)."""
        from dhispatch.runtime.dhis2 import Cancelled
        from dhispatch.runtime.dhis2 import Dhis2Error

        with self._timings.measure("journal"):
            self._journal.batch_attempt(row.id)
        with self._timings.measure("payload"):
            values = data_values(row.payload)
        request = self._timings.measure("http")
        try:
            with request:
                result = self._client_for().push(
                    values,
                    data_set=row.data_set,
                    id_schemes=self._target.id_schemes,
                    import_strategy=row.strategy,
                )
        except Cancelled as exc:
            # whether DHIS2 got it is unknown: the batch stays pending, the next run resends it
            self.cancelled = True
            return SendOutcome(error=str(exc))
        except Dhis2Error as exc:
            with self._timings.measure("journal"):
                self._journal.batch_failed(row.id, run_id, getattr(exc, "status", None), str(exc))
            self._counts.failed_batches += 1
            self.error = str(exc)
            return SendOutcome(error=str(exc))
        outcome = _outcome(result, len(row.payload))
        with self._timings.measure("journal"):
            self._journal.batch_sent(
                row, run_id, http_status=result.http_status,
                counts=(result.imported, result.updated, result.ignored, result.deleted),
                conflicts=conflict_rows(row, run_id, result),
                refused=set(result.rejected_indexes), seconds=request.seconds,
            )  # fmt: skip
        self._count(outcome)
        return outcome

    def _validate(self, batch: Batch) -> SendOutcome:
        """A dry run: DHIS2 validates the batch (``dryRun=true``) and stores nothing."""
        from dhispatch.runtime.dhis2 import Dhis2Error

        try:
            with self._timings.measure("http"):
                result = self._client_for().push(
                    data_values(batch.payload),
                    data_set=self._target.data_set,
                    id_schemes=self._target.id_schemes,
                    dry_run=True,
                    import_strategy=batch.strategy,
                )
        except Dhis2Error as exc:
            self.error = str(exc)
            return SendOutcome(error=str(exc))
        rejected = len(result.rejected_indexes)
        self._counts.refused += rejected
        self._counts.sent += len(batch.payload) - rejected
        return SendOutcome(sent=len(batch.payload) - rejected, refused=rejected)

    def _count(self, outcome: SendOutcome) -> None:
        counts = self._counts
        counts.batches += 1
        counts.sent += outcome.sent
        counts.refused += outcome.refused
        counts.imported += outcome.imported
        counts.updated += outcome.updated
        counts.ignored += outcome.ignored
        counts.deleted += outcome.deleted


def _outcome(result: ImportResult, size: int) -> SendOutcome:
    refused = len(result.rejected_indexes)
    # a data-set-level refusal without conflicts (status ERROR, nothing written) refuses all
    aborted = result.status == "ERROR" and not refused and not result.conflicts
    return SendOutcome(
        sent=size - refused,
        refused=refused + (size if aborted else 0),
        imported=result.imported,
        updated=result.updated,
        ignored=result.ignored,
        deleted=result.deleted,
    )


def data_values(payload: Sequence[Mapping[str, Any]]) -> list[DataValue]:
    """The DHIS2 data values of a batch payload (provenance fields left out)."""
    from dhispatch.runtime.dhis2 import DataValue

    return [
        DataValue(
            data_element=v["dataElement"],
            period=v["period"],
            org_unit=v["orgUnit"],
            category_option_combo=v.get("categoryOptionCombo"),
            value=v["value"],
        )
        for v in payload
    ]


def conflict_rows(batch: BatchRow, run_id: int, result: ImportResult) -> list[ConflictRow]:
    """DHIS2's refusals mapped back to the store, item, indicator and spec line of each value."""
    rows: list[ConflictRow] = []
    for conflict in result.conflicts:
        known: list[int | None] = [i for i in conflict.indexes if 0 <= i < len(batch.payload)]
        indexes = known or [None]
        for i in indexes:
            value: Mapping[str, Any] = batch.payload[i] if i is not None else {}
            rows.append(
                ConflictRow(
                    batch_id=batch.id, run_id=run_id, idx=i, store=value.get("store"),
                    item=value.get("item"), indicator=value.get("indicator"),
                    origin=value.get("origin"), code=conflict.error_code,
                    message=conflict.message,
                )
            )  # fmt: skip
    if result.status == "ERROR" and not result.conflicts and result.description:
        rows.append(
            ConflictRow(batch.id, run_id, None, None, None, None, None, None, result.description)
        )
    return rows
