"""Stage 4b of a run: one journalled batch to DHIS2, and what its answer proves.

Values DHIS2 proved it holds are recorded (with their cells), values it refused are recorded with
their conflicts — both settle the batch. An answer that proves nothing (no import summary, counts
that do not add up, a refusal it does not place) leaves the batch due with the reason; a batch
failing the same way ``park_after`` times in a row is parked so the rest of the queue flows. A
batch over the size DHIS2 takes is re-batched (a 413 halves it); a whole-batch refusal that names
a few values refuses those and sends the rest again.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import Settlement
from dhispatch.runtime.plan import IdSchemes
from dhispatch.runtime.run.ledger import SlotLedger
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.timing import Timings

if TYPE_CHECKING:
    from dhispatch.runtime.dhis2 import Conflict
    from dhispatch.runtime.dhis2 import DataValue
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import Dhis2Error
    from dhispatch.runtime.dhis2 import ImportResult
    from dhispatch.runtime.dhis2 import ServerVersion
    from dhispatch.runtime.dhis2.client import PushRequest

MAX_REQUESTS = 64  # per batch and run: isolating refused values (what is left stays due)
# 2.43 group refusals that depend on the values' own keys (element, org unit, combos, period):
# when one names no value as sent (it names UIDs, the values went by code), halving finds them
BISECTABLE = frozenset({"E8011", "E8012", "E8020", "E8021", "E8022", "E8023", "E8024", "E8025",
                        "E8030", "E8031", "E8032", "E8033"})  # fmt: skip
OUTAGE_STATUSES = frozenset({401, 403, 404, 407, 408, 429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a batch stays due. ``kind`` None is an outage (DHIS2 unreachable, or refusing every
    request): not the batch's doing, not counted towards parking, and it stops the run."""

    error: str
    http_status: int | None
    kind: str | None


def classify(exc: Dhis2Error) -> Failure:
    """The failure of a request that raised."""
    from dhispatch.runtime.dhis2 import HttpRefusal
    from dhispatch.runtime.dhis2 import ProtocolError
    from dhispatch.runtime.dhis2 import ServerError

    status = getattr(exc, "status", None)
    if isinstance(exc, HttpRefusal | ServerError) and status not in OUTAGE_STATUSES:
        return Failure(str(exc), status, f"HTTP {status}")
    if isinstance(exc, ProtocolError):
        return Failure(str(exc), status, "unreadable answer")
    return Failure(str(exc), status, None)


def bisectable(conflict: Conflict) -> bool:
    return conflict.error_code in BISECTABLE


@dataclass(frozen=True, slots=True)
class InFlight:
    """A journalled batch whose first request is under way (``first`` None: no value of it is
    still to send)."""

    row: BatchRow
    fresh: list[int]
    values: list[DataValue]
    first: Future[tuple[ImportResult, float]] | None

    def answered(self) -> bool:
        """Wait for the first answer; True when it is an import summary (the next batch may
        go while this one is recorded), False when the request failed (record it first: an
        outage, a 413 or a stop changes what the next batch does)."""
        if self.first is None:
            return True
        wait([self.first])
        return self.first.exception() is None


@dataclass(slots=True)
class _Answer:
    """What the requests for one batch proved so far."""

    held: set[int] = field(default_factory=set)
    refused: dict[int, tuple[Conflict, ...]] = field(default_factory=dict)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    http_status: int | None = None
    seconds: float = 0.0
    requests: int = 0

    def add(self, result: ImportResult, seconds: float) -> None:
        self.requests += 1
        self.http_status = result.http_status
        self.seconds += seconds
        for i, n in enumerate((result.imported, result.updated, result.ignored, result.deleted)):
            self.counts[i] += n


