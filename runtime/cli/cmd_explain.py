"""``dhispatch explain``: where one value comes from — its ledger lines and the rule applied."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from dhispatch.runtime.cli.cmd_indicators import _org_unit
from dhispatch.runtime.cli.cmd_indicators import cell_options
from dhispatch.runtime.cli.cmd_indicators import requests_for


@click.command("explain")
@cell_options
@click.option("--store", "store", required=True, metavar="CODE", help="The store's code.")
@click.option("--item", "item", required=True, metavar="CODE", help="The item's code.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def command(
    database: str,
    at: str,
    indicators: tuple[str, ...],
    tz: str,
    period_start: str | None,
    org_unit: str,
    store: str,
    item: str,
    fmt: str,
    **params: Any,
) -> None:
    """For one store × item at the end of --at: every value, the rule that made it (or why there
    is none), and every ledger line behind it — invoice, type, status, date in the store's days,
    units, running balance — counted or left out, and why."""
    from dhispatch.runtime.indicators.explain import explain
    from dhispatch.runtime.plan import ScopeRules
    from dhispatch.runtime.sources import open_source

    requests = requests_for(at, tz, period_start, indicators, params)
    rules = ScopeRules(org_unit=_org_unit(org_unit))
    with open_source(database) as source:
        found = explain(source, rules, store, item, requests, tz=tz)
    if fmt == "json":
        click.echo(json.dumps(asdict(found), default=str, indent=1))
        return
    _print_table(found)


def _print_table(found: Any) -> None:
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from rich.table import Table

    from dhispatch.runtime.indicators.explain import local_text

    zone = ZoneInfo(found.tz)
    console = Console(width=max(Console().width, 140))
    reference = found.reference.strftime("%Y-%m-%d %H:%M:%S")
    console.print(
        f"store {found.store} ({found.store_name}, org unit {found.org_unit or 'none'}) × item "
        f"{found.item} ({found.item_name}); R = {reference} {found.tz}, P = "
        f"{found.period_start} .. R; {found.database}, open mSupply {found.version}",
        highlight=False,
    )
    range_note = "in the store's range" if found.in_range else "not in the store's range"
    console.print(
        f"today: {_num(found.stock_now)} units in stock, {_num(found.available_now)} available; "
        f"item {range_note}",
        highlight=False,
    )
    values = Table(title="values", title_justify="left")
    for name in ("indicator", "value", "rule"):
        values.add_column(name)
    for v in found.values:
        values.add_row(v.indicator, _num(v.value), v.rule)
    console.print(values)
    ledger = Table(title="ledger lines", title_justify="left")
    for name in ("invoice", "type", "status", "line", "date (store's days)", "units", "balance",
                 "counted / left out"):  # fmt: skip
        ledger.add_column(name, justify="right" if name in ("units", "balance") else "left")
    if found.earlier_lines:
        ledger.add_row("", "", "", "", "", "", _num(found.opening),
                       f"{found.earlier_lines} earlier lines")  # fmt: skip
    for line in found.lines:
        kind = line.line_type + (f" {line.line_status}" if line.line_status else "")
        ledger.add_row(line.invoice, line.invoice_type, line.invoice_status, kind,
                       local_text(line.at, zone), _num(line.units), _num(line.balance),
                       line.note)  # fmt: skip
    console.print(ledger)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) < 1e-9:
        return "0"
    return f"{value:.6f}".rstrip("0").rstrip(".")
