"""``dhispatch backfill SPEC|PLAN --from P --to P``: push every period of a range, oldest first."""

from __future__ import annotations

import sys

import click

from dhispatch.runtime.cli.cmd_push import STATE_HELP
from dhispatch.runtime.cli.cmd_push import finish
from dhispatch.runtime.cli.cmd_push import open_journal
from dhispatch.runtime.cli.cmd_push import run_slots
from dhispatch.runtime.cli.common import fail
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import state_path


@click.command("backfill")
@click.argument("spec_or_plan")
@click.option("--from", "first", required=True, metavar="P", help="first DHIS2 period")
@click.option("--to", "last", required=True, metavar="P", help="last DHIS2 period (inclusive)")
@click.option("--force", is_flag=True, help="also resend values the journal shows unchanged")
@click.option("--state", metavar="PATH", help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True, help="print each run's summary as JSON")
def command(
    spec_or_plan: str, first: str, last: str, force: bool, state: str | None, as_json: bool
) -> None:
    """Push the periods --from..--to, one run per period, each computed at its own end."""
    from dhispatch.runtime.scheduler import SchedulingError
    from dhispatch.runtime.scheduler import backfill_slots

    loaded = load_plan_arg(spec_or_plan)
    try:
        slots = backfill_slots(loaded.plan, first, last)
    except SchedulingError as exc:
        fail(str(exc), 2)
    code = 0
    with open_journal(state, lock=True) as journal:
        periods = list(dict.fromkeys(s.period.id for s in slots))
        for p in periods:
            group = [s for s in slots if s.period.id == p]
            result = run_slots(loaded.plan, journal, group, trigger=f"backfill {p}", force=force,
                               quiet=as_json)  # fmt: skip
            code = max(code, finish(result, loaded.sources, state_path(state), as_json=as_json))
    sys.exit(code)
