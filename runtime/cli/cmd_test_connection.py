"""``dhispatch test-connection SPEC|PLAN``: reach DHIS2, show version, user, last success."""

from __future__ import annotations

import sys
from datetime import UTC
from datetime import datetime

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import pick_target
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.printable import printable


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.command("test-connection")
@click.argument("spec_or_plan", metavar="SPEC|PLAN")
@options.state
@options.env_file
@options.target
@click.option("--timeout", default=15.0, show_default=True, help="Seconds per request.")
def command(spec_or_plan: str, target_name: str | None, state: str | None, timeout: float) -> None:
    """Check that the spec's DHIS2 answers, accepts the credentials and lets the user push."""
    from dhispatch.runtime.runner import Runner

    loaded = pick_target(load_plan_arg(spec_or_plan), target_name)
    with Runner(state_path(state, [loaded.plan]), lock=False) as runner:
        check = runner.test_connection(loaded.plan, timeout=timeout)
    previous = check.previous
    last = "last successful connection: " + (_when(previous.at) if previous else "never")
    if check.failure == "authentication":
        click.echo(f"Authentication failed for {check.url}", err=True)
        click.echo(f"  {printable(check.error)}", err=True)
    elif check.failure is not None:
        click.echo(f"Connection failed: {printable(check.error)}", err=True)
    if check.failure is not None or check.info is None or check.me is None or check.at is None:
        click.echo(f"  {last}", err=True)
        sys.exit(1)
    info, me = check.info, check.me
    # the version, revision, user name and calendar are DHIS2's words: printable only
    revision = f" (revision {printable(info.revision)})" if info.revision else ""
    click.echo("Connection successful")
    click.echo(f"  DHIS2:   {check.url}")
    click.echo(f"  version: {printable(info.version)}{revision}")
    rights = "can push data values" if me.can_write_data else "cannot push data values"
    click.echo(f"  user:    {printable(me.username)} ({rights})")
    click.echo(f"  last successful connection: {_when(check.at)}")
    if previous:
        click.echo(f"  previous successful connection: {_when(previous.at)}")
    for warning in check.warnings:
        click.echo(f"warning: {printable(warning)}", err=True)
    if check.refuses_pushes:
        sys.exit(1)