class Courier:
    """Sends the journalled batches of one run and records what each answer proves."""

    def __init__(
        self,
        journal: Journal,
        client: Callable[[], Dhis2Client],
        schemes: IdSchemes,
        run_id: int,
        *,
        version: ServerVersion | None,
        limit: int,
        park_after: int,
        counts: RunCounts,
        timings: Timings,
        ledger: SlotLedger,
    ) -> None:
        self._journal, self._client, self._schemes = journal, client, schemes
        self._run_id, self._version = run_id, version
        self.limit, self._park_after = limit, park_after
        self._counts, self._timings, self._ledger = counts, timings, ledger
        self._aliases: dict[str, str] = {}  # UID -> code, for ≤2.36 conflicts naming UIDs
        self.cancelled = False  # a stop request abandoned a request: nothing more is sent
        self.online = True  # False after an outage: later batches are journalled, not sent
        self.error: str | None = None
        self._workers: ThreadPoolExecutor | None = None  # sends a batch's first request

    def send(self, row: BatchRow, *, resend: bool = False) -> None:
        """Send one journalled batch (resent: without values a newer batch superseded)."""
        flight = self.start(row, resend=resend)
        if flight is not None:
            self.finish(flight)

    def prepare(
        self, payload: Sequence[Mapping[str, Any]], data_set: str, strategy: str
    ) -> PushRequest | None:
        """A new batch's request, built ahead (while the batch before is in flight); None when
        ``start`` will not send it whole (queued, or to be split)."""
        if not self.online or self.cancelled or not payload or len(payload) > self.limit:
            return None
        return self._client().prepare_push(data_values(payload), data_set=data_set,
                                           id_schemes=self._schemes,
                                           import_strategy=strategy)  # fmt: skip

    def start(
        self, row: BatchRow, *, resend: bool = False, request: PushRequest | None = None
    ) -> InFlight | None:
        """Send one journalled batch's first request in the background (the caller goes on
        computing while DHIS2 imports it); ``finish`` records its answer. ``request``: the
        batch's whole request, built by ``prepare``. None when there is nothing in flight: the
        batch was queued, or split and sent part by part."""
        if not self.online or self.cancelled:
            self._counts.queued += len(row.payload)
            self._ledger.values_due(row.payload)
            return None
        if len(row.payload) > self.limit:
            with self._timings.measure("journal"):
                children = self._journal.split_batch(row, self.limit, self._run_id)
            for child in children:
                self.send(child, resend=resend)
            return None
        with self._timings.measure("journal"):
            fresh = self._journal.fresh_indexes(row) if resend else list(range(len(row.payload)))
            self._journal.batch_attempt(row.id)
        if request is not None and not resend:
            sent = self._pool().submit(self._send_prepared, request)
            return InFlight(row, fresh, list(request.values), sent)
        values = data_values(row.payload)
        first = None
        if fresh:
            part = [values[i] for i in fresh]
            first = self._pool().submit(self._push, part, row.data_set, row.strategy)
        return InFlight(row, fresh, values, first)

    def finish(self, flight: InFlight) -> None:
        """Wait for a batch's first answer, send what it leaves to send, record the outcome."""
        self._requests(flight.row, flight.fresh, flight.values, flight.first)

    def close(self) -> None:
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._workers is None:
            self._workers = ThreadPoolExecutor(1, thread_name_prefix="dhispatch-send")
        return self._workers

    def _send_prepared(self, request: PushRequest) -> tuple[ImportResult, float]:
        with self._timings.measure("http") as sent:
            result = self._client().send_push(request)
        return result, sent.seconds

    def _push(
        self, part: list[DataValue], data_set: str, strategy: str
    ) -> tuple[ImportResult, float]:
        """One request (on the sending thread or the caller's): DHIS2's answer and its
        seconds."""
        with self._timings.measure("http") as request:
            result = self._client().push(part, data_set=data_set, id_schemes=self._schemes,
                                         import_strategy=strategy)  # fmt: skip
        return result, request.seconds

    def _requests(
        self,
        row: BatchRow,
        fresh: list[int],
        values: list[DataValue],
        first: Future[tuple[ImportResult, float]] | None = None,
    ) -> None:
        """The requests of one batch: one (``first``, when already under way), plus one per
        part still to send after a refusal of the whole batch — its named culprits left out,
        or (naming none) halved."""
        from dhispatch.runtime.dhis2 import Cancelled
        from dhispatch.runtime.dhis2 import Dhis2Error
        from dhispatch.runtime.dhis2 import PayloadTooLarge

        answer, work, failure = _Answer(), [fresh] if fresh else [], None
        while work and failure is None:
            if answer.requests >= MAX_REQUESTS:
                failure = Failure(f"gave up isolating refused values after {MAX_REQUESTS} "
                                  "requests", None, "isolation")  # fmt: skip
                break
            part = work.pop(0)
            try:
                if first is not None:
                    result, seconds = first.result()
                else:
                    result, seconds = self._push([values[i] for i in part], row.data_set,
                                                 row.strategy)  # fmt: skip
            except PayloadTooLarge as exc:
                if not answer.requests and len(part) == len(row.payload) > 1:
                    self._halve(row)
                    return
                failure = Failure(str(exc), exc.status, "HTTP 413")
                work.insert(0, part)
                break
            except Cancelled as exc:
                # whether DHIS2 got it is unknown: what is left stays due, the next run resends
                self.cancelled, self.error = True, str(exc)
                if not answer.held and not answer.refused:
                    self._ledger.values_due(row.payload)
                    return
                failure = Failure(str(exc), None, "stopped")
                work.insert(0, part)
                break
            except Dhis2Error as exc:
                failure = classify(exc)
                work.insert(0, part)
                break
            finally:
                first = None
            answer.add(result, seconds)
            failure = self._judge(result, row, part, values, answer, work)
            if failure is not None:
                work.insert(0, part)
        self._conclude(row, answer, [i for part in work for i in part], failure)

    def _judge(
        self,
        result: ImportResult,
        row: BatchRow,
        part: list[int],
        values: list[DataValue],
        answer: _Answer,
        work: list[list[int]],
    ) -> Failure | None:
        """Record what one answer proved for ``part``; queue what must be sent again."""
        from dhispatch.runtime.dhis2 import reconcile

        sent = [values[i] for i in part]
        verdict = reconcile(result, sent, self._version, row.strategy, self._aliases)
        if verdict.unconfirmed is not None and self._learn_codes(result):
            verdict = reconcile(result, sent, self._version, row.strategy, self._aliases)
        if verdict.unconfirmed is not None:
            return Failure(verdict.unconfirmed, result.http_status, "unconfirmed answer")
        if verdict.whole is not None and len(part) > 1 and bisectable(verdict.whole):
            half = len(part) // 2  # a group refusal naming no value sent: which ones? halve
            work[:0] = [part[:half], part[half:]]
            return None
        answer.held.update(part[i] for i in verdict.held)
        answer.refused.update({part[i]: c for i, c in verdict.refused.items()})
        if verdict.retry:
            work.insert(0, [part[i] for i in sorted(verdict.retry)])
        return None

    def _learn_codes(self, result: ImportResult) -> bool:
        """≤2.36 names found objects by UID: when the values went by code, learn the codes of
        the UIDs its unplaced conflicts name (one lookup per kind). True when any was learnt."""
        from dhispatch.runtime.dhis2 import Dhis2Error
        from dhispatch.runtime.dhis2.reconcile import unplaced_uids

        by_code = "CODE" in (self._schemes.data_element, self._schemes.org_unit,
                             self._schemes.category_option_combo)  # fmt: skip
        old = self._version is None or self._version.generation <= 36
        uids = unplaced_uids(result) - self._aliases.keys() if by_code and old else set()
        if not uids:
            return False
        try:
            learnt = self._client().codes_of(uids)
        except Dhis2Error:
            return False  # the batch stays due; the next run asks again
        self._aliases.update(learnt)
        return bool(learnt)

    def _halve(self, row: BatchRow) -> None:
        """HTTP 413: this batch, and every later one of the run, at half the size."""
        self.limit = max(1, len(row.payload) // 2)
        with self._timings.measure("journal"):
            children = self._journal.split_batch(row, self.limit, self._run_id, keep_failures=False)
        for child in children:
            self.send(child)

    def _conclude(
        self, row: BatchRow, answer: _Answer, pending: list[int], failure: Failure | None
    ) -> None:
        counts = self._counts
        if failure is not None and failure.kind is None:
            self.online = False
        if failure is not None:
            self.error = failure.error
        if failure is not None and not answer.held and not answer.refused:
            self._failed(row, failure)
            return
        remaining = frozenset(pending) if failure is not None else frozenset()
        outcome = Settlement(
            held=frozenset(answer.held), refused=frozenset(answer.refused),
            conflicts=tuple(conflict_rows(row, self._run_id, answer.refused)),
            remaining=remaining, reason=failure.error if failure else None,
            http_status=answer.http_status, seconds=answer.seconds,
            counts=(answer.counts[0], answer.counts[1], answer.counts[2], answer.counts[3]),
        )  # fmt: skip
        with self._timings.measure("journal"):
            self._journal.batch_settled(row, self._run_id, outcome)
        counts.batches += 1
        counts.sent += len(answer.held)
        counts.refused += len(answer.refused)
        self._ledger.values_due(row.payload[i] for i, c in answer.refused.items() if _later(c))
        self._ledger.values_unconfirmed(row.payload[i] for i in answer.refused)
        imported, updated, ignored, deleted = answer.counts
        counts.imported += imported
        counts.updated += updated
        counts.ignored += ignored
        counts.deleted += deleted
        if remaining:
            counts.unconfirmed += len(remaining)
            counts.failed_batches += 1
            self._ledger.values_due(row.payload[i] for i in remaining)

    def _failed(self, row: BatchRow, failure: Failure) -> None:
        with self._timings.measure("journal"):
            status = self._journal.batch_failed(
                row, self._run_id, failure.http_status, failure.error, kind=failure.kind,
                park_after=self._park_after,
            )  # fmt: skip
        if status == "parked":
            self._counts.parked += len(row.payload)
            self._ledger.values_unconfirmed(row.payload)
            return
        self._counts.failed_batches += 1
        if failure.kind is not None:
            self._counts.unconfirmed += len(row.payload)
        else:
            self._counts.queued += len(row.payload)
        self._ledger.values_due(row.payload)


def _later(conflicts: Sequence[Conflict]) -> bool:
    """Refused only because the period is not open yet: its slot stays due."""
    from dhispatch.runtime.dhis2.reconcile import not_yet

    return any(not_yet(c) for c in conflicts)


def data_values(payload: Sequence[Mapping[str, Any]]) -> list[DataValue]:
    """The DHIS2 data values of a batch payload (provenance fields left out)."""
    from dhispatch.runtime.dhis2 import DataValue

    return [
        DataValue(v["dataElement"], v["period"], v["orgUnit"], v.get("categoryOptionCombo"),
                  v["value"], v.get("attributeOptionCombo"))
        for v in payload
    ]  # fmt: skip


def conflict_rows(
    batch: BatchRow, run_id: int, refused: Mapping[int, Sequence[Conflict]]
) -> list[ConflictRow]:
    """DHIS2's refusals mapped back to the store, item, indicator and spec line of each value."""
    rows: list[ConflictRow] = []
    for i in sorted(refused):
        value = batch.payload[i]
        for conflict in refused[i]:
            rows.append(
                ConflictRow(
                    batch_id=batch.id, run_id=run_id, idx=i, store=value.get("store"),
                    item=value.get("item"), indicator=value.get("indicator"),
                    origin=value.get("origin"), code=conflict.error_code,
                    message=conflict.message,
                )
            )  # fmt: skip
    return rows
