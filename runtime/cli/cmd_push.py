"""``dhispatch push SPEC|PLAN [--at DATE] [--period P] [--dry-run]``: send one manual push."""

from __future__ import annotations

import sys
from datetime import date

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import pick_target
from dhispatch.runtime.cli.common import runner_for
from dhispatch.runtime.plan import Plan


@click.command("push")
@click.argument("spec_or_plan")
@options.at
@options.period
@click.option("--dry-run", is_flag=True, help="compute and let DHIS2 validate; store nothing")
@options.force
@options.batch_size
@options.state
@options.env_file
@options.target
@options.as_json("print the summary as JSON")
@options.park_after
@options.max_drop
@options.accept_drop
@options.metadata_max_age
@options.deadline
@options.log_format
@options.retry_delay
def command(
    spec_or_plan: str,
    target_name: str | None,
    at: date | None,
    period: str | None,
    dry_run: bool,
    force: bool,
    batch_size: int | None,
    state: str | None,
    as_json: bool,
    park_after: int | None,
    max_drop: int | None,
    accept_drop: bool,
    metadata_max_age: float | None,
    deadline: float | None,
    log_format: str,
    retry_delay: float | None,
) -> None:
    """Push every active step now (current day), as of --at DATE, or for --period P."""
    from dhispatch.runtime.cli import logs
    from dhispatch.runtime.cli.render import exit_code

    logs.setup(log_format)

    loaded = pick_target(load_plan_arg(spec_or_plan), target_name)
    options.one_of_at_or_period(at, period)
    if not as_json:  # --json prints the JSON summary alone (its slots name the periods)
        _say_which_period(loaded.plan, spec_or_plan, at, period)
    delivery = options.delivery(park_after, max_drop, accept_drop)
    with runner_for(state, [loaded], lock=not dry_run, as_json=as_json, batch_size=batch_size,
                    deadline=deadline, retry_delay=retry_delay,
                    delivery=delivery, metadata_max_age=metadata_max_age) as runner:  # fmt: skip
        result = runner.push(loaded.plan, at=at, period=period, dry_run=dry_run, force=force)
    sys.exit(exit_code([result]))


def _say_which_period(plan: Plan, spec: str, at: date | None, period: str | None) -> None:
    """Before anything is computed or sent: the period each step fills and the rule that chose
    it, and (a bare push) what the spec's schedule would push instead."""
    from dhispatch.runtime.period_choice import explain_push
    from dhispatch.runtime.printable import printable
    from dhispatch.runtime.slots import manual_slots

    slots = manual_slots(plan, at=at, period=period)
    for line in explain_push(plan, slots, spec, at=at, period=period):
        click.echo(printable(line), err=True)
