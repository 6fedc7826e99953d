"""How the run commands show runs: the summary table, refused values, runner notices (as log
warnings), and the progress bars (``progress.py``) fed while a run goes.

Store and item names, DHIS2's messages and error texts are foreign: each passes through
``printable`` before it reaches the terminal, and rich tables get them as plain ``Text`` (never
markup), so none of them can drive the terminal or forge a line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from dhispatch.errors import DhispatchError
from dhispatch.runtime.cli.logs import log
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.printable import printable
from dhispatch.runtime.run import RunResult
from dhispatch.runtime.runner import AlertsSent
from dhispatch.runtime.runner import NextDue
from dhispatch.runtime.runner import NothingDue
from dhispatch.runtime.runner import PlanFailed
from dhispatch.runtime.runner import RunFinished
from dhispatch.runtime.runner import RunnerEvent
from dhispatch.runtime.runner import RunStarted
from dhispatch.runtime.runner import SlotsDropped

MAX_CAUSES = 20  # causes printed after a run; --json and `report` have them all
NAMING = frozenset({"E903", "E905", "E906", "E907", "E908"})  # preflight: an ID DHIS2 lacks


def text_cell(value: Any) -> Any:
    """A rich table cell showing ``value`` as it is: printable, never read as markup."""
    from rich.text import Text

    return Text(printable(value))


def console() -> Any:
    """A rich console; when output is not a terminal, wide enough that tables never squeeze."""
    from rich.console import Console

    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 180)


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table rows of a summary as the journal stores it (so old runs render too)."""
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
        (
            "values due again / parked / already waiting",
            f"{summary.get('unconfirmed', 0)} / {summary.get('parked', 0)} / "
            f"{summary.get('waiting', 0)}",
        ),
        *_registration_rows(summary),
        ("stores without org unit (skipped)", str(sk.get("stores_without_org_unit", 0))),
        ("items without reference (skipped)", str(sk.get("items_without_reference", 0))),
        (
            "seconds: indicators / payload / journal / HTTP / total",
            f"{t.get('indicators', 0):.2f} / {t.get('payload', 0):.2f} / "
            f"{t.get('journal', 0):.2f} / {t.get('http', 0):.2f} / {t.get('total', 0):.2f}",
        ),
    ]
    if summary.get("withheld"):  # only when the admission stage withheld values
        rows.insert(6, ("not sent: DHIS2 would refuse them", str(summary["withheld"])))
    return rows


