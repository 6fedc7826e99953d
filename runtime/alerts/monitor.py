"""Alert states over time: each observation is compared with the journal's state of its
condition, and only a change of state — failing, or recovered — is told (again at the next
check only when telling it failed)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from dhispatch.runtime.alerts.conditions import TITLES
from dhispatch.runtime.alerts.conditions import Observation
from dhispatch.runtime.alerts.notify import Message
from dhispatch.runtime.alerts.notify import tell
from dhispatch.runtime.alerts.settings import AlertSettings
from dhispatch.runtime.journal import AlertState
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.printable import printable

log = logging.getLogger("dhispatch.alerts")
log.addHandler(logging.NullHandler())


class AlertMonitor:
    """Keeps one plan's alert states at one target in the journal and tells their changes."""

    def __init__(self, journal: Journal, settings: AlertSettings, plan: Plan, target_id: int):
        self.journal, self.settings, self.plan, self.target_id = journal, settings, plan, target_id
        self.told: list[Message] = []  # what this monitor sent (for the caller to report)
        self.failures: list[str] = []  # what it could not send (tried again at the next check)

    def observe(self, observations: Sequence[Observation], now: datetime) -> None:
        states = self.journal.alert_states(self.plan.name, self.target_id)
        for seen in observations:
            state = self._next(states.get(seen.condition), seen, now)
            if state is not None:
                self.journal.set_alert_state(self.plan.name, self.target_id, state)

    def _next(self, was: AlertState | None, seen: Observation, now: datetime) -> AlertState | None:
        """The condition's new state (None: unchanged), told when it changed or was not told."""
        if not seen.failing and (was is None or (was.failing and not was.told)):
            # nothing new, or a failure nobody heard of (telling it failed) is over: silence
            return AlertState(seen.condition, False, seen.detail, now, told=True)
        if was is not None and was.failing == seen.failing:
            if was.told:
                return None  # the same state, already told: never repeated
            return self._tell(replace(was, detail=seen.detail), None, now)  # telling had failed
        state = AlertState(seen.condition, seen.failing, seen.detail, now, told=False)
        return self._tell(state, was.since if was is not None else None, now)

    def _tell(self, state: AlertState, since: datetime | None, now: datetime) -> AlertState:
        """Tell ``state`` (a recovery from a failure that began at ``since``)."""
        message = self._message(state, since, now)
        failures = tell(self.settings, message)
        for failure in failures:
            log.warning(
                "%s: alert not sent: %s (tried again at the next check)", self.plan.label, failure
            )
        self.failures += failures
        if failures:
            return replace(state, told=False, error="; ".join(failures))
        self.told.append(message)
        return replace(state, told=True, told_at=now, error=None)

    def _message(self, state: AlertState, since: datetime | None, now: datetime) -> Message:
        title = TITLES.get(state.condition, state.condition)
        where = f"{self.plan.name} → {self.plan.target.url} (data set {self.plan.target.data_set})"
        detail = printable(state.detail)
        if state.failing:
            subject = f"[dhispatch] ALERT {self.plan.label}: {title}"
            body = f"{where}\n{detail}\nsince {state.since.isoformat(timespec='minutes')}"
        else:
            subject = f"[dhispatch] RECOVERED {self.plan.label}: {title}"
            after = "" if since is None else f" after {(now - since).total_seconds() / 3600:.1f} h"
            body = f"{where}\nrecovered{after}: {detail}"
        body += "\nsee: dhispatch log"
        fields = {
            "plan": self.plan.name, "target": self.plan.target.url,
            "data_set": self.plan.target.data_set, "condition": state.condition,
            "state": "failing" if state.failing else "recovered", "detail": detail,
            "since": state.since.isoformat(),
        }  # fmt: skip
        return Message(subject, body, fields)
