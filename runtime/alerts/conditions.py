"""What counts as failing, one condition at a time, observed from what a check of a plan saw:
its runs, its due slots, when DHIS2 last answered, the stock database's newest transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from dhispatch.runtime.run import RunResult
from dhispatch.runtime.schedule import Slot

RUN = "run"
REFUSED = "refused"  # refused by DHIS2, withheld as DHIS2 would refuse them, or parked
MISSED = "missed"
OFFLINE = "offline"
STALE = "stale-source"
TITLES = {
    RUN: "a run failed",
    REFUSED: "values refused or parked",
    MISSED: "a due slot was missed",
    OFFLINE: "DHIS2 has not answered for too long",
    STALE: "the stock database looks stale",
}
FAILING_RUNS = frozenset({"failed", "unconfirmed", "blocked"})
SETTLED_RUNS = frozenset({"ok", "conflicts", "parked", "deferred"})


@dataclass(frozen=True, slots=True)
class Observation:
    """One condition as a check saw it: failing or not, and why (one secret-free line)."""

    condition: str
    failing: bool
    detail: str


def of_runs(results: Sequence[RunResult]) -> list[Observation]:
    """A failed run (the last one says), and values refused or parked (any run)."""
    if not results:
        return []
    out: list[Observation] = []
    last = results[-1]
    if last.status in FAILING_RUNS:
        why = last.summary.error or last.summary.notices.blocked or "values left due"
        out.append(Observation(RUN, True, f"run {last.run_id} ended {last.status}: {why}"))
    elif last.status in SETTLED_RUNS:
        out.append(Observation(RUN, False, f"run {last.run_id} ended {last.status}"))
    answered = [r for r in results if r.status in SETTLED_RUNS or r.status == "unconfirmed"]
    if answered:
        out.append(_refused(answered))
    return out


def _refused(results: Sequence[RunResult]) -> Observation:
    refused = sum(r.summary.counts.refused for r in results)
    withheld = sum(r.summary.counts.withheld for r in results)
    parked = sum(r.summary.counts.parked for r in results)
    waiting = results[-1].summary.notices.parked_batches
    if not (refused or withheld or parked or waiting):
        return Observation(REFUSED, False, "every value sent was accepted")
    periods = sorted({p for r in results for p in r.summary.periods})
    parts = [f"{refused} value(s) refused by DHIS2"] if refused else []
    parts += [f"{withheld} value(s) withheld (DHIS2 would refuse them)"] if withheld else []
    parts += [f"{parked} value(s) parked"] if parked else []
    parts += [f"{waiting} parked batch(es) waiting (dhispatch log)"] if waiting else []
    where = f" for {', '.join(periods)}" if periods else ""
    return Observation(REFUSED, True, "; ".join(parts) + where)


def of_plan_error(error: str) -> Observation:
    """The plan could not run at all (its database unreachable, a variable unset)."""
    return Observation(RUN, True, f"the plan could not run: {error}")


def of_slots(slots: Sequence[Slot], dropped: int, now: datetime, late: timedelta) -> Observation:
    """Due slots not run long after they were due (a stopped timer, a machine off), or slots
    that fell out of the catch-up window."""
    missed = [s for s in slots if s.due < now - late]
    if not missed and not dropped:
        return Observation(MISSED, False, "every due slot ran on time")
    parts = []
    if missed:
        oldest = min(missed, key=lambda s: s.due)
        parts.append(
            f"{len(missed)} slot(s) ran late, the oldest {oldest.step_id} {oldest.period.id} "
            f"due {oldest.due.isoformat(timespec='minutes')}"
        )
    if dropped:
        parts.append(f"{dropped} slot(s) older than the catch-up window were not run (backfill)")
    return Observation(MISSED, True, "; ".join(parts))


def of_contact(last: datetime | None, now: datetime, hours: int) -> Observation | None:
    """DHIS2 last answered longer ago than ``hours`` (None: never answered, or the alert off)."""
    if hours <= 0 or last is None:
        return None
    if now - last <= timedelta(hours=hours):
        return Observation(
            OFFLINE, False, f"DHIS2 answered at {last.isoformat(timespec='minutes')}"
        )
    return Observation(
        OFFLINE, True, f"DHIS2 last answered at {last.isoformat(timespec='minutes')}, more than "
        f"{hours} h ago",
    )  # fmt: skip


def of_source(newest: datetime | None, now: datetime, days: int, label: str) -> Observation | None:
    """No new transaction in the stock database for ``days`` days: a site that stopped syncing
    (None: the alert is off, or the database has no transactions at all)."""
    if days <= 0 or newest is None:
        return None
    if now - newest <= timedelta(days=days):
        return Observation(STALE, False, f"{label}: newest transaction {newest.date().isoformat()}")
    return Observation(
        STALE, True, f"{label}: no new transaction for {(now - newest).days} days (the newest is "
        f"from {newest.date().isoformat()}); has the site stopped syncing?",
    )  # fmt: skip
