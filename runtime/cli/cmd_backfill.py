"""``dhispatch backfill SPEC|PLAN --from P --to P``: push every period of a range, oldest first."""

from __future__ import annotations

import sys

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import pick_target
from dhispatch.runtime.cli.common import runner_for


@click.command("backfill")
@click.argument("spec_or_plan")
@click.option("--from", "first", required=True, metavar="P", help="first DHIS2 period")
@click.option("--to", "last", required=True, metavar="P", help="last DHIS2 period (inclusive)")
@options.force
@options.state
@options.env_file
@options.target
@options.as_json("print each run's summary as JSON")
@options.batch_size
@options.park_after
@options.max_drop
@options.accept_drop
@options.retry_delay
@options.metadata_max_age
@options.deadline
@options.log_format
def command(
    spec_or_plan: str,
    target_name: str | None,
    first: str,
    last: str,
    force: bool,
    state: str | None,
    as_json: bool,
    batch_size: int | None,
    park_after: int | None,
    max_drop: int | None,
    accept_drop: bool,
    retry_delay: float | None,
    metadata_max_age: float | None,
    deadline: float | None,
    log_format: str,
) -> None:
    """Push the periods --from..--to, one run per period, each computed at its own end."""
    from dhispatch.runtime.cli import logs
    from dhispatch.runtime.cli.render import exit_code

    logs.setup(log_format)

    loaded = pick_target(load_plan_arg(spec_or_plan), target_name)
    delivery = options.delivery(park_after, max_drop, accept_drop)
    with runner_for(state, [loaded], lock=True, as_json=as_json, batch_size=batch_size,
                    deadline=deadline, retry_delay=retry_delay, delivery=delivery,
                    metadata_max_age=metadata_max_age) as runner:  # fmt: skip
        results = runner.backfill(loaded.plan, first, last, force=force)
    sys.exit(exit_code(results))
