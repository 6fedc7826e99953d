"""The executor: plan + source + slots → indicator values → cells → batches → DHIS2 → journal.

Memory is bounded by the batch size, not the country: indicator values stream from the source,
cells are classified against the journal one chunk at a time, and the set of cells produced (for
duplicate and vanished detection) lives in a temporary table of the journal, not in Python.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import date
from datetime import datetime
from typing import Any

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.cells import ElementResolver
from dhispatch.runtime.cells import ValueBuildError
from dhispatch.runtime.cells import format_value
from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Step

DEFAULT_BATCH_SIZE = 1000


class ExecutionError(Exception):
    """A run that cannot proceed (bad source, unset variable, two steps writing one cell…)."""


@dataclass(frozen=True, slots=True)
class SlotSpec:
    """One due slot of one step, reduced to what the executor needs."""

    step_id: str
    period: str
    period_start: date
    reference: datetime
    due: datetime


@dataclass(slots=True)
class Timings:
    """Seconds spent per stage, for the summary, the report and the benchmark."""

    indicators: float = 0.0
    payload: float = 0.0
    journal: float = 0.0
    http: float = 0.0
    total: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "indicators": round(self.indicators, 4),
            "payload": round(self.payload, 4),
            "journal": round(self.journal, 4),
            "http": round(self.http, 4),
            "total": round(self.total, 4),
        }


@dataclass(slots=True)
class RunResult:
    """What a run did; ``summary`` is also stored in the journal's run row."""

    run_id: int | None
    status: str
    summary: dict[str, Any]
    conflicts: list[ConflictRow] = field(default_factory=list)
    cells: list[tuple[Cell, str, str | None]] = field(default_factory=list)  # plan preview
    vanished: list[CellRecord] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return int(self.summary.get("refused", 0))


ProgressFn = Callable[[str, int], None]


def resolve_database(plan: Plan, env: Mapping[str, str]) -> str:
    """The source database location: literal, or read from an environment variable."""
    database = plan.source.database
    value = database.resolve(env)
    if value is None:
        raise ExecutionError(
            f"environment variable {database.env} is not set (the spec reads the stock database "
            f"from it, {plan.source.origin})"
        )
    return value


def _data_values(payload: Sequence[Mapping[str, Any]]) -> list[Any]:
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


class _TimedJournal:
    """The journal, with the time spent in each of its calls added to the run's timings."""

    def __init__(self, journal: Journal, owner: Executor) -> None:
        self._journal = journal
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._journal, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._owner.timings.journal += time.perf_counter() - t0

        return timed


