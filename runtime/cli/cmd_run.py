"""``dhispatch run --once SPEC|PLAN…``: resend pending batches, then every due slot, oldest first.

cron/systemd-friendly: one pass and exit (0 ok, 1 refused values or DHIS2 unreachable). Missed
slots since the journal's last completed one are caught up within the window; on a plan's first
run only the latest due slot of each step runs (use ``backfill`` for history).
"""

from __future__ import annotations

import sys
from datetime import datetime

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import enabled_targets
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import runner_for


@click.command("run")
@click.argument("specs_or_plans", nargs=-1, required=True)
@click.option("--once", is_flag=True, required=True, help="one pass, then exit (for cron)")
@options.state
@options.env_file
@options.window_days
@options.now
@options.as_json("print each run's summary as JSON")
@options.deadline
@options.log_format
@options.retry_delay
@options.batch_size
@options.park_after
@options.max_drop
@options.accept_drop
@options.metadata_max_age
def command(
    specs_or_plans: tuple[str, ...],
    once: bool,
    state: str | None,
    window_days: int | None,
    now: datetime | None,
    as_json: bool,
    deadline: float | None,
    log_format: str,
    retry_delay: float | None,
    batch_size: int | None,
    park_after: int | None,
    max_drop: int | None,
    accept_drop: bool,
    metadata_max_age: float | None,
) -> None:
    """Run everything due now (and missed runs), oldest first, then exit."""
    from dhispatch.runtime.cli import logs
    from dhispatch.runtime.cli.render import exit_code

    logs.setup(log_format)

    loaded = [t for p in specs_or_plans for t in enabled_targets(load_plan_arg(p))]
    delivery = options.delivery(park_after, max_drop, accept_drop)
    with runner_for(state, loaded, lock=True, as_json=as_json, batch_size=batch_size,
                    deadline=deadline, retry_delay=retry_delay, window_days=window_days,
                    delivery=delivery, metadata_max_age=metadata_max_age) as runner:  # fmt: skip
        results = runner.run_once([lp.plan for lp in loaded], now)
    sys.exit(exit_code(results))
