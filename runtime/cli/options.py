"""Options several commands share, declared once, with the parsing of their values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any
from typing import TypeVar

import click

from dhispatch.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

STATE_HELP = (
    "the journal (state database); default: the spec's journal setting, else $DHISPATCH_STATE, "
    "else state.sqlite in the platform's state directory (Linux: $XDG_STATE_HOME/dhispatch)"
)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--{param.name} {value!r} is not a date (expected YYYY-MM-DD)") from None


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO instant; a naive one is read as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--now {value!r} is not an ISO date-time (e.g. 2024-03-01T06:00:00+00:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from dhispatch.runtime.cli.env_file import load_env_file

        load_env_file(value)


state = click.option("--state", metavar="PATH", help=STATE_HELP)
# eager: the variables are set before any other option or the plan is read
env_file = click.option(
    "--env-file", metavar="FILE", callback=_env_file, expose_value=False, is_eager=True,
    help="read variables (credentials, OMSUPPLY_DB) from a dotenv file; the environment wins",
)  # fmt: skip
target = click.option(
    "--target", "target_name", metavar="NAME",
    help='which of the spec\'s targets (its target "NAME" blocks); needed when it names several',
)  # fmt: skip
at = click.option(
    "--at", "at", metavar="DATE", callback=_date,
    help="compute as of the end of DATE (spec time zone)",
)  # fmt: skip
period = click.option("--period", metavar="P", help="fill DHIS2 period P (e.g. 202401)")
force = click.option("--force", is_flag=True, help="also resend values the journal shows unchanged")
batch_size = click.option("--batch-size", type=click.IntRange(1, 100000), default=None)
window_days = click.option(
    "--window-days", type=click.IntRange(1, 3660), default=None,
    help="catch-up window (default 92 days)",
)  # fmt: skip
now = click.option(
    "--now", "now", hidden=True, callback=_instant, help="pretend it is this instant (testing)"
)
metadata_max_age = click.option(
    "--metadata-max-age", metavar="HOURS", type=click.FloatRange(0, 24 * 366), default=None,
    help="refetch the DHIS2 metadata values are checked against when the cached copy is older "
    "(default 6)",
)  # fmt: skip
deadline = click.option(
    "--deadline", type=click.FloatRange(1, 86400), default=None, metavar="SECONDS",
    help="longest one DHIS2 request may take, retries included (default 120)",
)  # fmt: skip

park_after = click.option(
    "--park-after", type=click.IntRange(1, 1000), default=None, metavar="N",
    help="park a batch that failed the same way N times in a row (default 3)",
)  # fmt: skip
max_drop = click.option(
    "--max-drop", type=click.IntRange(0, 100), default=None, metavar="PCT",
    help="stop before sending when more than PCT %% of the values DHIS2 holds would turn to 0 "
    "or vanish (default 20)",
)  # fmt: skip
accept_drop = click.option(
    "--accept-drop", is_flag=True, help="send even when the drop guard would stop the run"
)


log_format = click.option(
    "--log-format", type=click.Choice(["auto", "text", "json"]), default="auto",
    show_default=True,
    help="messages: auto (rich at a terminal, else plain lines), text, or json (one object a "
    "line, for log collectors)",
)  # fmt: skip


def delivery(park_after: int | None, max_drop: int | None, accept_drop: bool) -> Any:
    """The runner's delivery settings from the three options above."""
    from dhispatch.runtime.cli.common import DeliveryOptions

    share = None if max_drop is None else max_drop / 100
    return DeliveryOptions(park_after=park_after, max_drop=share, accept_drop=accept_drop)


# tests make the client's backoff fast; never needed in production
retry_delay = click.option("--retry-delay", type=click.FloatRange(0, 60), default=None, hidden=True)


def as_json(help_text: str) -> Callable[[F], F]:
    """``--json``, whose help says what is printed as JSON."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def one_of_at_or_period(at_value: date | None, period_value: str | None) -> None:
    if at_value is not None and period_value is not None:
        raise UsageError("give either --at or --period, not both")
