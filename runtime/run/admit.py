"""Between diff and batches: cells DHIS2 would refuse are withheld, not sent.

The stage asks the write rules (``runtime.access``, the ones ``preflight`` reports) about each
cell a run is about to send — sharing of the data set and the option combo's options, the org
unit within the user's hierarchy, expiry, open future periods, data input periods, approval
(live, per period and org unit), closed org units — against the target's metadata cached beside
the journal. A withheld cell is counted per cause, journalled with DHIS2's code and the reason,
never recorded as accepted, and keeps its slot due, so a later run sends it once DHIS2 would
take it (the period reopened, the approval withdrawn, the sharing fixed). When the metadata
cannot be had, nothing is withheld and DHIS2 decides, as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING

from dhispatch.runtime.journal import WITHHELD_PREFIX
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import WithheldRow
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run.metadata_cache import DEFAULT_MAX_AGE
from dhispatch.runtime.run.metadata_cache import UNCHECKED
from dhispatch.runtime.run.metadata_cache import cache_for
from dhispatch.runtime.run.metadata_cache import cache_key
from dhispatch.runtime.run.metadata_cache import cached_metadata
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.send import Connection
from dhispatch.runtime.run.summary import CellChange
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot

if TYPE_CHECKING:
    from dhispatch.runtime.access import Refusal
    from dhispatch.runtime.access import WriteRules
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2.metadata import ApprovalLookup
    from dhispatch.runtime.dhis2.metadata import Snapshot
    from dhispatch.runtime.run.clock import ServerClock


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A value about to be sent, with what the journal needs to say where it came from."""

    key: CellKey
    step_id: str
    store: str
    item: str
    indicator: str
    origin: str


class Admission:
    """Withholds the cells of one run that DHIS2 would refuse; counts them per cause."""

    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        mode: RunMode,
        connection: Connection,
        counts: RunCounts,
        timings: Timings,
        *,
        client: Callable[[], Dhis2Client],
        online: Callable[[], bool] = lambda: True,
        clock: Callable[[], ServerClock | None] = lambda: None,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self._plan, self._journal, self._connection = plan, journal, connection
        self._client_of = client  # the sender's: one connection pool per run
        self._online = online  # False: DHIS2 was not reached, so only the cache is asked
        self._clock = clock  # DHIS2's clock as this run read it (its system/info)
        self._counts, self._timings, self._max_age = counts, timings, max_age
        self._active = plan.target.enabled and (mode.stores or mode is RunMode.DRY_RUN)
        self._records = mode.stores
        self._rules: WriteRules | None = None
        self._approvals: _Approvals | None = None
        self._started = False
        self.causes: Counter[str] = Counter()
        self.unsettled: set[tuple[str, str]] = set()  # (step, period) with a withheld cell
        self.note: str | None = None  # against what the cells were checked, or why not

    # ---- the stage -------------------------------------------------------------------------

    def admit(
        self, changes: Sequence[CellChange], run_id: int | None, *, force: bool = False
    ) -> list[CellChange]:
        """The changes to batch: those DHIS2 would refuse are withheld (unchanged cells, which
        are not sent unless ``force``, pass as they are)."""
        sent = [c for c in changes if c.state != "unchanged" or force]
        if not sent or not self._ready():
            return list(changes)
        with self._timings.measure("admission"):
            verdicts = self._verdicts([c.cell.key for c in sent])
            refused = [(_candidate(c), v) for c, v in zip(sent, verdicts, strict=True) if v]
            self._withhold(refused, run_id)
        if not refused:
            return list(changes)
        gone = {id(c) for c, v in zip(sent, verdicts, strict=True) if v}
        return [c for c in changes if id(c) not in gone]

    def admit_vanished(self, records: Sequence[CellRecord], run_id: int | None) -> list[CellRecord]:
        """Vanished cells about to be zeroed or deleted, the same way."""
        if not records or self._plan.vanished == "keep" or not self._ready():
            return list(records)
        steps = {s.id: s for s in self._plan.steps}
        with self._timings.measure("admission"):
            verdicts = self._verdicts([r.key for r in records])
            refused = [
                (_Candidate(r.key, r.step_id, r.store, r.item,
                            steps[r.step_id].indicator if r.step_id in steps else "",
                            steps[r.step_id].origin if r.step_id in steps else ""), v)
                for r, v in zip(records, verdicts, strict=True) if v
            ]  # fmt: skip
            self._withhold(refused, run_id)
        return [r for r, v in zip(records, verdicts, strict=True) if v is None]

    def open_instead(self, slots: Sequence[Slot]) -> list[str]:
        """For slots whose whole period the rules refuse, the nearest period DHIS2 takes now
        (only when this run built the rules: it had cells to admit)."""
        from dhispatch.runtime.period_choice import open_instead

        rules = self._rules
        if rules is None:
            return []
        shut = [s.period for s in slots if rules.period(s.period.id) is not None]
        return list(dict.fromkeys(p for p in (open_instead(rules, q) for q in shut) if p))

    def _verdicts(self, keys: Sequence[CellKey]) -> list[Refusal | None]:
        """The rule that refuses each cell, or None (the rules remember their answers, so a
        chunk costs a dictionary lookup per cell)."""
        rules = self._rules
        assert rules is not None
        if self._approvals is not None:  # one bulk request per period for org units not asked
            units = {(k.period, uid) for k in keys if (uid := rules.ou_uid(k.org_unit))}
            self._approvals.prefetch(sorted(units))
            if self._approvals.failed is not None and self.note and "approvals" not in self.note:
                self.note += f"; approvals not checked: {self._approvals.failed}"
        whole = rules.data_set()  # the whole import is refused: every value
        if whole is not None:
            return [whole] * len(keys)
        cell = rules.cell
        return [cell(k.period, k.org_unit, k.coc or None) for k in keys]

    def _withhold(self, refused: Sequence[tuple[_Candidate, Refusal]], run_id: int | None) -> None:
        """Count, remember and journal the withheld cells."""
        rows = []
        for c, refusal in refused:
            self._counts.withheld += 1
            self.causes[refusal.rule] += 1
            self.unsettled.add((c.step_id, c.key.period))
            rows.append(WithheldRow(
                key=c.key, rule=refusal.rule, code=refusal.code,
                message=f"{WITHHELD_PREFIX}{refusal.message}", store=c.store, item=c.item,
                indicator=c.indicator, origin=c.origin,
            ))  # fmt: skip
        if rows and run_id is not None and self._records:
            self._journal.add_withheld(run_id, rows)

    # ---- the rules, once per run ---------------------------------------------------------------

    def _server_now(self, snapshot: Snapshot) -> datetime:
        return _server_now_of(self._clock(), snapshot)

    def _ready(self) -> bool:
        """Build the rules on first use (a run with nothing to send asks DHIS2 nothing)."""
        if not self._started and self._active:
            self._started = True
            with self._timings.measure("admission"):
                self._start()
        return self._rules is not None

    def _start(self) -> None:
        from dhispatch.runtime.access import AccessMetadataError
        from dhispatch.runtime.access import writer_from_me
        from dhispatch.runtime.access.for_plan import rules_for_plan
        from dhispatch.runtime.access.for_plan import sent_attribute_combo
        from dhispatch.runtime.dhis2 import Dhis2Error
        from dhispatch.runtime.dhis2.metadata import ApprovalLookup
        from dhispatch.runtime.dhis2.metadata import fetch_snapshot

        target = self._plan.target
        try:
            client = self._client_of()
        except Dhis2Error as exc:  # e.g. an unset variable: the sender says so, once
            self.note = f"{UNCHECKED}: {exc}"
            return
        online = self._online()

        def fetch() -> Snapshot:
            if not online:  # the values are only queued: no second wait on an outage
                raise Dhis2Error("DHIS2 unreachable")
            return fetch_snapshot(client, target.data_set)

        found = cached_metadata(
            cache_for(self._journal.path), cache_key(self._plan, self._connection.env),
            max_age=self._max_age, now=datetime.now(UTC), fetch=fetch, failure=Dhis2Error,
        )  # fmt: skip
        self.note = found.note
        if found.snapshot is None:
            return
        workflow = _workflow(found.snapshot.export)
        if workflow and online:  # approvals are asked live; offline, DHIS2 decides on resend
            lookup = ApprovalLookup(client, workflow, sent_attribute_combo(self._plan))
            self._approvals = _Approvals(lookup)
        try:
            self._rules = rules_for_plan(
                self._plan, found.snapshot.export, writer_from_me(found.snapshot.me),
                now=self._server_now(found.snapshot), approvals=self._approvals,
            )  # fmt: skip
        except AccessMetadataError as exc:
            self.note = f"{UNCHECKED}: {exc}"


