"""``dhispatch run --once SPEC|PLAN…``: resend pending batches, then every due slot, oldest first.

cron/systemd-friendly: one pass and exit (0 ok, 1 refused values or DHIS2 unreachable). Missed
slots since the journal's last completed one are caught up within the window; on a plan's first
run only the latest due slot of each step runs (use ``backfill`` for history).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from dhispatch.runtime.cli.cmd_push import STATE_HELP
from dhispatch.runtime.cli.cmd_push import finish
from dhispatch.runtime.cli.cmd_push import open_journal
from dhispatch.runtime.cli.cmd_push import parse_instant
from dhispatch.runtime.cli.cmd_push import run_slots
from dhispatch.runtime.cli.common import LoadedPlan
from dhispatch.runtime.cli.common import fail
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.run import RunMode


def run_due(
    loaded: LoadedPlan,
    journal: Any,
    now: datetime,
    state: Path,
    *,
    window: timedelta | None,
    as_json: bool = False,
    retry_delay: float | None = None,
    stop: Callable[[], bool] | None = None,
    batch_size: int | None = None,
) -> int:
    """One pass for one plan: pending batches first, then due slots grouped by due instant."""
    from dhispatch.runtime.scheduler import SchedulingError
    from dhispatch.runtime.scheduler import catch_up_slots
    from dhispatch.runtime.scheduler import group_by_due

    plan = loaded.plan
    try:
        slots, dropped = catch_up_slots(plan, journal, now, window=window)
    except SchedulingError as exc:
        fail(str(exc))
    if dropped:
        click.echo(f"dhispatch: {plan.name}: {dropped} slots are older than the catch-up "
                   "window and were not run (use backfill)", err=True)  # fmt: skip
    groups = group_by_due(slots)
    code = 0
    if not groups and journal.pending_batches(plan.name):
        groups = [[]]  # nothing due, but queued batches to resend
    if not groups:
        click.echo(f"{plan.name}: nothing due")
    for group in groups:
        if stop is not None and stop():
            break
        result = run_slots(plan, journal, group, trigger="schedule", mode=RunMode.SCHEDULED,
                           quiet=as_json, retry_delay=retry_delay, stop=stop,
                           batch_size=batch_size)  # fmt: skip
        code = max(code, finish(result, loaded.sources, state, as_json=as_json))
        if result.status == "failed":
            break  # DHIS2 is down: later slots wait for the next run, in order
    return code


@click.command("run")
@click.argument("specs_or_plans", nargs=-1, required=True)
@click.option("--once", is_flag=True, required=True, help="one pass, then exit (for cron)")
@click.option("--state", metavar="PATH", help=STATE_HELP)
@click.option("--window-days", type=click.IntRange(1, 3660), default=None,
              help="catch-up window (default 92 days)")  # fmt: skip
@click.option("--now", "now_text", hidden=True, help="pretend it is this instant (testing)")
@click.option("--json", "as_json", is_flag=True, help="print each run's summary as JSON")
@click.option("--retry-delay", type=click.FloatRange(0, 60), default=None, hidden=True)
@click.option("--batch-size", type=click.IntRange(1, 100000), default=None)
def command(
    specs_or_plans: tuple[str, ...],
    once: bool,
    state: str | None,
    window_days: int | None,
    now_text: str | None,
    as_json: bool,
    retry_delay: float | None,
    batch_size: int | None,
) -> None:
    """Run everything due now (and missed runs), oldest first, then exit."""
    loaded = [load_plan_arg(p) for p in specs_or_plans]
    now = parse_instant(now_text, "--now") or datetime.now(UTC)
    window = timedelta(days=window_days) if window_days else None
    code = 0
    with open_journal(state, lock=True) as journal:
        for lp in loaded:
            code = max(code, run_due(lp, journal, now, state_path(state), window=window,
                                     as_json=as_json, retry_delay=retry_delay,
                                     batch_size=batch_size))  # fmt: skip
    sys.exit(code)
