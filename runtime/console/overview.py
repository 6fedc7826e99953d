"""The overview of one plan and its target: last connection, last run, next due slot, what waits,
what was refused, what is parked, and the alerts that follow from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from dhispatch.runtime.console.journal_view import plan_runs
from dhispatch.runtime.console.journal_view import target_of
from dhispatch.runtime.journal import ConnectionRecord
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import RunRow
from dhispatch.runtime.journal import strip_userinfo
from dhispatch.runtime.plan import Plan

STALE_CONNECTION = timedelta(days=7)
FAILING = frozenset({"failed", "unconfirmed", "blocked", "killed"})


@dataclass(frozen=True, slots=True)
class Overview:
    """One plan's state at a glance (``user`` is a name, never a credential)."""

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
    alerts: tuple[str, ...]


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
        return Overview(plan, url, user, None, None, None, due, 0, 0, 0, 0, 0,
                        _alerts(plan, None, None, 0, 0, moment))  # fmt: skip
    target = target_of(journal, plan, env)
    runs = plan_runs(journal, plan, target)
    last = runs[0] if runs else None
    waiting = journal.due_batches(plan.name, target) if target is not None else []
    parked = journal.parked_batches(plan.name, target) if target is not None else []
    connection = journal.last_connection(plan.target.url)
    # refused by DHIS2, and withheld because DHIS2 would refuse them (the admission stage)
    refused = sum(int(last.summary.get(k, 0)) for k in ("refused", "withheld")) if last else 0
    parked_values = sum(b.size for b in parked)
    return Overview(
        plan, url, user, target, connection, last, due,
        sum(b.size for b in waiting), len(waiting), refused, parked_values, len(parked),
        _alerts(plan, connection, last, refused, len(parked), moment),
    )  # fmt: skip


def _alerts(
    plan: Plan,
    connection: ConnectionRecord | None,
    last: RunRow | None,
    refused: int,
    parked: int,
    now: datetime,
) -> tuple[str, ...]:
    """What an operator should act on, worst first."""
    out = []
    if not plan.target.enabled:
        out.append("the target is disabled in the spec: nothing is sent")
    if last is not None and last.status in FAILING:
        out.append(f"the last run ({last.id}) ended {last.status}")
    if parked:
        out.append(f"{parked} parked batch(es) wait for an operator (retry or drop them)")
    if refused:
        out.append(
            f"{refused} value(s) refused or withheld (DHIS2 would refuse them) in the last run"
        )
    if connection is None:
        out.append("no successful connection recorded yet: run Test connection")
    elif now - connection.at > STALE_CONNECTION:
        out.append(f"the last successful connection is older than {STALE_CONNECTION.days} days")
    return tuple(out)
