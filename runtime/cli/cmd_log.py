"""``dhispatch log [--json]``: the system log — runs, where they pushed, what they sent and how they
ended; batches waiting to be resent and batches parked (with why), which ``--retry-parked`` makes
due again and ``--drop-parked ID`` gives up."""

from __future__ import annotations

import json
from typing import Any

import click

from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import RegistrationRow
from dhispatch.runtime.journal import RunRow
from dhispatch.runtime.journal import TargetKey

CAUSE_RUNS = 5  # runs whose causes the log lists (the newest with refused values)
CAUSES_PER_RUN = 5


@click.command("log")
@options.state
@options.target
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@options.as_json("machine-readable output (a list of runs)")
@click.option(
    "--prune-days",
    type=click.IntRange(1, 36500),
    default=None,
    help="first empty the payloads of batches accepted more than N days ago",
)
@click.option(
    "--retry-parked", "retry", is_flag=False, flag_value="all", default=None, metavar="[ID]",
    help="make parked batches (all, or batch ID) due again: the next run resends them first",
)  # fmt: skip
@click.option(
    "--drop-parked", "drop", type=int, multiple=True, metavar="ID",
    help="give up parked batch ID (recorded; repeatable)",
)  # fmt: skip
def command(
    state: str | None,
    target_name: str | None,
    limit: int,
    as_json: bool,
    prune_days: int | None,
    retry: str | None,
    drop: tuple[int, ...],
) -> None:
    """List recent runs (newest first) with their outcome and counts, and the queue."""
    path = state_path(state)
    if prune_days is not None or retry is not None or drop:
        _act(path, prune_days, retry, drop)
    with Journal.open(path, readonly=True) as journal:
        names = journal.target_names()
        chosen = None if target_name is None else named_targets(names, target_name)
        runs = journal.runs(limit=limit, targets=chosen)
        targets = journal.targets()
        conflicts = {r.id: journal.conflicts(r.id) for r in runs}
        if as_json:
            runs_json = [_run_json(r, targets, names, conflicts[r.id]) for r in runs]
            click.echo(json.dumps(runs_json, indent=2, sort_keys=True))
            return
        waiting = [w for w in journal.waiting() if chosen is None or w[1] in chosen]
        parked = [b for b in journal.parked_batches() if chosen is None or b.target_id in chosen]
        registrations = [r for r in journal.registrations()
                         if chosen is None or r.target_id in chosen]  # fmt: skip
    _print_runs(runs, targets, names)
    _print_causes(runs, conflicts)
    _print_registrations(registrations, names)
    _print_queue(waiting, parked, targets)


def named_targets(names: dict[int, str], name: str) -> set[int]:
    """The journal's targets a spec's target block ``name`` ran as (UsageError: none)."""
    from dhispatch.errors import UsageError

    found = {tid for tid, n in names.items() if n == name}
    if not found:
        known = ", ".join(sorted(set(names.values()))) or "none yet"
        raise UsageError(f"the journal has no target named {name!r} (named targets: {known})")
    return found


def _act(path: Any, prune_days: int | None, retry: str | None, drop: tuple[int, ...]) -> None:
    """What ``log`` changes, under the runner lock (never while a push runs)."""
    from dhispatch.errors import UsageError
    from dhispatch.runtime.runner import Runner

    Journal.open(path, readonly=True).close()  # a journal that is not there is not created
    with Runner(path) as runner:
        runner.journal  # noqa: B018 - the lock first
        if prune_days is not None:
            from datetime import UTC
            from datetime import datetime
            from datetime import timedelta

            n = runner.journal.prune(datetime.now(UTC) - timedelta(days=prune_days))
            click.echo(f"pruned the payloads of {n} accepted batch(es) older than "
                       f"{prune_days} days", err=True)  # fmt: skip
        if retry is not None:
            if retry != "all" and not retry.isdigit():
                raise UsageError(f"--retry-parked takes a batch number, not {retry!r}")
            n = runner.retry_parked(None if retry == "all" else int(retry))
            click.echo(f"{n} parked batch(es) are due again; the next run of their plan "
                       "resends them first", err=True)  # fmt: skip
        for batch_id in drop:
            if not runner.drop_parked(batch_id):
                raise UsageError(f"batch {batch_id} is not parked (see dhispatch log)")
            click.echo(f"batch {batch_id} dropped: its values will not be resent", err=True)


