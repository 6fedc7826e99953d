"""``dhispatch test-connection SPEC|PLAN``: reach DHIS2, show version, user, last success."""

from __future__ import annotations

import os
from datetime import UTC
from datetime import datetime

import click

from dhispatch.runtime.cli.common import fail
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import state_path


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.command("test-connection")
@click.argument("spec_or_plan", metavar="SPEC|PLAN")
@click.option("--state", default=None, help="State database (default .dhispatch/state.sqlite).")
@click.option("--timeout", default=15.0, show_default=True, help="Seconds per request.")
def command(spec_or_plan: str, state: str | None, timeout: float) -> None:
    """Check that the spec's DHIS2 answers, accepts the credentials and lets the user push."""
    from dhispatch.runtime.dhis2 import AuthenticationError
    from dhispatch.runtime.dhis2 import ConfigError
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import Dhis2Error
    from dhispatch.runtime.dhis2 import RetryPolicy
    from dhispatch.runtime.dhis2 import auth_from_plan
    from dhispatch.runtime.journal import Journal
    from dhispatch.runtime.journal import JournalError

    loaded = load_plan_arg(spec_or_plan)
    target = loaded.plan.target
    url = target.url
    try:
        auth = auth_from_plan(target.auth, os.environ)
    except ConfigError as exc:
        fail(str(exc), 2)
    try:
        journal = Journal.open(state_path(state))
    except JournalError as exc:
        fail(str(exc))
    with journal:
        previous = journal.last_connection(url)
        last = f"last successful connection: {_when(previous.at)}" if previous else (
            "last successful connection: never"
        )  # fmt: skip
        retry = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0)
        try:
            with Dhis2Client(url, auth, timeout=timeout, retry=retry) as client:
                info = client.system_info()
                me = client.me()
        except AuthenticationError as exc:
            click.echo(f"Authentication failed for {url}", err=True)
            click.echo(f"  {exc}", err=True)
            click.echo(f"  {last}", err=True)
            raise SystemExit(1) from None
        except Dhis2Error as exc:
            click.echo(f"Connection failed: {exc}", err=True)
            click.echo(f"  {last}", err=True)
            raise SystemExit(1) from None
        now = datetime.now(UTC)
        journal.record_connection(url, info.version, me.username, now)
    problems: list[str] = []
    if not me.can_write_data:
        problems.append(
            f"user {me.username} has neither F_DATAVALUE_ADD nor ALL: DHIS2 will refuse pushes"
        )
    data_set = target.data_set
    if me.can_write_data and "ALL" not in me.authorities and data_set not in me.data_sets:
        problems.append(f"user {me.username} cannot write data set {data_set}")
    if info.calendar not in (None, "iso8601"):
        problems.append(f"the server calendar is {info.calendar}; period IDs assume iso8601")
    revision = f" (revision {info.revision})" if info.revision else ""
    click.echo("Connection successful")
    click.echo(f"  DHIS2:   {url}")
    click.echo(f"  version: {info.version}{revision}")
    rights = "can push data values" if me.can_write_data else "cannot push data values"
    click.echo(f"  user:    {me.username} ({rights})")
    click.echo(f"  last successful connection: {_when(now)}")
    if previous:
        click.echo(f"  previous successful connection: {_when(previous.at)}")
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if problems and not all(p.startswith("the server calendar") for p in problems):
        raise SystemExit(1)
