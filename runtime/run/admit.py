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
from collections.abc import Iterable
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

if TYPE_CHECKING:
    from dhispatch.runtime.access import Refusal
    from dhispatch.runtime.access import WriteRules
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2.metadata import ApprovalLookup


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
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self._plan, self._journal, self._connection = plan, journal, connection
        self._counts, self._timings, self._max_age = counts, timings, max_age
        self._active = plan.target.enabled and (mode.stores or mode is RunMode.DRY_RUN)
        self._records = mode.stores
        self._rules: WriteRules | None = None
        self._approvals: ApprovalLookup | None = None
        self._client: Dhis2Client | None = None
        self._started = False
        self.causes: Counter[str] = Counter()
        self.unsettled: set[tuple[str, str]] = set()  # (step, period) with a withheld cell
        self.note: str | None = None  # against what the cells were checked, or why not

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # ---- the stage -------------------------------------------------------------------------

    def admit(
        self, changes: Sequence[CellChange], run_id: int | None, *, force: bool = False
    ) -> list[CellChange]:
        """The changes to batch: those DHIS2 would refuse are withheld (unchanged cells, which
        are not sent unless ``force``, pass as they are)."""
        sent = [c for c in changes if c.state != "unchanged" or force]
        if not sent or not self._ready():
            return list(changes)
        refused = {id(sent[n]) for n in self._judge([_candidate(c) for c in sent], run_id)}
        return [c for c in changes if id(c) not in refused]

    def admit_vanished(self, records: Sequence[CellRecord], run_id: int | None) -> list[CellRecord]:
        """Vanished cells about to be zeroed or deleted, the same way."""
        if not records or self._plan.vanished == "keep" or not self._ready():
            return list(records)
        steps = {s.id: s for s in self._plan.steps}
        candidates = [
            _Candidate(r.key, r.step_id, r.store, r.item,
                       steps[r.step_id].indicator if r.step_id in steps else "",
                       steps[r.step_id].origin if r.step_id in steps else "")
            for r in records
        ]  # fmt: skip
        refused = self._judge(candidates, run_id)
        return [r for n, r in enumerate(records) if n not in refused]

    def _judge(self, candidates: Sequence[_Candidate], run_id: int | None) -> set[int]:
        """Withhold what the rules refuse; the positions withheld."""
        rules = self._rules
        assert rules is not None
        with self._timings.measure("admission"):
            self._prefetch(rules, candidates)
            whole = rules.data_set()  # the whole import is refused, every value
            rows: list[WithheldRow] = []
            out: set[int] = set()
            for n, c in enumerate(candidates):
                found = whole or rules.cell(c.key.period, c.key.org_unit, c.key.coc or None)
                if found is not None:
                    out.add(n)
                    rows.append(self._withhold(c, found))
            if rows and run_id is not None and self._records:
                self._journal.add_withheld(run_id, rows)
        return out

    def _withhold(self, c: _Candidate, refusal: Refusal) -> WithheldRow:
        self._counts.withheld += 1
        self.causes[refusal.rule] += 1
        self.unsettled.add((c.step_id, c.key.period))
        return WithheldRow(
            key=c.key, rule=refusal.rule, code=refusal.code,
            message=f"{WITHHELD_PREFIX}{refusal.message}", store=c.store, item=c.item,
            indicator=c.indicator, origin=c.origin,
        )  # fmt: skip

    def _prefetch(self, rules: WriteRules, candidates: Iterable[_Candidate]) -> None:
        """One bulk approvals request per period for the org units not asked yet."""
        if self._approvals is None:
            return
        pairs = {(c.key.period, uid) for c in candidates if (uid := rules.ou_uid(c.key.org_unit))}
        self._approvals.prefetch(sorted(pairs))

    # ---- the rules, once per run ---------------------------------------------------------------

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
            client = self._client = self._connection.client(target)
        except Dhis2Error as exc:  # e.g. an unset variable: the sender says so, once
            self.note = f"{UNCHECKED}: {exc}"
            return
        found = cached_metadata(
            cache_for(self._journal.path), cache_key(self._plan, self._connection.env),
            max_age=self._max_age,
            now=datetime.now(UTC), fetch=lambda: fetch_snapshot(client, target.data_set),
            failure=Dhis2Error,
        )  # fmt: skip
        self.note = found.note
        if found.snapshot is None:
            return
        workflow = _workflow(found.snapshot.export)
        if workflow:
            self._approvals = ApprovalLookup(client, workflow, sent_attribute_combo(self._plan))
        try:
            self._rules = rules_for_plan(
                self._plan, found.snapshot.export, writer_from_me(found.snapshot.me),
                now=found.snapshot.server_now(datetime.now(UTC)), approvals=self._approvals,
            )  # fmt: skip
        except AccessMetadataError as exc:
            self.note = f"{UNCHECKED}: {exc}"


def _candidate(change: CellChange) -> _Candidate:
    cell = change.cell
    return _Candidate(cell.key, cell.step_id, cell.store, cell.item, cell.indicator, cell.origin)


def _workflow(export: dict[str, object]) -> str | None:
    data_sets = export.get("dataSets")
    first = data_sets[0] if isinstance(data_sets, list) and data_sets else {}
    workflow = first.get("workflow") if isinstance(first, dict) else None
    found = workflow.get("id") if isinstance(workflow, dict) else None
    return found if isinstance(found, str) else None
