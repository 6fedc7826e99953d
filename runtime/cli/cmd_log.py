"""``dhispatch log [--json]``: the system log — runs, what they sent and how they ended."""

from __future__ import annotations

import json
from typing import Any

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import RunRow

CAUSE_RUNS = 5  # runs whose causes the log lists (the newest with refused values)
CAUSES_PER_RUN = 5


@click.command("log")
@options.state
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@options.as_json("machine-readable output")
@click.option(
    "--prune-days",
    type=click.IntRange(1, 36500),
    default=None,
    help="first empty the payloads of batches accepted more than N days ago",
)
def command(state: str | None, limit: int, as_json: bool, prune_days: int | None) -> None:
    """List recent runs (newest first) with their outcome and counts."""
    if prune_days is not None:
        from datetime import UTC
        from datetime import datetime
        from datetime import timedelta

        with Journal.open(state_path(state)) as journal:
            journal.acquire_lock()  # pruning writes: not while a push runs
            n = journal.prune(datetime.now(UTC) - timedelta(days=prune_days))
        click.echo(f"pruned the payloads of {n} accepted batch(es) older than {prune_days} days",
                   err=True)  # fmt: skip
    with Journal.open(state_path(state)) as journal:
        runs = journal.runs(limit=limit)
        conflicts = {r.id: journal.conflicts(r.id) for r in runs}
        if as_json:
            click.echo(json.dumps([_run_json(r, conflicts[r.id]) for r in runs], indent=2,
                                  sort_keys=True))  # fmt: skip
            return
        last = {p: len(journal.pending_batches(p)) for p in {r.plan_name for r in runs}}
    from rich.table import Table

    from dhispatch.runtime.cli.render import console
    from dhispatch.runtime.cli.render import text_cell

    table = Table(title="runs (newest first)", title_justify="left")
    for col in ("run", "plan", "trigger", "started (UTC)", "status", "periods", "values",
                "sent", "unchanged", "refused", "withheld", "seconds"):  # fmt: skip
        table.add_column(col, justify="right" if col in ("run", "values", "sent") else "left")
    for r in runs:
        s = r.summary
        secs = f"{(r.finished_at - r.started_at).total_seconds():.0f}" if r.finished_at else "—"
        row = (r.id, r.plan_name, r.trigger, r.started_at.strftime("%Y-%m-%d %H:%M"), r.status,
               ", ".join(s.get("periods", [])), s.get("values", 0), s.get("sent", 0),
               s.get("unchanged", 0), s.get("refused", 0), s.get("withheld", 0),
               secs)  # fmt: skip
        table.add_row(*map(text_cell, row))
    console().print(table)
    _print_causes(runs, conflicts)
    for plan, n in sorted(last.items()):
        if n:
            click.echo(f"{plan}: {n} batch(es) waiting to be resent by the next run")


def _run_json(r: RunRow, conflicts: list[ConflictRow]) -> dict[str, Any]:
    """A run as ``log --json`` prints it: its row, summary, causes and every conflict."""
    from dhispatch.runtime.cli.render import conflict_json
    from dhispatch.runtime.report.causes import by_cause

    return {
        "id": r.id,
        "plan": r.plan_name,
        "trigger": r.trigger,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "status": r.status,
        "summary": r.summary,
        "causes": [c.as_json() for c in by_cause(conflicts)],
        "conflicts": [conflict_json(c) for c in conflicts],
    }


def _print_causes(runs: list[RunRow], conflicts: dict[int, list[ConflictRow]]) -> None:
    """Refused and withheld values of the newest runs that had some: one line per cause."""
    from dhispatch.runtime.printable import printable
    from dhispatch.runtime.report.causes import by_cause

    shown = [r for r in runs if conflicts[r.id]][:CAUSE_RUNS]
    for r in shown:
        causes = by_cause(conflicts[r.id])
        click.echo(f"run {r.id} ({r.plan_name}): {len(conflicts[r.id])} value(s) by cause")
        for cause in causes[:CAUSES_PER_RUN]:
            where = f"{cause.origin}: " if cause.origin else ""
            click.echo(printable(f"  {where}[{cause.code or 'DHIS2'}] {cause.headline}"))
            if cause.hint:
                click.echo(printable(f"    hint: {cause.hint}"))
        if len(causes) > CAUSES_PER_RUN:
            click.echo(f"  … and {len(causes) - CAUSES_PER_RUN} more causes "
                       f"(dhispatch report {r.id})")  # fmt: skip
