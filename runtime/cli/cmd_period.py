"""``dhispatch period``: the DHIS2 period ID of dates, or the dates of period IDs (``--parse``)."""

from __future__ import annotations

from datetime import date

import click


@click.command(name="period")
@click.argument("period_type", metavar="TYPE")
@click.argument("values", nargs=-1, required=True, metavar="DATE...")
@click.option(
    "--parse",
    "parse",
    is_flag=True,
    help="Read the arguments as period IDs of TYPE and print their canonical ID and dates.",
)
def command(period_type: str, values: tuple[str, ...], parse: bool) -> None:
    """Print `ID START END` (ISO dates, END inclusive) for each DATE of a DHIS2 period TYPE.

    \b
    dhispatch period Weekly 2024-12-31        ->  2025W1 2024-12-30 2025-01-05
    dhispatch period FinancialNov --parse 2010Nov  ->  2010Nov 2009-11-01 2010-10-31
    """
    from dhispatch.runtime.periods import Period
    from dhispatch.runtime.periods import PeriodError
    from dhispatch.runtime.periods import check_type
    from dhispatch.runtime.periods import parse_period
    from dhispatch.runtime.periods import period_for

    check_type(period_type)
    # Resolve every argument before printing any, so a bad one leaves no partial output.
    periods: list[Period] = []
    problems: list[PeriodError] = []
    for value in values:
        try:
            if parse:
                periods.append(parse_period(value, period_type))
            else:
                periods.append(period_for(period_type, _iso_date(value)))
        except PeriodError as exc:  # every bad argument is reported, not just the first
            problems.append(exc)
    if problems:
        for problem in problems[:-1]:
            click.echo(f"dhispatch: {problem}", err=True)
        raise problems[-1]
    for period in periods:
        click.echo(f"{period.id} {period.start.isoformat()} {period.end.isoformat()}")


def _iso_date(text: str) -> date:
    from dhispatch.runtime.periods import PeriodError

    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None
