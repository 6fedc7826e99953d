"""The operator's actions as calls on the CLI's ``Runner`` — test connection, dry run (the plan's
diff against the journal), push a period, backfill a range, retry or drop parked batches — and
what each one's job page shows when it ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dhispatch.errors import UsageError
from dhispatch.runtime.console.explain_view import Table
from dhispatch.runtime.console.jobs import LOCKING
from dhispatch.runtime.console.jobs import READONLY
from dhispatch.runtime.console.jobs import UNLOCKED
from dhispatch.runtime.console.jobs import Action
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run import RunResult
from dhispatch.runtime.runner import ConnectionCheck
from dhispatch.runtime.runner import Runner

TRIGGER = "console push"  # the journal's word for a push started here
SHOWN_CHANGES = 500  # a dry run lists at most this many cells (the counts cover all)
KINDS = {
    "test-connection": "Test connection",
    "dry-run": "Dry run",
    "push": "Push now",
    "backfill": "Backfill",
    "retry": "Retry parked",
    "drop": "Drop parked",
}
PUSHING = frozenset({"push", "backfill"})  # refused for a disabled target
ON_A_BATCH = frozenset({"retry", "drop"})  # for a parked batch of the entry's own target


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished action: a status word, facts, tables, and the runs it recorded."""

    status: str
    facts: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    runs: tuple[int, ...] = ()


def action(kind: str, plan: Plan, fields: dict[str, str]) -> Action:
    """The action of a confirmed form; UsageError for a missing or malformed field."""
    title = f"{KINDS[kind]} — {plan.label}"
    if kind == "test-connection":
        return Action(
            kind, plan.label, title, UNLOCKED, lambda r: _connection(r.test_connection(plan))
        )
    if kind == "dry-run":
        period = _field(fields, "period")
        return Action(kind, plan.label, f"{title} {period}", READONLY,
                      lambda r: _preview(r.preview(plan, period=period)))  # fmt: skip
    if kind == "push":
        period = _field(fields, "period")
        return Action(kind, plan.label, f"{title} {period}", LOCKING,
                      lambda r: _runs([r.push(plan, period=period, trigger=TRIGGER)]))  # fmt: skip
    if kind == "backfill":
        first, last = _field(fields, "first"), _field(fields, "last")
        return Action(kind, plan.label, f"{title} {first}..{last}", LOCKING,
                      lambda r: _runs(r.backfill(plan, first, last)))  # fmt: skip
    batch = batch_id(fields)
    if kind == "retry":
        return Action(kind, plan.label, f"{title} batch {batch}", LOCKING,
                      lambda r: _retry(r, batch))  # fmt: skip
    if kind == "drop":
        return Action(kind, plan.label, f"{title} batch {batch}", LOCKING,
                      lambda r: _drop(r, batch))  # fmt: skip
    raise UsageError(f"unknown action {kind!r}")


def _field(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise UsageError(f"the form needs a {name}")
    return value


def batch_id(fields: dict[str, str]) -> int:
    """The form's parked batch number; UsageError when missing or not a number."""
    text = _field(fields, "batch")
    if not text.isdigit():
        raise UsageError(f"batch must be a batch number, not {text!r}")
    return int(text)


def _connection(check: ConnectionCheck) -> Outcome:
    facts = [("DHIS2", check.url), ("data set", check.data_set)]
    if check.failure is not None:
        facts.append((f"{check.failure} failed", check.error or ""))
        return Outcome("failed", tuple(facts))
    if check.info is not None and check.me is not None:
        rights = "can push data values" if check.me.can_write_data else "cannot push data values"
        facts += [("version", check.info.version), ("user", f"{check.me.username} ({rights})")]
    if check.at is not None:
        facts.append(("connected at", check.at.isoformat(timespec="seconds")))
    facts += [("warning", w) for w in check.warnings]
    return Outcome("refuses pushes" if check.refuses_pushes else "ok", tuple(facts))


def _preview(result: RunResult) -> Outcome:
    c = result.summary.counts
    facts = (("periods", ", ".join(result.summary.periods)), ("values", str(c.values)),
             ("new", str(c.new)), ("changed", str(c.changed)), ("unchanged", str(c.unchanged)),
             ("vanished", str(len(result.vanished))))  # fmt: skip
    changes = Table(
        f"values (first {SHOWN_CHANGES})" if len(result.changes) > SHOWN_CHANGES else "values",
        ("period", "org unit", "data element", "coc", "value", "change", "store", "item", "step"),
        tuple((ch.cell.key.period, ch.cell.key.org_unit, ch.cell.key.data_element,
               ch.cell.key.coc or "default", ch.cell.value,
               ch.state if ch.previous is None or ch.state == "unchanged"
               else f"{ch.state} (was {ch.previous})",
               ch.cell.store, ch.cell.item, ch.cell.step_id)
              for ch in result.changes[:SHOWN_CHANGES]),
    )  # fmt: skip
    vanished = Table(
        "vanished",
        ("period", "org unit", "data element", "was", "store", "item", "step"),
        tuple((v.key.period, v.key.org_unit, v.key.data_element, v.value, v.store, v.item,
               v.step_id) for v in result.vanished),
    )  # fmt: skip
    return Outcome("nothing sent", facts, (changes, vanished))


def _runs(results: Sequence[RunResult]) -> Outcome:
    facts: list[tuple[str, str]] = []
    for r in results:
        c = r.summary.counts
        facts.append((f"run {r.run_id or '-'} ({', '.join(r.summary.periods)})",
                      f"{r.status}: {c.values} values, {c.sent} sent, {c.refused} refused, "
                      f"{c.withheld} withheld, "
                      f"{c.unchanged} unchanged, {c.queued} queued"))  # fmt: skip
        if r.summary.error:
            facts.append(("error", r.summary.error))
    statuses = sorted({r.status for r in results}) or ["nothing to run"]
    ids = tuple(r.run_id for r in results if r.run_id is not None)
    return Outcome(", ".join(statuses), tuple(facts), runs=ids)


def _retry(runner: Runner, batch: int) -> Outcome:
    count = runner.retry_parked(batch)
    if not count:
        return Outcome("not parked", (("batch", f"{batch} is not parked"),))
    return Outcome("due again", (("batch", f"{batch} is due again: the next run resends it"),))


def _drop(runner: Runner, batch: int) -> Outcome:
    if not runner.drop_parked(batch):
        return Outcome("not parked", (("batch", f"{batch} is not parked"),))
    return Outcome("dropped", (("batch", f"{batch} dropped (recorded in the journal)"),))