class _Approvals:
    """The live approval states, where a failure to ask (DHIS2 down since the run reached it, an
    account that may not read approvals) leaves them unknown for the rest of the run: the cells
    pass and DHIS2 decides, as without a workflow, instead of the run failing."""

    def __init__(self, lookup: ApprovalLookup) -> None:
        self._lookup = lookup
        self.failed: str | None = None

    def prefetch(self, pairs: Sequence[tuple[str, str]]) -> None:
        from dhispatch.runtime.dhis2 import Dhis2Error

        if self.failed is None:
            try:
                self._lookup.prefetch(pairs)
            except Dhis2Error as exc:  # a stop too: nothing is sent after it anyway
                self.failed = str(exc)

    def __call__(self, period: str, org_unit: str) -> str | None:
        self.prefetch([(period, org_unit)])
        return None if self.failed is not None else self._lookup(period, org_unit)


def _server_now_of(clock: ServerClock | None, snapshot: Snapshot) -> datetime:
    """DHIS2's wall clock (naive, as it judges periods): this run's reading of it, else the
    cached snapshot's serverDate plus the time since it was fetched."""
    if clock is not None:
        return clock.now.replace(tzinfo=None)
    return snapshot.server_now(datetime.now(UTC))


def _candidate(change: CellChange) -> _Candidate:
    cell = change.cell
    return _Candidate(cell.key, cell.step_id, cell.store, cell.item, cell.indicator, cell.origin)


def _workflow(export: dict[str, object]) -> str | None:
    data_sets = export.get("dataSets")
    first = data_sets[0] if isinstance(data_sets, list) and data_sets else {}
    workflow = first.get("workflow") if isinstance(first, dict) else None
    found = workflow.get("id") if isinstance(workflow, dict) else None
    return found if isinstance(found, str) else None
