"""The overview of one plan at one target: last connection, last run, next due slot, what waits,
what was refused, what is parked, the alerts in force there — the very states the alert channels
keep in the journal (``runtime.alerts``), so the page and the e-mails never disagree — and the
notes only the console gives (a disabled target, nothing ever reached, parked batches to act on)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from dhispatch.runtime.alerts.conditions import OFFLINE
from dhispatch.runtime.alerts.conditions import TITLES
from dhispatch.runtime.console.journal_view import plan_runs
from dhispatch.runtime.console.journal_view import target_of
from dhispatch.runtime.journal import AlertState
from dhispatch.runtime.journal import ConnectionRecord
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import RunRow
from dhispatch.runtime.journal import strip_userinfo
from dhispatch.runtime.plan import Plan

STALE_CONNECTION = timedelta(days=7)  # a note when no alert state watches DHIS2's silence


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert condition failing at the target, as the alert states hold it."""

    title: str
    detail: str
    since: datetime
    told: bool  # sent through the alert channels (else ``error`` says why not)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Overview:
    """One plan's state at one target at a glance (``user`` is a name, never a credential);
    ``watched``: the journal holds alert states for the target (an alert channel is set and a
    scheduled run checked it)."""

    plan: Plan
    url: str
    user: str
    target: int | None
    connection: ConnectionRecord | None
    last_run: RunRow | None
    next_due: datetime | None
    waiting_values: int
    waiting_batches: int
    refused: int
    parked_values: int
    parked_batches: int
    alerts: tuple[Alert, ...]
    watched: bool
    notes: tuple[str, ...]


def overview(
    journal: Journal | None, plan: Plan, env: Mapping[str, str], now: datetime | None = None
) -> Overview:
    from dhispatch.runtime.run.target import target_user
    from dhispatch.runtime.slots import next_due

    moment = now or datetime.now(UTC)
    url = strip_userinfo(plan.target.url)
    user = target_user(plan.target, env)
    due = next_due(plan, moment) if plan.target.enabled else None
    if journal is None:
        notes = _notes(plan, None, False, 0, {}, moment)
        return Overview(plan, url, user, None, None, None, due, 0, 0, 0, 0, 0, (), False,
                        notes)  # fmt: skip
    connection = journal.last_connection(plan.target.url)
    target = target_of(journal, plan, env)
    if target is None:  # never pushed there (a test connection may have reached it)
        notes = _notes(plan, connection, connection is not None, 0, {}, moment)
        return Overview(plan, url, user, None, connection, None, due, 0, 0, 0, 0, 0, (), False,
                        notes)  # fmt: skip
    runs = plan_runs(journal, plan, target)
    last = runs[0] if runs else None
    waiting = journal.due_batches(plan.name, target)
    parked = journal.parked_batches(plan.name, target)
    reached = connection is not None or journal.last_reached(plan.name, target) is not None
    states = journal.alert_states(plan.name, target)
    # refused by DHIS2, and withheld because DHIS2 would refuse them (the admission stage)
    refused = sum(int(last.summary.get(k, 0)) for k in ("refused", "withheld")) if last else 0
    return Overview(
        plan, url, user, target, connection, last, due,
        sum(b.size for b in waiting), len(waiting), refused, sum(b.size for b in parked),
        len(parked), _alerts(states), bool(states),
        _notes(plan, connection, reached, len(parked), states, moment),
    )  # fmt: skip


def _alerts(states: Mapping[str, AlertState]) -> tuple[Alert, ...]:
    """The conditions failing now, oldest first, titled as the alert messages title them."""
    failing = sorted((s for s in states.values() if s.failing), key=lambda s: s.since)
    return tuple(
        Alert(TITLES.get(s.condition, s.condition), s.detail, s.since, s.told, s.error)
        for s in failing
    )


def _notes(
    plan: Plan,
    connection: ConnectionRecord | None,
    reached: bool,
    parked: int,
    states: Mapping[str, AlertState],
    now: datetime,
) -> tuple[str, ...]:
    """What the alert states cannot say: the target is disabled, DHIS2 was never reached (the
    offline alert starts at the first answer), parked batches wait for this page's buttons, and
    — when nothing watches it — how old the last connection is."""
    out = []
    if not plan.target.enabled:
        out.append("the target is disabled in the spec: nothing is sent there")
    if not states:
        out.append(
            "alerts are not watched for this target: no alert channel is set (the spec's alerts "
            "block or the environment), or no scheduled run has checked it yet"
        )
    if parked:
        out.append(f"{parked} parked batch(es) wait for an operator (retry or drop them)")
    if not reached:
        out.append("no successful connection recorded yet: run Test connection")
    elif OFFLINE not in states and connection is not None:
        if now - connection.at > STALE_CONNECTION:
            out.append(f"the last successful connection is older than {STALE_CONNECTION.days} days")
    return tuple(out)