def _registration_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The completeness row, for runs that registered or tried to (none: the table as it was)."""
    done, refused = summary.get("registered", 0), summary.get("registrations_refused", 0)
    if not done and not refused:
        return []
    return [("data set complete: registered / refused or failed", f"{done} / {refused}")]


def plan_label(plan: Plan) -> str:
    """A plan as messages name it: with its target when the spec names several."""
    return plan.label


def print_summary(title: str, summary: Mapping[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for k, v in summary_rows(summary):
        table.add_row(k, v)
    console().print(table)


def print_conflicts(
    conflicts: Sequence[ConflictRow], sources: Mapping[str, str], hints: Mapping[str, str]
) -> None:
    """Refused and withheld values by cause, each a diagnostic at the spec line of its push:
    one line per cause with a count, the stores and items it hit, and a hint."""
    if not conflicts:
        return
    from dhispatch.dsl.diagnostics import Diagnostic
    from dhispatch.dsl.diagnostics import render
    from dhispatch.runtime.report.causes import by_cause

    causes = by_cause(conflicts, hints)
    for shown, cause in enumerate(causes):
        if shown >= MAX_CAUSES:
            click.echo(f"… and {len(causes) - shown} more causes (see `dhispatch report` or "
                       "--json)", err=True)  # fmt: skip
            break
        span = _span(cause.origin)
        code = printable(cause.code or "DHIS2")
        text, hint = printable(cause.headline), cause.hint and printable(cause.hint)
        if span is not None:
            diag = Diagnostic(code=code, message=text, span=span, hint=hint)
            click.echo(render(diag, sources.get(span.path)), err=True)
        else:
            click.echo(f"error[{code}]: {text}", err=True)
            if hint:
                click.echo(f"  hint: {hint}", err=True)


def preflight_hints(plan: Plan, state: Path) -> dict[str, str]:
    """What preflight says (its hints: "did you mean …") per spec line, against the metadata the
    run checked its values against (cached beside the journal); empty without one."""
    from dhispatch.compiler.preflight import preflight
    from dhispatch.runtime.report.causes import spec_line
    from dhispatch.runtime.run.metadata_cache import cache_for
    from dhispatch.runtime.run.metadata_cache import cache_key

    snapshot = cache_for(state).load(cache_key(plan, os.environ))
    if snapshot is None:
        return {}
    try:
        found = preflight(plan, snapshot.export)
    except DhispatchError:
        return {}
    return {spec_line(d.span.origin): d.hint for d in found if d.hint and d.code in NAMING}


def _span(origin: str | None) -> Any:
    from dhispatch.dsl.diagnostics import Span

    if not origin:
        return None
    try:
        return Span.parse_origin(origin)
    except ValueError:
        return None


def print_run(
    result: RunResult, sources: Mapping[str, str], state: Path, *, as_json: bool, plan: Plan
) -> None:
    """A run's outcome: its summary (table or JSON: every conflict), refused values by cause,
    where to look next; the target by name when the spec names several."""
    target = plan.target.name
    summary = result.summary.as_json()
    hints = preflight_hints(plan, state) if result.conflicts else {}
    if as_json:
        from dhispatch.runtime.report.causes import by_cause

        full = {"run": result.run_id, **({"target": target} if target else {}), **summary,
                "conflicts": [conflict_json(c) for c in result.conflicts],
                "causes": [c.as_json() for c in by_cause(result.conflicts, hints)]}  # fmt: skip
        click.echo(json.dumps(full, indent=2, sort_keys=True))
    else:
        title = f"run {result.run_id}" if result.run_id is not None else "preview"
        title += f" → {target}" if target else ""
        print_summary(title, summary)
        print_notices(result)
    print_conflicts(result.conflicts, sources, hints)
    if not as_json and result.run_id is not None:
        click.echo(
            f"journal: {state}  ·  dhispatch log --state {state}  ·  "
            f"dhispatch report {result.run_id} --state {state}"
        )
    if result.status == "stopped":
        _say("stopped on request after the batch in flight; the next run continues")


def conflict_json(c: ConflictRow) -> dict[str, Any]:
    """One conflict as ``--json`` prints it (``withheld``: never sent)."""
    from dhispatch.runtime.journal import WITHHELD

    return {
        "withheld": c.batch_id == WITHHELD, "batch": c.batch_id or None, "index": c.idx,
        "store": c.store, "item": c.item, "indicator": c.indicator, "origin": c.origin,
        "code": c.code, "message": c.message,
    }  # fmt: skip


def print_notices(result: RunResult) -> None:
    """What the run could not do, one line each on stderr: nothing fails silently."""
    s, n = result.summary, result.summary.notices
    say = _say
    if s.status == "failed" and s.error:
        say(f"DHIS2 unreachable or refusing: {s.error}; the batches are kept and the next run "
            "resends them")  # fmt: skip
    elif s.counts.unconfirmed:
        say(f"{s.counts.unconfirmed} values are due again: DHIS2's answer did not prove it holds "
            f"them ({s.error}); the next run resends them")  # fmt: skip
    note = s.admission or ""
    if "not checked" in note or ", stale: " in note:
        say(f"values {note}")
    if s.counts.parked:
        say(f"{s.counts.parked} values were parked after failing the same way too often; see "
            "dhispatch log (--retry-parked / --drop-parked)")  # fmt: skip
    elif n.parked_batches:
        say(f"{n.parked_batches} parked batch(es) wait for an operator: see dhispatch log")
    if n.blocked:
        say(n.blocked)
    for problem in n.unformattable[:10]:
        say(f"skipped a value that cannot be sent: {problem}")
    if n.future_slots:
        say(f"not run: the period of {', '.join(n.future_slots)} has not started on DHIS2's "
            "clock (they stay due)")  # fmt: skip
    if n.instead:
        say(f"DHIS2 takes instead: {' or '.join(n.instead)}")
    if n.clock_skew is not None:
        ahead = "ahead of" if n.clock_skew > 0 else "behind"
        say(f"this machine's clock is {abs(n.clock_skew) / 3600:.1f} hours {ahead} DHIS2's; "
            "check its time (slots are computed from it)")  # fmt: skip


def _say(text: str) -> None:
    """One warning (a ``dhispatch: …`` line on stderr, or a log record of serve); whatever
    foreign text it carries (DHIS2's messages, store and item codes) made inert first."""
    log.warning("%s", printable(text))


# statuses that exit 1: values refused, due again, parked, or nothing sent at all
FAILING = frozenset({"conflicts", "failed", "unconfirmed", "parked", "blocked", "deferred"})


def exit_code(results: Iterable[RunResult]) -> int:
    """1 when any value was refused, left due, parked, or the run failed or was blocked."""
    bad = any(r.status in FAILING or r.refused for r in results)
    return 1 if bad else 0


class RunnerPrinter:
    """Prints the runner's events as the run commands always have: progress bars while a run
    computes and sends (at a terminal), then its summary; notices as log messages."""

    def __init__(
        self, sources: Mapping[str, Mapping[str, str]], state: Path, *, as_json: bool = False
    ) -> None:
        from dhispatch.runtime.cli.progress import Bars

        self._sources = sources  # plan name -> the spec texts its origins point into
        self._state = state
        self._as_json = as_json
        self._bars = Bars(enabled=not as_json)

    def progress(self, what: str, count: int, total: int | None = None, /) -> None:
        """The runner's progress callback: feeds the bars."""
        self._bars.update(what, count, total)

    def __call__(self, event: RunnerEvent) -> None:
        if isinstance(event, RunStarted):
            self._bars.start_run(plan_label(event.plan))
        elif isinstance(event, RunFinished):
            self._bars.end_run()
            sources = self._sources.get(event.plan.name, {})
            print_run(event.result, sources, self._state, as_json=self._as_json, plan=event.plan)
        elif isinstance(event, SlotsDropped):
            log.warning("%s: %d slots are older than the catch-up window and were not run (use "
                        "backfill)", plan_label(event.plan), event.count)  # fmt: skip
        elif isinstance(event, NothingDue):
            click.echo(f"{plan_label(event.plan)}: nothing due")
        elif isinstance(event, PlanFailed):
            self._bars.end_run()
            lines = "\n".join(printable(line) for line in event.error.lines())
            log.error("%s: %s", plan_label(event.plan), lines)
        elif isinstance(event, AlertsSent):
            # a failure to send is logged where it happens (runtime/alerts/monitor.py)
            for subject in event.subjects:
                log.warning("alert sent: %s", printable(subject))
        elif isinstance(event, NextDue) and event.at is not None:
            log.info("serve: next due %s", event.at.isoformat())

    def __enter__(self) -> RunnerPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()  # a run that raised leaves no bar behind
