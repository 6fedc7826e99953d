"""``dhispatch push SPEC|PLAN [--at DATE] [--period P] [--dry-run]``: send one manual push.

Also home of the helpers the other run commands (backfill, run, serve, demo) share: opening the
journal under its lock, a progress display, the summary table and the conflict listing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from dhispatch.runtime.cli.common import fail
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run import RunMode
from dhispatch.runtime.run import RunResult

STATE_HELP = "state database (journal); default $DHISPATCH_STATE or .dhispatch/state.sqlite"


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (expected YYYY-MM-DD)", 2)


def parse_instant(value: str | None, option: str) -> datetime | None:
    """An ISO instant; a naive one is read as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not an ISO date-time (e.g. 2024-03-01T06:00:00+00:00)", 2)
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


@contextmanager
def open_journal(state: str | None, *, lock: bool) -> Iterator[Any]:
    """The journal (JournalError → one line, exit 1); ``lock`` takes the one-runner lock."""
    from dhispatch.runtime.journal import Journal
    from dhispatch.runtime.journal import JournalError

    path = state_path(state)
    try:
        journal = Journal.open(path)
        if lock:
            journal.acquire_lock()
    except JournalError as exc:
        fail(str(exc))
    try:
        yield journal
    finally:
        journal.close()


class Progress:
    """A rich progress counter on a terminal; silent otherwise (logs stay clean)."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label = label
        self._bar: Any = None
        self._task: Any = None
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn
            from rich.progress import TextColumn
            from rich.progress import TimeElapsedColumn

            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.completed} values"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def __call__(self, what: str, count: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=count)


def console() -> Any:
    """A rich console; when output is not a terminal, wide enough that tables never squeeze."""
    from rich.console import Console

    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 180)


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    sk = summary.get("skipped", {})
    t = summary.get("timings", {})
    rows = [
        ("status", str(summary.get("status"))),
        ("periods", ", ".join(summary.get("periods", [])) or "—"),
        ("values computed", str(summary.get("values", 0))),
        (
            "  new / changed / unchanged",
            f"{summary.get('new', 0)} / {summary.get('changed', 0)} / "
            f"{summary.get('unchanged', 0)}",
        ),
        (f"vanished ({summary.get('vanished_policy', 'keep')})", str(summary.get("vanished", 0))),
        ("sent / refused", f"{summary.get('sent', 0)} / {summary.get('refused', 0)}"),
        (
            "DHIS2 imported / updated / ignored / deleted",
            f"{summary.get('imported', 0)} / {summary.get('updated', 0)} / "
            f"{summary.get('ignored', 0)} / {summary.get('deleted', 0)}",
        ),
        (
            "batches (resent / failed / queued values)",
            f"{summary.get('batches', 0)} ({summary.get('resent_batches', 0)} / "
            f"{summary.get('failed_batches', 0)} / {summary.get('queued', 0)})",
        ),
        ("stores without org unit (skipped)", str(sk.get("stores_without_org_unit", 0))),
        ("items without reference (skipped)", str(sk.get("items_without_reference", 0))),
        (
            "seconds: indicators / payload / journal / HTTP / total",
            f"{t.get('indicators', 0):.2f} / {t.get('payload', 0):.2f} / "
            f"{t.get('journal', 0):.2f} / {t.get('http', 0):.2f} / {t.get('total', 0):.2f}",
        ),
    ]
    return rows


def print_summary(title: str, summary: Mapping[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for k, v in summary_rows(summary):
        table.add_row(k, v)
    console().print(table)


def print_conflicts(conflicts: Sequence[Any], sources: Mapping[str, str]) -> None:
    """Each refused value as a diagnostic pointing at the spec line of its push."""
    if not conflicts:
        return
    from dhispatch.dsl.diagnostics import Diagnostic
    from dhispatch.dsl.diagnostics import Span
    from dhispatch.dsl.diagnostics import render

    shown = 0
    for c in conflicts:
        if shown >= 20:
            click.echo(f"… and {len(conflicts) - shown} more (see `dhispatch report`)", err=True)
            break
        shown += 1
        where = ", ".join(
            x for x in (c.store and f"store {c.store}", c.item and f"item {c.item}") if x
        )
        text = f"DHIS2 refused {c.indicator or 'a value'}" + (f" ({where})" if where else "")
        text += f": {c.message}"
        if c.origin:
            try:
                span = Span.parse_origin(c.origin)
            except ValueError:
                span = None
            if span is not None:
                diag = Diagnostic(code=c.code or "DHIS2", message=text, span=span)
                click.echo(render(diag, sources.get(span.path)), err=True)
                continue
        click.echo(f"error[{c.code or 'DHIS2'}]: {text}", err=True)


def run_slots(
    plan: Plan,
    journal: Any,
    slots: Sequence[Any],
    *,
    trigger: str,
    mode: RunMode = RunMode.PUSH,
    force: bool = False,
    batch_size: int | None = None,
    quiet: bool = False,
    retry_delay: float | None = None,
    stop: Any = None,
) -> RunResult:
    """Execute slots with a progress display; RunError → one line, exit 1."""
    from dhispatch.runtime.run import DEFAULT_BATCH_SIZE
    from dhispatch.runtime.run import RunError
    from dhispatch.runtime.run import RunOptions
    from dhispatch.runtime.run import execute

    with Progress(f"{plan.name}: computing and sending", quiet) as progress:
        options = RunOptions(
            batch_size=batch_size or DEFAULT_BATCH_SIZE, force=force, progress=progress,
            stop=stop, retry_delay=retry_delay,
        )  # fmt: skip
        try:
            return execute(plan, journal, slots, mode=mode, trigger=trigger, options=options)
        except RunError as exc:
            fail(str(exc))


def finish(result: RunResult, sources: Mapping[str, str], state: Path, *, as_json: bool) -> int:
    """Print a run's outcome; the exit code is 1 on any refused value or failed batch."""
    summary = result.summary.as_json()
    if as_json:
        click.echo(json.dumps({"run": result.run_id, **summary}, indent=2, sort_keys=True))
    else:
        title = f"run {result.run_id}" if result.run_id is not None else "preview"
        print_summary(title, summary)
        if result.summary.error:
            click.echo(f"dhispatch: DHIS2 unreachable or refusing: {result.summary.error}; "
                       "the batches are kept and the next run resends them", err=True)  # fmt: skip
    print_conflicts(result.conflicts, sources)
    if not as_json and result.run_id is not None:
        click.echo(
            f"journal: {state}  ·  dhispatch log --state {state}  ·  "
            f"dhispatch report {result.run_id} --state {state}"
        )
    if result.status == "stopped":
        click.echo("dhispatch: stopped on request after the batch in flight; the next run "
                   "continues", err=True)  # fmt: skip
    return 1 if result.status in ("conflicts", "failed") or result.refused else 0


