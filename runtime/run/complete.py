"""Stage 5a of a run (the spec's ``complete_data_set``): register the data set complete for each
(period, org unit) whose every value DHIS2 was proven to hold, so its reporting-rate dashboards
count the facility. Each is registered once per target; one DHIS2 refused is recorded with why;
one whose answer proved nothing stays to do (its period's slots stay due, so catch-up tries it
again)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run.ledger import SlotLedger
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot

if TYPE_CHECKING:
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import ImportResult

Outcome = tuple[str, str, str, str, str | None]  # period, org unit, aoc, status, message


def confirmed_pairs(
    produced: Iterable[tuple[str, str]], ledger: SlotLedger, slots: Sequence[Slot]
) -> list[tuple[str, str]]:
    """(period, org unit) the run produced values for, whose every slot of the period settled
    and every value of which DHIS2 holds (nothing due, refused, parked or waiting)."""
    done = ledger.settled(slots)
    open_periods = {s.period.id for s in slots if s not in done}
    settled = {s.period.id for s in done} - open_periods
    return sorted(
        (p, o) for p, o in produced if p in settled and (p, o) not in ledger.unconfirmed
    )  # fmt: skip


class Registrar:
    """Registers a run's confirmed (period, org unit) pairs on its target."""

    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        client: Callable[[], Dhis2Client],
        ids: tuple[int, int],
        counts: RunCounts,
        timings: Timings,
    ) -> None:
        self._plan, self._journal, self._client = plan, journal, client
        self._target_id, self._run_id = ids
        self._counts, self._timings = counts, timings

    def register(self, pairs: Sequence[tuple[str, str]]) -> set[str]:
        """Register what is not registered yet; the periods left to do (no proof)."""
        from dhispatch.runtime.dhis2 import Dhis2Error

        target = self._plan.target
        aoc = target.attribute_option_combo or ""
        with self._timings.measure("journal"):
            done = self._journal.registered(self._plan.name, self._target_id, target.data_set)
        todo = [(p, o) for p, o in pairs if (p, o, aoc) not in done]
        outcomes: list[Outcome] = []
        try:
            for period, group in groupby(todo, key=lambda pair: pair[0]):
                outcomes += self._period(period, [o for _, o in group], aoc)
        except Dhis2Error as exc:
            tried = {(p, o) for p, o, *_ in outcomes}
            outcomes += [(p, o, aoc, "failed", str(exc)) for p, o in todo if (p, o) not in tried]
        with self._timings.measure("journal"):
            self._journal.record_registrations(
                self._plan.name, self._target_id, target.data_set, self._run_id, outcomes
            )
        self._counts.registered += sum(1 for *_, s, _m in outcomes if s == "registered")
        self._counts.registrations_refused += sum(1 for *_, s, _m in outcomes if s != "registered")
        return {p for p, _o, _a, s, _m in outcomes if s == "failed"}

    def _period(self, period: str, org_units: list[str], aoc: str) -> list[Outcome]:
        """One request for the period; when its answer does not account for every one, one
        request per org unit (a summary's conflicts name no index to place them by)."""
        result = self._post(period, org_units, aoc)
        if result.ok and result.imported + result.updated == len(org_units):
            return [(period, o, aoc, "registered", None) for o in org_units]
        if len(org_units) == 1:
            return [_single(period, org_units[0], aoc, result)]
        return [_single(period, o, aoc, self._post(period, [o], aoc)) for o in org_units]

    def _post(self, period: str, org_units: list[str], aoc: str) -> ImportResult:
        target = self._plan.target
        client = self._client()
        sent_aoc = client.combo_id(aoc, target.id_schemes.category_option_combo) if aoc else ""
        with self._timings.measure("http"):
            return client.register_complete(
                [(period, o, sent_aoc) for o in org_units],
                data_set=target.data_set, id_schemes=target.id_schemes,
            )  # fmt: skip


def _single(period: str, org_unit: str, aoc: str, result: ImportResult) -> Outcome:
    why = "; ".join(c.message for c in result.conflicts) or None
    if result.imported + result.updated == 1:
        return (period, org_unit, aoc, "registered", why)  # registered, with DHIS2's warnings
    return (period, org_unit, aoc, "refused", why or f"DHIS2 answered {result.status}")
