"""Completeness registrations in the journal: which (period, org unit) a target's data set was
registered complete for, by which run, and the ones DHIS2 refused (with why)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dhispatch.runtime.journal.records import now
from dhispatch.runtime.journal.store import Store


@dataclass(frozen=True, slots=True)
class RegistrationRow:
    """One registration's last state: ``registered``, ``refused`` (DHIS2 said why) or
    ``failed`` (no answer that proves it: tried again by the next run that confirms the
    period)."""

    plan_name: str
    target_id: int
    data_set: str
    period: str
    org_unit: str
    aoc: str
    status: str
    run_id: int
    at: str
    message: str | None


class RegistrationsMixin:
    """The journal's registrations (``Journal`` provides ``_db``)."""

    _db: Store

    def registered(
        self, plan_name: str, target_id: int, data_set: str
    ) -> set[tuple[str, str, str]]:
        """(period, org unit, aoc) already registered complete on this target."""
        rows = self._db.rows(
            "SELECT period, org_unit, aoc FROM registrations WHERE plan_name = ? AND "
            "target_id = ? AND data_set = ? AND status = 'registered'",
            (plan_name, target_id, data_set),
        )
        return {(str(r[0]), str(r[1]), str(r[2])) for r in rows}

    def record_registrations(
        self,
        plan_name: str,
        target_id: int,
        data_set: str,
        run_id: int,
        outcomes: Sequence[tuple[str, str, str, str, str | None]],
    ) -> None:
        """Store (period, org unit, aoc, status, message) of each registration tried."""
        at = now()
        with self._db.tx() as db:
            db.many(
                "INSERT OR REPLACE INTO registrations(plan_name, target_id, data_set, period, "
                "org_unit, aoc, status, run_id, at, message) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(plan_name, target_id, data_set, p, o, a, s, run_id, at, m)
                 for p, o, a, s, m in outcomes],
            )  # fmt: skip

    def registrations(self, run_id: int | None = None) -> list[RegistrationRow]:
        """Every registration (or those a run made), newest run first."""
        sql = f"SELECT {', '.join(RegistrationRow.__slots__)} FROM registrations"
        args: tuple[int, ...] = ()
        if run_id is not None:
            sql, args = sql + " WHERE run_id = ?", (run_id,)
        rows = self._db.rows(sql + " ORDER BY run_id DESC, period, org_unit", args)
        return [RegistrationRow(*r) for r in rows]

    def name_target(self, target_id: int, name: str) -> None:
        """Remember the spec's name for a target (``log --target NAME``)."""
        with self._db.tx() as db:
            db.run("UPDATE targets SET name = ? WHERE id = ?", (name, target_id))

    def target_names(self) -> dict[int, str]:
        rows = self._db.rows("SELECT id, name FROM targets WHERE name IS NOT NULL")
        return {int(r[0]): str(r[1]) for r in rows}