@click.command("push")
@click.argument("spec_or_plan")
@click.option("--at", "at", metavar="DATE", help="compute as of the end of DATE (spec time zone)")
@click.option("--period", metavar="P", help="fill DHIS2 period P (e.g. 202401)")
@click.option("--dry-run", is_flag=True, help="compute and let DHIS2 validate; store nothing")
@click.option("--force", is_flag=True, help="also resend values the journal shows unchanged")
@click.option("--batch-size", type=click.IntRange(1, 100000), default=None)
@click.option("--state", metavar="PATH", help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--retry-delay", type=click.FloatRange(0, 60), default=None, hidden=True)
def command(
    spec_or_plan: str,
    at: str | None,
    period: str | None,
    dry_run: bool,
    force: bool,
    batch_size: int | None,
    state: str | None,
    as_json: bool,
    retry_delay: float | None,
) -> None:
    """Push every active step now (current day), as of --at DATE, or for --period P."""
    from dhispatch.runtime.scheduler import SchedulingError
    from dhispatch.runtime.scheduler import manual_slots

    loaded = load_plan_arg(spec_or_plan)
    if at is not None and period is not None:
        fail("give either --at or --period, not both", 2)
    try:
        slots = manual_slots(loaded.plan, at=parse_date(at, "--at"), period=period)
    except SchedulingError as exc:
        fail(str(exc), 2)
    path = state_path(state)
    with open_journal(state, lock=not dry_run) as journal:
        result = run_slots(
            loaded.plan,
            journal,
            slots,
            trigger="push",
            mode=RunMode.DRY_RUN if dry_run else RunMode.PUSH,
            force=force,
            batch_size=batch_size,
            quiet=as_json,
            retry_delay=retry_delay,
        )
    sys.exit(finish(result, loaded.sources, path, as_json=as_json))