def _target_text(target_id: int, targets: dict[int, TargetKey]) -> str:
    key = targets.get(target_id)
    if key is None:
        return "(not recorded: schema 1)"
    return f"{key.url} · {key.data_set} · {key.user}"


def _run_json(
    r: RunRow, targets: dict[int, TargetKey], names: dict[int, str], conflicts: list[ConflictRow]
) -> dict[str, Any]:
    """A run as ``log --json`` prints it: its row, target (with its spec name), summary, causes
    and every conflict (refused by DHIS2, or withheld: never sent)."""
    from dhispatch.runtime.cli.render import conflict_json
    from dhispatch.runtime.report.causes import by_cause

    key = targets.get(r.target_id)
    target: dict[str, Any] | None = None
    if key is not None:
        target = {"url": key.url, "data_set": key.data_set, "user": key.user}
        if r.target_id in names:
            target["name"] = names[r.target_id]
    return {
        "id": r.id,
        "plan": r.plan_name,
        "target": target,
        "trigger": r.trigger,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "status": r.status,
        "summary": r.summary,
        "causes": [c.as_json() for c in by_cause(conflicts)],
        "conflicts": [conflict_json(c) for c in conflicts],
    }


def _print_runs(runs: list[RunRow], targets: dict[int, TargetKey], names: dict[int, str]) -> None:
    from rich.table import Table

    from dhispatch.runtime.cli.render import console
    from dhispatch.runtime.cli.render import text_cell

    table = Table(title="runs (newest first)", title_justify="left")
    for col in ("run", "plan", "target", "trigger", "started (UTC)", "status", "periods",
                "values", "sent", "unchanged", "refused", "withheld", "seconds"):  # fmt: skip
        table.add_column(col, justify="right" if col in ("run", "values", "sent") else "left")
    for r in runs:
        s = r.summary
        secs = f"{(r.finished_at - r.started_at).total_seconds():.0f}" if r.finished_at else "—"
        key = targets.get(r.target_id)
        where = key.url if key else "—"
        if r.target_id in names:
            where = f"{names[r.target_id]} · {where}"
        row = (r.id, r.plan_name, where, r.trigger,
               r.started_at.strftime("%Y-%m-%d %H:%M"), r.status,
               ", ".join(s.get("periods", [])), s.get("values", 0), s.get("sent", 0),
               s.get("unchanged", 0), s.get("refused", 0), s.get("withheld", 0),
               secs)  # fmt: skip
        table.add_row(*map(text_cell, row))
    console().print(table)


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


def _print_registrations(registrations: list[RegistrationRow], names: dict[int, str]) -> None:
    """Completeness registrations: how many per target and period, and each one refused or
    failed with why (DHIS2's words: made inert)."""
    from collections import Counter

    from dhispatch.runtime.printable import printable

    if not registrations:
        return
    done = Counter((r.plan_name, r.target_id, r.period) for r in registrations
                   if r.status == "registered")  # fmt: skip
    click.echo("\ndata set completeness registrations")
    for (plan, target, period), n in sorted(done.items()):
        where = names.get(target, f"target {target}")
        click.echo(printable(f"  {plan} → {where}  {period}: {n} org unit(s) registered complete"))
    for r in registrations:
        if r.status != "registered":
            where = names.get(r.target_id, f"target {r.target_id}")
            line = (f"{r.plan_name} → {where}  {r.period} {r.org_unit}: {r.status} "
                    f"(run {r.run_id}): {r.message or '—'}")  # fmt: skip
            click.echo("  " + printable(line))


def _print_queue(
    waiting: list[tuple[str, int, str, int]],
    parked: list[BatchRow],
    targets: dict[int, TargetKey],
) -> None:
    """Due and parked batches, one line each (the reasons are DHIS2's words: made inert)."""
    from dhispatch.runtime.printable import printable

    for plan, target, status, n in waiting:
        if status != "parked":
            click.echo(printable(f"{plan} → {_target_text(target, targets)}: {n} batch(es) "
                                 f"{status}, resent first by the next run"))  # fmt: skip
    if not parked:
        return
    click.echo(f"\nparked batches ({len(parked)}): set aside after failing the same way too "
               "often; dhispatch log --retry-parked [ID] · --drop-parked ID")  # fmt: skip
    for b in parked:
        click.echo("  " + printable(f"batch {b.id}  {b.plan_name} → "
                                    f"{_target_text(b.target_id, targets)}  {b.size} values  "
                                    f"{b.note or b.error or ''}"))  # fmt: skip
