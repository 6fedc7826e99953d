"""``dhispatch serve SPEC|PLAN…``: the long-running scheduler; graceful on SIGTERM.

Each wake-up does what ``run --once`` does, then sleeps until the next due instant. SIGTERM (or
Ctrl-C) lets the current pass finish its batch, then exits 0; the journal keeps anything unsent.
One plan that cannot run (its database unreachable, a variable unset) is reported and retried at
the next wake-up; the other plans go on.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import enabled_targets
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import runner_for


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM and SIGINT set: serve finishes the batch in flight and exits."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@click.command("serve")
@click.argument("specs_or_plans", nargs=-1, required=True)
@options.state
@options.env_file
@options.window_days
@click.option("--max-sleep", type=click.FloatRange(0.5, 86400), default=3600.0, hidden=True)
@options.batch_size
@options.park_after
@options.max_drop
@options.accept_drop
@options.metadata_max_age
@options.deadline
def command(
    specs_or_plans: tuple[str, ...],
    state: str | None,
    window_days: int | None,
    max_sleep: float,
    batch_size: int | None,
    park_after: int | None,
    max_drop: int | None,
    accept_drop: bool,
    metadata_max_age: float | None,
    deadline: float | None,
) -> None:
    """Run due pushes on schedule until stopped (SIGTERM/Ctrl-C: finish, then exit 0)."""
    loaded = [t for p in specs_or_plans for t in enabled_targets(load_plan_arg(p))]
    stop = stop_on_signals()
    delivery = options.delivery(park_after, max_drop, accept_drop)
    with runner_for(state, loaded, lock=True, batch_size=batch_size, window_days=window_days,
                    deadline=deadline, stop=stop,
                    delivery=delivery, metadata_max_age=metadata_max_age) as runner:  # fmt: skip
        runner.journal  # noqa: B018 - take the lock before announcing anything
        click.echo(f"dhispatch serve: {len(loaded)} plan(s), journal {runner.state}; "
                   "SIGTERM to stop", err=True)  # fmt: skip
        runner.serve([lp.plan for lp in loaded], max_sleep=max_sleep)
    click.echo("dhispatch serve: stopped", err=True)
    sys.exit(0)
