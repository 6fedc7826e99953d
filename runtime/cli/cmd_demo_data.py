"""``dhispatch demo-data``: write a synthetic country into an open mSupply database."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

import click

from dhispatch.runtime.demo import identifiers as demo_country


@click.command("demo-data")
@click.option(
    "-o",
    "--output",
    "target",
    required=True,
    metavar="FILE|URL",
    help="a new SQLite file to write (an existing one only with --force) or an empty "
    "PostgreSQL database URL",
)
@click.option(
    "--force",
    is_flag=True,
    help="replace an existing SQLite file (never a directory, device or symbolic link)",
)
@click.option(
    "--stores", type=click.IntRange(1, 10000), default=demo_country.DEMO_STORES, show_default=True
)
@click.option(
    "--items", type=click.IntRange(1, 100000), default=demo_country.DEMO_ITEMS, show_default=True
)
@click.option(
    "--months", type=click.IntRange(1, 240), default=demo_country.DEMO_MONTHS, show_default=True
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Same seed, same database (deterministic).",
)
@click.option(
    "--end",
    "end",
    metavar="DATE",
    default=None,
    help="Last day of data, YYYY-MM-DD (default: today, UTC).",
)
def command(
    target: str, force: bool, stores: int, items: int, months: int, seed: int, end: str | None
) -> None:
    """Generate a realistic synthetic country (receipts, issues, prescriptions, adjustments,
    repacks, cancellations, stock-outs, expiring batches) in open mSupply's schema."""
    from dhispatch.runtime.cli.common import CommandError
    from dhispatch.runtime.demo.generator import generate_demo

    try:
        last = date.fromisoformat(end) if end else datetime.now().astimezone().date()
    except ValueError:
        raise click.BadParameter(
            f"{end!r} is not a date (YYYY-MM-DD)", param_hint="--end"
        ) from None
    import contextlib
    import sys

    # a bar only on a terminal: logs and pipes get the one summary line
    bar: Any = (
        click.progressbar(length=stores, label="generating stores", file=sys.stderr)
        if sys.stderr.isatty()
        else contextlib.nullcontext(None)
    )
    try:
        with bar as shown:
            summary = generate_demo(
                target,
                stores=stores,
                items=items,
                months=months,
                seed=seed,
                end=last,
                progress=shown.update if shown is not None else None,
                overwrite=force,
            )
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc
    click.echo(
        f"wrote {summary.target}: {summary.stores} stores, {summary.items} items, "
        f"{summary.first_day} .. {summary.end}, {summary.invoices} invoices, "
        f"{summary.movement_lines} movement lines, {summary.stock_lines} stock lines"
    )
