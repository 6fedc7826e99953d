"""One check of one plan for the runner (``run --once``, each wake-up of ``serve``): observe every
condition from what catch-up saw and ran, and let the monitor tell what changed."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from dhispatch.errors import DhispatchError
from dhispatch.runtime.alerts import conditions
from dhispatch.runtime.alerts.conditions import Observation
from dhispatch.runtime.alerts.monitor import AlertMonitor
from dhispatch.runtime.alerts.settings import MISSED_AFTER_HOURS
from dhispatch.runtime.alerts.settings import AlertSettings
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run import RunResult
from dhispatch.runtime.schedule import Slot


@dataclass(slots=True)
class Seen:
    """What one check of a plan saw: its due slots, the runs made of them, or why it could not
    run."""

    slots: Sequence[Slot] = ()
    dropped: int = 0
    results: list[RunResult] = field(default_factory=list)
    error: str | None = None
    first: bool = False  # the plan's first run at this target: no slot can have been missed


def check_plan(
    journal: Journal,
    settings: AlertSettings,
    plan: Plan,
    target_id: int,
    env: Mapping[str, str],
    seen: Seen,
    now: datetime,
) -> AlertMonitor:
    """Observe every condition and tell the changes (the monitor lists what it told)."""
    observed: list[Observation] = []
    if seen.error is not None:
        observed.append(conditions.of_plan_error(seen.error))
    else:
        late = timedelta(hours=MISSED_AFTER_HOURS)
        if not seen.first:
            observed.append(conditions.of_slots(seen.slots, seen.dropped, now, late))
        observed += conditions.of_runs(seen.results)
    contact = _last_contact(journal, plan, target_id)
    found = conditions.of_contact(contact, now, settings.offline_hours)
    observed += [found] if found else []
    found = _source(plan, env, now, settings.stale_days)
    observed += [found] if found else []
    monitor = AlertMonitor(journal, settings, plan, target_id)
    monitor.observe(observed, now)
    return monitor


def _last_contact(journal: Journal, plan: Plan, target_id: int) -> datetime | None:
    """The latest of test-connection's success and a run DHIS2 answered."""
    found = [journal.last_reached(plan.name, target_id)]
    record = journal.last_connection(plan.target.url)
    found.append(record.at if record else None)
    moments = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in found if m is not None]
    return max(moments, default=None)


def _source(plan: Plan, env: Mapping[str, str], now: datetime, days: int) -> Observation | None:
    """The stock database's newest transaction against ``days`` (a database that cannot be read
    is the run's failure, told as such, not a stale source)."""
    from dhispatch.runtime.run.produce import resolve_database
    from dhispatch.runtime.sources import open_source
    from dhispatch.runtime.sources.model import redact

    if days <= 0:
        return None
    try:
        database = resolve_database(plan, env)
        with open_source(database) as source:
            newest = source.newest_transaction()
    except DhispatchError:
        return None
    when = None if newest is None else newest.replace(tzinfo=UTC)
    return conditions.of_source(when, now, days, f"stock database {redact(database)}")
