"""``dhispatch serve SPEC|PLAN…``: the long-running scheduler; graceful on SIGTERM.

Each wake-up does what ``run --once`` does, then sleeps until the next due instant. SIGTERM (or
Ctrl-C) lets the current pass finish its batch, then exits 0; the journal keeps anything unsent.
"""

from __future__ import annotations

import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import click

from dhispatch.runtime.cli.cmd_push import STATE_HELP
from dhispatch.runtime.cli.cmd_push import open_journal
from dhispatch.runtime.cli.cmd_run import run_due
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import state_path


@click.command("serve")
@click.argument("specs_or_plans", nargs=-1, required=True)
@click.option("--state", metavar="PATH", help=STATE_HELP)
@click.option("--window-days", type=click.IntRange(1, 3660), default=None,
              help="catch-up window (default 92 days)")  # fmt: skip
@click.option("--max-sleep", type=click.FloatRange(0.5, 86400), default=3600.0, hidden=True)
@click.option("--batch-size", type=click.IntRange(1, 100000), default=None)
def command(
    specs_or_plans: tuple[str, ...],
    state: str | None,
    window_days: int | None,
    max_sleep: float,
    batch_size: int | None,
) -> None:
    """Run due pushes on schedule until stopped (SIGTERM/Ctrl-C: finish, then exit 0)."""
    from dhispatch.runtime.scheduler import StopFlag
    from dhispatch.runtime.scheduler import next_due

    loaded = [load_plan_arg(p) for p in specs_or_plans]
    window = timedelta(days=window_days) if window_days else None
    stop = StopFlag.install()
    path = state_path(state)
    with open_journal(state, lock=True) as journal:
        click.echo(f"dhispatch serve: {len(loaded)} plan(s), journal {path}; SIGTERM to stop",
                   err=True)  # fmt: skip
        while not stop.stopped:
            now = datetime.now(UTC)
            for lp in loaded:
                if stop.stopped:
                    break
                run_due(lp, journal, now, path, window=window, stop=lambda: stop.stopped,
                        batch_size=batch_size)  # fmt: skip
            dues = [d for d in (next_due(lp.plan, datetime.now(UTC)) for lp in loaded) if d]
            nxt = min(dues) if dues else None
            if nxt is not None:
                click.echo(f"dhispatch serve: next due {nxt.isoformat()}", err=True)
            wait = max_sleep if nxt is None else (nxt - datetime.now(UTC)).total_seconds() + 0.5
            stop.event.wait(timeout=max(0.5, min(wait, max_sleep)))
    click.echo("dhispatch serve: stopped", err=True)
    sys.exit(0)
