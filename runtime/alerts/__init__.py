"""Alerts: what counts as failing (a run, refused or parked values, a missed slot, DHIS2 silent
for too long, a stock database with no new transactions), told once per change of state through
a webhook (Slack/Teams ``text``) and e-mail (SMTP with STARTTLS), the states kept in the journal."""

from __future__ import annotations

from dhispatch.runtime.alerts.conditions import Observation
from dhispatch.runtime.alerts.monitor import AlertMonitor
from dhispatch.runtime.alerts.settings import AlertConfigError
from dhispatch.runtime.alerts.settings import AlertSettings
from dhispatch.runtime.alerts.settings import alert_settings

__all__ = [
    "AlertConfigError",
    "AlertMonitor",
    "AlertSettings",
    "Observation",
    "alert_settings",
]
