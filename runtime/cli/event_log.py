"""``serve``'s log: each runner event as one log record (one line; a JSON object with
``--log-format json``), never a table — a service's output is read by journald, Docker or a
log collector, a line at a time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dhispatch.runtime.cli.logs import fields
from dhispatch.runtime.cli.logs import log
from dhispatch.runtime.cli.render import FAILING
from dhispatch.runtime.cli.render import print_notices
from dhispatch.runtime.printable import printable
from dhispatch.runtime.run import RunResult
from dhispatch.runtime.runner import NextDue
from dhispatch.runtime.runner import NothingDue
from dhispatch.runtime.runner import PlanFailed
from dhispatch.runtime.runner import RunFinished
from dhispatch.runtime.runner import RunnerEvent
from dhispatch.runtime.runner import RunStarted
from dhispatch.runtime.runner import SlotsDropped

CONFLICTS_LOGGED = 20  # per run; `dhispatch report RUN` has them all


def log_event(event: RunnerEvent) -> None:
    """The runner's report callback for serve."""
    if isinstance(event, RunStarted):
        log.info("%s: run started (%s)", event.plan.label, event.trigger,
                 extra=fields(event="run_started", plan=event.plan.label,
                              trigger=event.trigger))  # fmt: skip
    elif isinstance(event, RunFinished):
        _finished(event.plan.label, event.result)
    elif isinstance(event, SlotsDropped):
        log.warning("%s: %d slots are older than the catch-up window and were not run (use "
                    "backfill)", event.plan.label, event.count,
                    extra=fields(event="slots_dropped", plan=event.plan.label,
                                 count=event.count))  # fmt: skip
    elif isinstance(event, NothingDue):
        log.info("%s: nothing due", event.plan.label,
                 extra=fields(event="nothing_due", plan=event.plan.label))  # fmt: skip
    elif isinstance(event, PlanFailed):
        text = " / ".join(printable(line) for line in event.error.lines())
        log.error("%s: %s", event.plan.label, text,
                  extra=fields(event="plan_failed", plan=event.plan.label, error=text))  # fmt: skip
    elif isinstance(event, NextDue):
        at = event.at.isoformat() if event.at is not None else None
        log.info("serve: next due %s", at or "not within a year",
                 extra=fields(event="next_due", at=at))  # fmt: skip


def _finished(plan: str, result: RunResult) -> None:
    """One line for the run, then one per notice and per refused value (the first 20)."""
    s = result.summary
    data = s.as_json()
    counts: Mapping[str, Any] = {
        k: data.get(k, 0)
        for k in ("values", "new", "changed", "unchanged", "sent", "refused", "unconfirmed",
                  "parked", "batches")
    }  # fmt: skip
    level = logging.WARNING if result.status in FAILING or result.refused else logging.INFO
    periods = ", ".join(data.get("periods", [])) or "none"
    log.log(level,
            "%s: run %s %s: periods %s; %d values, %d sent, %d refused, %d due again, "
            "%d parked; %.1f s", plan, result.run_id, result.status, periods, counts["values"],
            counts["sent"], counts["refused"], counts["unconfirmed"], counts["parked"],
            s.timings.total,
            extra=fields(event="run_finished", plan=plan, run=result.run_id,
                         status=result.status, periods=data.get("periods", []),
                         seconds=round(s.timings.total, 3), error=s.error and printable(s.error),
                         **counts))  # fmt: skip
    print_notices(result)
    if result.status == "stopped":
        log.warning("%s: stopped on request after the batch in flight; the next run continues",
                    plan, extra=fields(event="stopped", plan=plan, run=result.run_id))  # fmt: skip
    for c in result.conflicts[:CONFLICTS_LOGGED]:
        where = ", ".join(x for x in (c.store and f"store {c.store}",
                                      c.item and f"item {c.item}") if x)  # fmt: skip
        text = printable(f"DHIS2 refused {c.indicator or 'a value'}"
                         + (f" ({where})" if where else "") + f": {c.message}")  # fmt: skip
        log.warning("%s: %s [%s] %s", plan, text, printable(c.code or "DHIS2"), c.origin or "",
                    extra=fields(event="refused", plan=plan, run=result.run_id, code=c.code,
                                 origin=c.origin))  # fmt: skip
    if len(result.conflicts) > CONFLICTS_LOGGED:
        log.warning("%s: … and %d more refused values (dhispatch report %s)", plan,
                    len(result.conflicts) - CONFLICTS_LOGGED, result.run_id)  # fmt: skip
