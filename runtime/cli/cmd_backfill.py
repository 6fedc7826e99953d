"""``dhispatch backfill SPEC|PLAN --from P --to P``: push every period of a range, oldest first."""

from __future__ import annotations

import sys

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import runner_for


@click.command("backfill")
@click.argument("spec_or_plan")
@click.option("--from", "first", required=True, metavar="P", help="first DHIS2 period")
@click.option("--to", "last", required=True, metavar="P", help="last DHIS2 period (inclusive)")
@options.force
@options.state
@options.as_json("print each run's summary as JSON")
@options.metadata_max_age
@options.deadline
def command(
    spec_or_plan: str, first: str, last: str, force: bool, state: str | None, as_json: bool,
    metadata_max_age: float | None, deadline: float | None,
) -> None:  # fmt: skip
    """Push the periods --from..--to, one run per period, each computed at its own end."""
    from dhispatch.runtime.cli.render import exit_code

    loaded = load_plan_arg(spec_or_plan)
    with runner_for(state, [loaded], lock=True, as_json=as_json, deadline=deadline,
                    metadata_max_age=metadata_max_age) as runner:  # fmt: skip
        results = runner.backfill(loaded.plan, first, last, force=force)
    sys.exit(exit_code(results))
