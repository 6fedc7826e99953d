"""``dhispatch serve SPEC|PLAN…``: the long-running scheduler; graceful on SIGTERM.

Each wake-up does what ``run --once`` does, then sleeps until the next due instant. SIGTERM (or
Ctrl-C) lets the current pass finish its batch, then exits 0; the journal keeps anything unsent.
One plan that cannot run (its database unreachable, a variable unset) is reported and retried at
the next wake-up; the other plans go on. Every event is one timestamped log line (``--log-format
json``: one JSON object); ``--health HOST:PORT`` answers monitoring probes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.cmd_console import console_settings
from dhispatch.runtime.cli.cmd_console import tls_options
from dhispatch.runtime.cli.common import enabled_targets
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import runner_for
from dhispatch.runtime.cli.event_log import log_event
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.runner import RunnerEvent

if TYPE_CHECKING:
    from dhispatch.runtime.console import ConsoleSettings
    from dhispatch.runtime.health import Health


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
@click.option(
    "--console",
    "console",
    metavar="ADDRESS",
    help="also serve the operator console on HOST:PORT (see dhispatch console)",
)
@tls_options("console-")
@options.log_format
@click.option(
    "--health", "health_at", metavar="HOST:PORT",
    help="answer GET /health (ok, or degraded with the reasons) here; loopback only",
)  # fmt: skip
@click.option(
    "--health-public", is_flag=True,
    help="allow --health on an address other machines can reach (it has no authentication)",
)  # fmt: skip
@click.option(
    "--health-max-age", type=click.FloatRange(0.1, 24 * 366), default=None, metavar="HOURS",
    help="degraded when DHIS2 was last reached longer ago (above the schedule's interval)",
)  # fmt: skip
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
    console: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    allow_plain: bool,
    log_format: str,
    health_at: str | None,
    health_public: bool,
    health_max_age: float | None,
) -> None:
    """Run due pushes on schedule until stopped (SIGTERM/Ctrl-C: finish, then exit 0)."""
    from dhispatch.runtime.cli import logs
    from dhispatch.runtime.health import parse_address

    logs.setup(log_format, service=True)
    address = parse_address(health_at, public=health_public) if health_at else None
    specs = [load_plan_arg(p) for p in specs_or_plans]
    loaded = [t for spec in specs for t in enabled_targets(spec)]
    # a console that cannot start (no password, an unsafe address) is refused before anything;
    # it lists every target of the specs, a disabled one too (shown, never pushed to)
    tls = (tls_cert, tls_key, allow_plain)
    web_settings = (
        console_settings(specs, state, console, tls, dict(os.environ)) if console else None
    )
    plans = [lp.plan for lp in loaded]
    health = _health(plans, health_max_age)
    stop = stop_on_signals()
    delivery = options.delivery(park_after, max_drop, accept_drop)
    with ExitStack() as stack:
        runner = stack.enter_context(
            runner_for(state, loaded, lock=True, batch_size=batch_size, window_days=window_days,
                       deadline=deadline, stop=stop, delivery=delivery,
                       metadata_max_age=metadata_max_age,
                       report=_fan_out(log_event, health.observe))
        )  # fmt: skip
        runner.journal  # noqa: B018 - take the lock before announcing anything
        for plan in plans:
            last = runner.journal.last_connection(plan.target.url)
            health.connected(plan.label, last.at if last is not None else None)
        served = _serve_health(stack, health, address)
        if web_settings is not None:  # beside the scheduler, which holds the journal's lock
            _serve_console(stack, web_settings)
        logs.log.info("serve: %d plan(s), journal %s%s; SIGTERM to stop", len(plans),
                      runner.state, f", health {served}" if served else "",
                      extra=logs.fields(event="serve_started", plans=[p.label for p in plans],
                                        journal=str(runner.state), health=served))  # fmt: skip
        runner.serve(plans, max_sleep=max_sleep)
    logs.log.info("serve: stopped", extra=logs.fields(event="serve_stopped"))
    sys.exit(0)


def _serve_console(stack: ExitStack, settings: ConsoleSettings) -> None:
    """Start the operator console (stopped with the stack) and log where it listens."""
    from dhispatch.runtime.cli import logs
    from dhispatch.runtime.console import start_console

    web = start_console(settings)
    stack.callback(web.stop)
    logs.log.info("serve: console on %s", web.url,
                  extra=logs.fields(event="console_started", url=web.url))  # fmt: skip


def _health(plans: Sequence[Plan], max_age_hours: float | None) -> Health:
    from dhispatch.runtime.health import Health

    age = None if max_age_hours is None else timedelta(hours=max_age_hours)
    return Health([p.label for p in plans], max_connection_age=age)


def _serve_health(stack: ExitStack, health: Health, address: tuple[str, int] | None) -> str | None:
    """Start the endpoint (closed with the stack); its URL, or None without --health."""
    if address is None:
        return None
    from dhispatch.runtime.health import HealthServer

    server = HealthServer(health, *address)
    stack.callback(server.close)
    return server.url


def _fan_out(*reporters: Callable[[RunnerEvent], None]) -> Callable[[RunnerEvent], None]:
    def report(event: RunnerEvent) -> None:
        for reporter in reporters:
            reporter(event)

    return report
