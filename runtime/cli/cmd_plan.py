"""``dhispatch plan SPEC|PLAN [--at DATE] [--period P] [--json]``: what a push would send.

Every data value, and per cell whether it is new, changed or unchanged against the journal;
cells pushed before for the same periods that would no longer be produced (vanished) and what
the plan's ``vanished`` policy would do with them; stores and items that are skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import pick_target
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.cli.render import console
from dhispatch.runtime.cli.render import print_summary
from dhispatch.runtime.cli.render import text_cell
from dhispatch.runtime.printable import printable
from dhispatch.runtime.run import CellChange

ACTION = {"keep": "kept in DHIS2", "zero": "set to 0", "delete": "deleted in DHIS2"}


@click.command("plan")
@click.argument("spec_or_plan")
@options.at
@options.period
@options.state
@options.env_file
@options.target
@options.as_json("machine-readable output")
def command(
    spec_or_plan: str,
    target_name: str | None,
    at: date | None,
    period: str | None,
    state: str | None,
    as_json: bool,
) -> None:
    """Show every value a push would send and what changes against the journal."""
    from dhispatch.runtime.runner import Runner

    loaded = pick_target(load_plan_arg(spec_or_plan), target_name)
    plan = loaded.plan
    options.one_of_at_or_period(at, period)
    with Runner(state_path(state, [plan]), readonly=True) as runner:
        result = runner.preview(plan, at=at, period=period)
    policy = plan.vanished
    summary = result.summary.as_json()
    listing = summary["skipped_list"]
    if as_json:
        out: dict[str, Any] = {
            "plan": plan.name,
            "slots": summary["slots"],
            "values": [
                {**c.cell.payload(), "change": c.state, "previous": c.previous}
                for c in result.changes
            ],
            "vanished": [
                {
                    "dataElement": r.key.data_element,
                    "period": r.key.period,
                    "orgUnit": r.key.org_unit,
                    "categoryOptionCombo": r.key.coc or None,
                    "value": r.value,
                    "step": r.step_id,
                    "store": r.store,
                    "item": r.item,
                    "action": policy,
                }
                for r in result.vanished
            ],
            "skipped": listing,
            "counts": {
                k: summary[k] for k in ("values", "new", "changed", "unchanged", "vanished")
            },
        }
        click.echo(json.dumps(out, indent=2, sort_keys=True))
        sys.exit(0)
    _print_table(result.changes)
    if result.vanished:
        click.echo(f"\nvanished (policy {policy}: {ACTION[policy]}):")
        for r in result.vanished:
            coc = f"  coc {r.key.coc}" if r.key.coc else ""
            line = (
                f"  {r.key.period}  ou {r.key.org_unit}  de {r.key.data_element}{coc}  "
                f"was {r.value}  (store {r.store}, item {r.item}, step {r.step_id})"
            )
            click.echo(printable(line))
    stores = listing.get("stores_without_org_unit") or []
    if stores:
        click.echo(f"\nskipped stores without an org unit ({len(stores)}): "
                   f"{printable(', '.join(stores))}")  # fmt: skip
    for step, items in sorted((listing.get("items_without_reference") or {}).items()):
        click.echo(f"skipped items without a reference in step {step} ({len(items)}): "
                   f"{printable(', '.join(items))}")  # fmt: skip
    print_summary(f"plan {plan.name} (nothing sent)", summary)


def _print_table(changes: Sequence[CellChange]) -> None:
    from rich.table import Table

    table = Table(title="values", title_justify="left")
    for col in ("period", "org unit", "data element", "coc", "value", "change", "store", "item",
                "step"):  # fmt: skip
        table.add_column(col, justify="right" if col == "value" else "left")
    for change in changes:
        cell, prev = change.cell, change.previous
        state = change.state
        shown = state if prev is None or state == "unchanged" else f"{state} (was {prev})"
        row = (cell.key.period, cell.key.org_unit, cell.key.data_element,
               cell.key.coc or "default", cell.value, shown, cell.store, cell.item,
               cell.step_id)  # fmt: skip
        table.add_row(*map(text_cell, row))
    console().print(table)
