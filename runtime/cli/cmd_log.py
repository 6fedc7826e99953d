"""``dhispatch log [--json]``: the system log — runs, what they sent and how they ended."""

from __future__ import annotations

import json

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.journal import Journal


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
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {
                            "id": r.id,
                            "plan": r.plan_name,
                            "trigger": r.trigger,
                            "started_at": r.started_at.isoformat(),
                            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                            "status": r.status,
                            "summary": r.summary,
                        }
                        for r in runs
                    ],
                    indent=2,
                    sort_keys=True,
                )
            )
            return
        last = {p: len(journal.pending_batches(p)) for p in {r.plan_name for r in runs}}
    from rich.table import Table

    from dhispatch.runtime.cli.render import console

    table = Table(title="runs (newest first)", title_justify="left")
    for col in ("run", "plan", "trigger", "started (UTC)", "status", "periods", "values",
                "sent", "unchanged", "refused", "seconds"):  # fmt: skip
        table.add_column(col, justify="right" if col in ("run", "values", "sent") else "left")
    for r in runs:
        s = r.summary
        secs = f"{(r.finished_at - r.started_at).total_seconds():.0f}" if r.finished_at else "—"
        table.add_row(str(r.id), r.plan_name, r.trigger, r.started_at.strftime("%Y-%m-%d %H:%M"),
                      r.status, ", ".join(s.get("periods", [])), str(s.get("values", 0)),
                      str(s.get("sent", 0)), str(s.get("unchanged", 0)), str(s.get("refused", 0)),
                      secs)  # fmt: skip
    console().print(table)
    for plan, n in sorted(last.items()):
        if n:
            click.echo(f"{plan}: {n} batch(es) waiting to be resent by the next run")