class Executor:
    """Runs slots of one plan against a journal; one instance per command invocation."""

    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        *,
        env: Mapping[str, str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        transport: Any = None,
        progress: ProgressFn | None = None,
        retry_delay: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        self.plan = plan
        self.journal: Journal = _TimedJournal(journal, self)  # type: ignore[assignment]
        self.env = dict(os.environ if env is None else env)
        self.batch_size = batch_size
        self.transport = transport
        self.progress = progress
        self.retry_delay = retry_delay
        # Asked between batches (serve's SIGTERM): finish the batch in flight, then stop; what
        # was not sent is recomputed by the next run because the slots stay due.
        self.stop = stop
        self.name = plan.name
        self.steps: dict[str, Step] = {s.id: s for s in plan.steps}
        self._client: Any = None
        self._last_error = ""
        self.timings = Timings()

    # ---- DHIS2 ---------------------------------------------------------------------------

    def _client_for(self) -> Any:
        if self._client is None:
            from dhispatch.runtime.dhis2 import Dhis2Client
            from dhispatch.runtime.dhis2 import auth_from_plan

            target = self.plan.target
            auth = auth_from_plan(target.auth, self.env)
            kwargs: dict[str, Any] = {}
            if self.transport is not None:
                kwargs["transport"] = self.transport
            if self.retry_delay is not None:
                from dhispatch.runtime.dhis2 import RetryPolicy

                kwargs["retry"] = RetryPolicy(base_delay=self.retry_delay)
            self._client = Dhis2Client(target.url, auth, **kwargs)
            self._client.__enter__()
        return self._client

    def _connect(self) -> None:
        """Build the client up front so a configuration problem stops the run with one message."""
        from dhispatch.runtime.dhis2 import ConfigError

        try:
            self._client_for()
        except ConfigError as exc:
            raise ExecutionError(f"{self.plan.target.origin}: {exc}") from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None

    def _send(self, batch: BatchRow, run_id: int, stats: Counter[str]) -> bool:
        """Send one journalled batch; True when DHIS2 answered (even with refusals)."""
        from dhispatch.runtime.dhis2 import Dhis2Error

        self.journal.batch_attempt(batch.id)
        t0 = time.perf_counter()
        values = _data_values(batch.payload)
        started = time.perf_counter()
        self.timings.payload += started - t0
        try:
            client = self._client_for()
            result = client.push(
                values,
                data_set=batch.data_set,
                id_schemes=self.plan.target.id_schemes,
                import_strategy=batch.strategy,
            )
        except Dhis2Error as exc:
            self.timings.http += time.perf_counter() - started
            status = getattr(exc, "status", None)
            self.journal.batch_failed(batch.id, run_id, status, str(exc))
            stats["failed_batches"] += 1
            self._last_error = str(exc)
            return False
        seconds = time.perf_counter() - started
        self.timings.http += seconds
        refused = set(result.rejected_indexes)
        conflicts = self._conflict_rows(batch, run_id, result)
        self.journal.batch_sent(
            batch,
            run_id,
            http_status=result.http_status,
            counts=(result.imported, result.updated, result.ignored, result.deleted),
            conflicts=conflicts,
            refused=refused,
            seconds=seconds,
        )
        stats["batches"] += 1
        stats["sent"] += len(batch.payload) - len(refused)
        stats["refused"] += len(refused)
        stats["imported"] += result.imported
        stats["updated"] += result.updated
        stats["ignored"] += result.ignored
        stats["deleted"] += result.deleted
        if result.status == "ERROR" and not refused and not result.conflicts:
            stats["refused"] += len(batch.payload)
        return True

    @staticmethod
    def _conflict_rows(batch: BatchRow, run_id: int, result: Any) -> list[ConflictRow]:
        rows: list[ConflictRow] = []
        for c in result.conflicts:
            indexes = [i for i in c.indexes if 0 <= i < len(batch.payload)] or [None]
            for i in indexes:
                v: Mapping[str, Any] = batch.payload[i] if i is not None else {}
                rows.append(
                    ConflictRow(
                        batch_id=batch.id,
                        run_id=run_id,
                        idx=i,
                        store=v.get("store"),
                        item=v.get("item"),
                        indicator=v.get("indicator"),
                        origin=v.get("origin"),
                        code=c.error_code,
                        message=c.message,
                    )
                )
        if result.status == "ERROR" and not result.conflicts and result.description:
            rows.append(
                ConflictRow(
                    batch.id, run_id, None, None, None, None, None, None, str(result.description)
                )
            )
        return rows

    # ---- cells ---------------------------------------------------------------------------

    def _iter_cells(
        self, slots: Sequence[SlotSpec], skipped: Counter[str], listing: dict[str, Any]
    ) -> Iterator[Cell]:
        from dhispatch.runtime.indicators import IndicatorRequest
        from dhispatch.runtime.indicators import compute
        from dhispatch.runtime.sources import SourceError
        from dhispatch.runtime.sources import open_source

        db = resolve_database(self.plan, self.env)
        rounding = self.plan.target.rounding
        tz = self.plan.target.timezone
        try:
            with open_source(db) as source:
                scope = source.scope(self.plan.source.scope)
                with_ou = tuple(s for s in scope.stores if s.org_unit)
                without_ou = [s.code for s in scope.stores if not s.org_unit]
                skipped["stores_without_org_unit"] = len(without_ou)
                listing["stores_without_org_unit"] = without_ou
                step_ids = sorted({s.step_id for s in slots})
                # data element per (step, item): resolved once, not per store
                elements: dict[str, dict[str, str]] = {}
                no_ref: dict[str, list[str]] = {}
                for sid in step_ids:
                    resolver = ElementResolver(self.steps[sid])
                    elements[sid] = {}
                    no_ref[sid] = []
                    for it in scope.items:
                        de = resolver(it)
                        if de is None:
                            no_ref[sid].append(it.code)
                        else:
                            elements[sid][str(it.id)] = de
                skipped["items_without_reference"] = sum(len(v) for v in no_ref.values())
                listing["items_without_reference"] = {k: v for k, v in no_ref.items() if v}
                wanted = {i for m in elements.values() for i in m}
                items = tuple(it for it in scope.items if str(it.id) in wanted)
                if not with_ou or not items:
                    return
                scope = replace(scope, stores=with_ou, items=items)
                stores = {str(s.id): s for s in with_ou}
                item_codes = {str(it.id): it.code for it in items}
                requests = []
                by_key: dict[str, SlotSpec] = {}
                for sl in slots:
                    step = self.steps[sl.step_id]
                    key = f"{sl.step_id}|{sl.period}"
                    by_key[key] = sl
                    requests.append(
                        IndicatorRequest(
                            key=key,
                            indicator=step.indicator,
                            params=dict(step.params),
                            period_start=sl.period_start,
                            reference=sl.reference,
                        )
                    )
                values = compute(source, scope, requests, tz=tz)
                while True:
                    t0 = time.perf_counter()
                    try:
                        iv = next(values)
                    except StopIteration:
                        self.timings.indicators += time.perf_counter() - t0
                        break
                    t1 = time.perf_counter()
                    self.timings.indicators += t1 - t0
                    if iv.value is None:
                        continue
                    sl = by_key[iv.key]
                    de = elements[sl.step_id].get(str(iv.item_id))
                    store = stores.get(str(iv.store_id))
                    if de is None or store is None:
                        continue
                    step = self.steps[sl.step_id]
                    try:
                        text = format_value(float(iv.value), rounding)
                    except ValueBuildError as exc:
                        raise ExecutionError(
                            f"{step.origin}: {step.indicator} for store {store.code}, "
                            f"item {item_codes[str(iv.item_id)]}: {exc}"
                        ) from exc
                    cell = Cell(
                        key=CellKey(
                            de, sl.period, str(store.org_unit), step.category_option_combo or ""
                        ),
                        value=text,
                        step_id=sl.step_id,
                        indicator=step.indicator,
                        origin=step.origin,
                        store=store.code,
                        item=item_codes[str(iv.item_id)],
                    )
                    self.timings.payload += time.perf_counter() - t1
                    yield cell
        except SourceError as exc:
            raise ExecutionError(str(exc)) from exc
        except ValueBuildError as exc:
            raise ExecutionError(str(exc)) from exc

    # ---- runs ----------------------------------------------------------------------------

    def _batch(self, run_id: int, payload: list[dict[str, Any]], strategy: str) -> BatchRow:
        target = self.plan.target
        bid = self.journal.add_batch(
            run_id, self.name, target.data_set, strategy, target.id_schemes.as_json(), payload
        )
        return BatchRow(
            id=bid, run_id=run_id, plan_name=self.name,
            data_set=target.data_set, strategy=strategy,
            id_schemes=target.id_schemes.as_json(), payload=payload, digest="",
            status="pending", size=len(payload), http_status=None, imported=0, updated=0,
            ignored=0, deleted=0, attempts=0, error=None,
        )  # fmt: skip

    def resend_pending(self, run_id: int, stats: Counter[str]) -> bool:
        """Resend every pending/failed batch of this plan, oldest first; False on an outage."""
        for batch in self.journal.pending_batches(self.name):
            stats["resent_batches"] += 1
            if not self._send(batch, run_id, stats):
                return False
        return True

    def execute(
        self,
        slots: Sequence[SlotSpec],
        *,
        trigger: str,
        dry_run: bool = False,
        force: bool = False,
        preview: bool = False,
        record_slots: bool = False,
    ) -> RunResult:
        """Run (or preview) slots: resend pending batches, then compute, diff, batch and send."""
        started = time.perf_counter()
        self.timings = Timings()
        self._last_error = ""
        stats: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        listing: dict[str, Any] = {}
        per_store: dict[str, Counter[str]] = {}
        target = self.plan.target
        sending = not preview and not dry_run and target.enabled
        run_id: int | None = None
        if not preview:
            run_id = self.journal.start_run(
                self.name, self.plan.metadata.spec_sha256,
                trigger + (" (dry run)" if dry_run else ""),
            )  # fmt: skip
        result = RunResult(run_id, "ok", {})
        online = True
        stopped = False
        try:
            if sending or (dry_run and target.enabled):
                self._connect()
            if sending:
                assert run_id is not None
                online = self.resend_pending(run_id, stats)
            pairs = {(s.step_id, s.period) for s in slots}
            periods = sorted({s.period for s in slots})
            self.journal.seen_begin()
            buffer: list[dict[str, Any]] = []
            chunk: list[Cell] = []

            def flush_chunk() -> None:
                nonlocal online
                dup = self.journal.seen_add([c.key for c in chunk])
                if dup is not None:
                    raise ExecutionError(
                        f"two pushes write the same DHIS2 cell {_fmt_key(dup)}; each cell must "
                        "come from one push (check data elements and category options)"
                    )
                known = self.journal.cells_for(self.name, [c.key for c in chunk])
                for c in chunk:
                    prev = known.get(c.key)
                    state = "new" if prev is None else "changed" if prev.value != c.value else (
                        "unchanged")  # fmt: skip
                    stats[state] += 1
                    per_store.setdefault(c.store, Counter())[c.indicator] += 1
                    if preview:
                        result.cells.append((c, state, None if prev is None else prev.value))
                        continue
                    if state != "unchanged" or force:
                        buffer.append(c.payload())
                        if len(buffer) >= self.batch_size:
                            online = self._emit(
                                run_id, buffer, "CREATE_AND_UPDATE", stats, online, dry_run
                            )
                            buffer.clear()
                chunk.clear()

            # DHIS2 still refuses the queue: computing now would only queue the same cells again
            # behind it; the slots stay due and the next run does them after the queue.
            todo = slots if online else ()
            cells = self._iter_cells(todo, skipped, listing) if todo else iter(())
            for cell in cells:
                chunk.append(cell)
                stats["values"] += 1
                if len(chunk) >= self.batch_size:
                    flush_chunk()
                    if self.progress:
                        self.progress("values", stats["values"])
                    if self.stop is not None and self.stop():
                        stopped = True
                        break
            if stopped:
                cells.close()  # type: ignore[attr-defined]
                todo = ()
            else:
                flush_chunk()
            if self.progress:
                self.progress("values", stats["values"])
            if buffer and not preview and not stopped:
                online = self._emit(run_id, buffer, "CREATE_AND_UPDATE", stats, online, dry_run)
                buffer.clear()
            vanished = self.journal.vanished(self.name, pairs, periods) if todo else []
            stats["vanished"] = len(vanished)
            result.vanished = vanished
            policy = self.plan.vanished
            if vanished and not preview and policy != "keep":
                payloads = [
                    _vanished_payload(rec, "0" if policy == "zero" else rec.value, self.steps)
                    for rec in vanished
                    if policy == "delete" or rec.value != "0"
                ]
                strategy = "DELETE" if policy == "delete" else "CREATE_AND_UPDATE"
                for i in range(0, len(payloads), self.batch_size):
                    online = self._emit(run_id, payloads[i : i + self.batch_size], strategy,
                                        stats, online, dry_run)  # fmt: skip
            if sending and record_slots and online and not stopped and run_id is not None:
                for s in slots:
                    self.journal.complete_slot(self.name, s.step_id, s.period, s.due,
                                               s.reference, run_id)  # fmt: skip
        except BaseException:
            if run_id is not None:
                self.journal.finish_run(run_id, "error", {"error": "interrupted or failed"})
            raise
        finally:
            self.journal.seen_end()
            self.close()
        self.timings.total = time.perf_counter() - started
        if preview:
            status = "preview"
        elif not target.enabled:
            status = "disabled"
        elif dry_run:
            status = "dry-run"
        elif not online:
            status = "failed"
        elif stopped:
            status = "stopped"
        elif stats["refused"]:
            status = "conflicts"
        else:
            status = "ok"
        result.status = status
        summary: dict[str, Any] = {
            "plan": self.name,
            "status": status,
            "slots": [
                {"step": s.step_id, "period": s.period, "due": s.due.isoformat(),
                 "reference": s.reference.isoformat()}
                for s in slots
            ],
            "periods": periods,
            "vanished_policy": self.plan.vanished,
            "skipped": dict(skipped),
            "skipped_list": listing,
            "per_store": {k: dict(v) for k, v in sorted(per_store.items())},
            "timings": self.timings.as_dict(),
            "error": self._last_error or None,
        }  # fmt: skip
        for k in (
            "values",
            "new",
            "changed",
            "unchanged",
            "vanished",
            "sent",
            "refused",
            "imported",
            "updated",
            "ignored",
            "deleted",
            "batches",
            "resent_batches",
            "failed_batches",
            "queued",
        ):
            summary[k] = int(stats[k])
        result.summary = summary
        if run_id is not None:
            self.journal.finish_run(run_id, status, summary)
            result.conflicts = self.journal.conflicts(run_id)
        return result

    def _emit(
        self,
        run_id: int | None,
        payload: list[dict[str, Any]],
        strategy: str,
        stats: Counter[str],
        online: bool,
        dry_run: bool,
    ) -> bool:
        """Journal a batch, then send it (unless offline this run, disabled, or a dry run)."""
        payload = list(payload)
        if dry_run or not self.plan.target.enabled:
            stats["would_send"] += len(payload)
            if dry_run and self.plan.target.enabled:
                return self._dry_send(payload, strategy, stats)
            return online
        assert run_id is not None
        batch = self._batch(run_id, payload, strategy)
        if not online:
            stats["queued"] += len(payload)
            return False
        return self._send(batch, run_id, stats)

    def _dry_send(self, payload: list[dict[str, Any]], strategy: str, stats: Counter[str]) -> bool:
        from dhispatch.runtime.dhis2 import Dhis2Error

        t0 = time.perf_counter()
        try:
            res = self._client_for().push(
                _data_values(payload),
                data_set=self.plan.target.data_set,
                id_schemes=self.plan.target.id_schemes,
                dry_run=True,
                import_strategy=strategy,
            )
        except Dhis2Error as exc:
            self._last_error = str(exc)
            return False
        finally:
            self.timings.http += time.perf_counter() - t0
        stats["refused"] += len(res.rejected_indexes)
        stats["sent"] += len(payload) - len(res.rejected_indexes)
        return True


def _vanished_payload(rec: CellRecord, value: str, steps: Mapping[str, Step]) -> dict[str, Any]:
    step = steps.get(rec.step_id)
    d: dict[str, Any] = {
        "dataElement": rec.key.data_element,
        "period": rec.key.period,
        "orgUnit": rec.key.org_unit,
        "value": value,
        "step": rec.step_id,
        "indicator": step.indicator if step else "",
        "origin": step.origin if step else "",
        "store": rec.store,
        "item": rec.item,
    }
    if rec.key.coc:
        d["categoryOptionCombo"] = rec.key.coc
    return d


def _fmt_key(k: CellKey) -> str:
    return f"(data element {k.data_element}, period {k.period}, org unit {k.org_unit}" + (
        f", category option combo {k.coc})" if k.coc else ")"
    )
