"""Alert states of a ``Journal``: per plan, target and condition, failing or not, since when and
whether that state has been told, so an alert goes out once per change of state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dhispatch.runtime.journal.records import iso
from dhispatch.runtime.journal.records import parse_time
from dhispatch.runtime.journal.store import Store


@dataclass(frozen=True, slots=True)
class AlertState:
    """The last known state of one condition (``failing`` or recovered) and whether it was told
    (``told``); ``error`` is why telling it failed last time."""

    condition: str
    failing: bool
    detail: str
    since: datetime
    told: bool
    told_at: datetime | None = None
    error: str | None = None


class AlertsMixin:
    """Alert rows of a ``Journal`` (whose ``_db`` is the store)."""

    _db: Store

    def alert_states(self, plan_name: str, target_id: int) -> dict[str, AlertState]:
        rows = self._db.rows(
            "SELECT condition, failing, detail, since, told, told_at, error FROM alerts "
            "WHERE plan_name = ? AND target_id = ? ORDER BY condition",
            (plan_name, target_id),
        )
        return {
            r[0]: AlertState(
                r[0], bool(r[1]), r[2], parse_time(r[3]), bool(r[4]),
                parse_time(r[5]) if r[5] else None, r[6],
            )
            for r in rows
        }  # fmt: skip

    def set_alert_state(self, plan_name: str, target_id: int, state: AlertState) -> None:
        """Store one condition's state (replacing the previous one)."""
        with self._db.tx() as db:
            db.run(
                "INSERT INTO alerts(plan_name, target_id, condition, failing, detail, since, "
                "told, told_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(plan_name, target_id, condition) DO UPDATE SET "
                "failing=excluded.failing, detail=excluded.detail, since=excluded.since, "
                "told=excluded.told, told_at=excluded.told_at, error=excluded.error",
                (
                    plan_name, target_id, state.condition, int(state.failing), state.detail,
                    iso(state.since), int(state.told),
                    iso(state.told_at) if state.told_at else None, state.error,
                ),
            )  # fmt: skip

    def last_reached(self, plan_name: str, target_id: int) -> datetime | None:
        """When a run of the plan at the target last heard DHIS2 answer (a run that was not
        ``failed``: DHIS2 unreachable or refusing the credentials)."""
        row = self._db.one(
            "SELECT max(finished_at) FROM runs WHERE plan_name = ? AND target_id = ? AND "
            "status IN ('ok', 'conflicts', 'parked', 'unconfirmed', 'deferred', 'blocked')",
            (plan_name, target_id),
        )
        return parse_time(row[0]) if row and row[0] else None
