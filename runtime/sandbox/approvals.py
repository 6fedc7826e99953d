"""Data approvals: stored beside the values (they survive restarts), set and read through
``/api/dataApprovals`` against the export's workflows and levels, and asked by both import
engines (≤2.42: the lowest approval level above the org unit; 2.43: the org unit's own row)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.restrictions import Level
from dhispatch.runtime.sandbox.restrictions import Workflow
from dhispatch.runtime.sandbox.users import User

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dataapproval (
    workflow TEXT NOT NULL, period TEXT NOT NULL, orgunit TEXT NOT NULL,
    attributeoptioncombo TEXT NOT NULL, level TEXT NOT NULL, created TEXT NOT NULL,
    creator TEXT NOT NULL,
    PRIMARY KEY (workflow, period, orgunit, attributeoptioncombo)
)
"""
ApprovalKey = tuple[str, str, str, str]  # workflow, period, org unit, attribute option combo
APPROVERS = ("F_APPROVE_DATA", "F_APPROVE_DATA_LOWER_LEVELS")


class ApprovalStore:
    """Approval rows in the values' SQLite file, mirrored in memory for the imports' lookups."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute(_SCHEMA)
        rows = self._conn.execute("SELECT * FROM dataapproval").fetchall()
        self._rows: dict[ApprovalKey, tuple[str, str, str]] = {
            (r[0], r[1], r[2], r[3]): (r[4], r[5], r[6]) for r in rows
        }

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def approve(self, key: ApprovalKey, level: str, creator: str) -> None:
        stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO dataapproval VALUES (?,?,?,?,?,?,?)",
                (*key, level, stamp, creator),
            )
            self._rows[key] = (level, stamp, creator)

    def unapprove(self, key: ApprovalKey) -> None:
        with self._lock:
            self._conn.execute(
                "DELETE FROM dataapproval WHERE workflow=? AND period=? AND orgunit=?"
                " AND attributeoptioncombo=?",
                key,
            )
            self._rows.pop(key, None)

    def row(self, key: ApprovalKey) -> tuple[str, str, str] | None:
        """(level, created, creator) of an approval, or None."""
        return self._rows.get(key)

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM dataapproval")
            self._rows.clear()


def lowest_level(workflow: Workflow, ou_level: int) -> Level | None:
    """``DataApproval.getLowestApproval``: the deepest workflow level at or above the unit."""
    for level in reversed(workflow.levels):
        if level.org_unit_level <= ou_level:
            return level
    return None


def approved_legacy(
    index: MetadataIndex, store: ApprovalStore, wf: Workflow, iso: str, ou: str, aoc: str
) -> bool:
    """≤2.42 ``isApproved``: an approval at the lowest level, by the unit's ancestor there."""
    level = lowest_level(wf, index.level_of(ou))
    if level is None:
        return False
    unit = index.ancestor_at(ou, level.org_unit_level)
    found = store.row((wf.id, iso, unit or "", aoc))
    return found is not None and found[0] == level.id


def approved_here(store: ApprovalStore, wf: Workflow, iso: str, ou: str, aoc: str) -> bool:
    """2.43 ``getApprovedIsoPeriodsByOrgUnit``: an approval row of the org unit itself."""
    return store.row((wf.id, iso, ou, aoc)) is not None


class ApprovalError(Exception):
    """An approval request DHIS2 refuses: HTTP status and message (None: no message)."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Approvals:
    """``/api/dataApprovals`` (GET status, POST approve, DELETE unapprove), as DHIS2 validates
    its parameters (``DataApprovalController``) and approves (levels, period type, order)."""

    def __init__(self, index: MetadataIndex, store: ApprovalStore) -> None:
        self.index = index
        self.store = store

    def _workflow(self, q: Mapping[str, str]) -> Workflow:
        ds, wf = q.get("ds"), q.get("wf")
        rules = self.index.rules
        if ds:
            if ds not in self.index.objects["dataSets"]:
                raise ApprovalError(409, f"Data set does not exist: {ds}")
            found = rules.workflow_of(ds)
            if found is None:
                raise ApprovalError(409, f"Data set does not have an approval workflow: {ds}")
            return found
        if wf:
            if wf not in rules.workflows:
                raise ApprovalError(409, f"Data approval workflow does not exist: {wf}")
            return rules.workflows[wf]
        raise ApprovalError(409, "Either data set or data approval workflow must be specified")

    def _target(self, q: Mapping[str, str]) -> tuple[Workflow, str, str, str]:
        workflow = self._workflow(q)
        pe = q.get("pe", "")
        period = parse_period(pe)
        if period is None:
            raise ApprovalError(409, f"Illegal period identifier: {pe}")
        ou = q.get("ou", "")
        if ou not in self.index.objects["organisationUnits"]:
            raise ApprovalError(409, f"Organisation unit does not exist: {ou}")
        aoc = q.get("aoc") or self.index.default_coc() or ""
        if aoc not in self.index.objects["categoryOptionCombos"]:
            raise ApprovalError(409, f"Attribute option combo does not exist: {aoc}")
        return workflow, period.iso, ou, aoc

    def _level(self, workflow: Workflow, ou: str) -> Level | None:
        depth = self.index.level_of(ou)
        return next((lv for lv in workflow.levels if lv.org_unit_level == depth), None)

    def _approved_above(self, workflow: Workflow, iso: str, ou: str, aoc: str) -> bool:
        parts = self.index.objects["organisationUnits"][ou]["path"].strip("/").split("/")[:-1]
        return any(self.store.row((workflow.id, iso, p, aoc)) for p in parts)

    def _waiting(self, workflow: Workflow, iso: str, ou: str, aoc: str) -> bool:
        """Lower levels first: every unit of the next lower level below ``ou`` is approved."""
        depth = self.index.level_of(ou)
        lower = [lv for lv in workflow.levels if lv.org_unit_level > depth]
        if not lower:
            return False
        nxt = min(lower, key=lambda lv: lv.org_unit_level)
        units = [
            u for u in self.index.descendants(ou) if self.index.level_of(u) == nxt.org_unit_level
        ]
        return any(self.store.row((workflow.id, iso, u, aoc)) is None for u in units)

    def state(self, q: Mapping[str, str], user: User) -> dict[str, Any]:
        """``GET /api/dataApprovals``: the ``DataApprovalPermissions`` of one slice."""
        workflow, iso, ou, aoc = self._target(q)
        row = self.store.row((workflow.id, iso, ou, aoc))
        above = self._approved_above(workflow, iso, ou, aoc)
        if above:
            state = "APPROVED_ABOVE"
        elif row is not None:
            state = "APPROVED_HERE"
        elif self._level(workflow, ou) is None:
            state = "UNAPPROVABLE"
        elif self._waiting(workflow, iso, ou, aoc):
            state = "UNAPPROVED_WAITING"
        else:
            state = "UNAPPROVED_READY"
        may = user.is_super or any(user.has(a) for a in APPROVERS)
        body: dict[str, Any] = {
            "mayApprove": may and state == "UNAPPROVED_READY",
            "mayUnapprove": may and state == "APPROVED_HERE",
            "mayAccept": False,
            "mayUnaccept": False,
            "mayReadData": True,
            "state": state,
        }
        if row is not None:
            body["approvedBy"] = row[2]
            body["approvedAt"] = row[1]
        return body

    def statuses(self, q: Mapping[str, list[str]], user: User) -> list[dict[str, Any]]:
        """``GET /api/dataApprovals/approvals`` (also ``/multiple``): the state of every
        workflow × period × org unit × option combo asked for, each value repeated or
        comma-separated; periods of another type than the workflow's are left out, as core
        does. ``startDate``/``endDate`` instead of ``pe`` are not modelled (409)."""

        def values(key: str) -> list[str]:
            return [v for raw in q.get(key, []) for v in raw.split(",") if v]

        pes = values("pe")
        if not pes:
            raise ApprovalError(409, "Must have either pe or both startDate and endDate.")
        aocs = values("aoc") or [self.index.default_coc() or ""]
        out = []
        for wf in values("wf") or [""]:
            workflow = self._workflow({"wf": wf})
            for pe, ou, aoc in ((p, o, a) for p in pes for o in values("ou") for a in aocs):
                single = {"wf": wf, "pe": pe, "ou": ou, "aoc": aoc}
                period = parse_period(pe)
                if period is not None and period.type != workflow.period_type:
                    continue
                state = self.state(single, user)
                row = self.store.row((workflow.id, pe, ou, aoc))
                permissions = {k: v for k, v in state.items() if k.startswith("may")}
                out.append(
                    {
                        "wf": wf,
                        "pe": pe,
                        "ou": ou,
                        "aoc": aoc,
                        "state": state["state"],
                        "level": row[0] if row else None,
                        "permissions": permissions,
                    }
                )
        return out

    def approve(self, q: Mapping[str, str], user: User) -> None:
        """``POST /api/dataApprovals``: approve at the org unit's level of the workflow."""
        self._authorise(user)
        workflow, iso, ou, aoc = self._target(q)
        level = self._level(workflow, ou)
        if level is None:
            raise ApprovalError(409, f"Approval level not found for org unit: {ou}")
        period = parse_period(iso)
        if period is None or period.type != workflow.period_type:
            raise ApprovalError(409)  # DataMayNotBeApprovedException (no message)
        if self.store.row((workflow.id, iso, ou, aoc)) or self._approved_above(
            workflow, iso, ou, aoc
        ):
            return  # already approved at or above this level
        if self._waiting(workflow, iso, ou, aoc):
            raise ApprovalError(409)
        self.store.approve((workflow.id, iso, ou, aoc), level.id, user.username)

    def unapprove(self, q: Mapping[str, str], workflows: list[str], user: User) -> None:
        """``DELETE /api/dataApprovals``: unapprove each named workflow (ds/wf repeatable)."""
        self._authorise(user)
        if not workflows:
            raise ApprovalError(
                409, "Either data sets or data approval workflows must be specified"
            )
        for spec in workflows:
            kind, _, ident = spec.partition(":")
            workflow, iso, ou, aoc = self._target({**q, kind: ident})
            key = (workflow.id, iso, ou, aoc)
            if self.store.row(key) is None or self._approved_above(workflow, iso, ou, aoc):
                raise ApprovalError(409)  # DataMayNotBeUnapprovedException (no message)
            self.store.unapprove(key)

    @staticmethod
    def _authorise(user: User) -> None:
        if not (user.is_super or any(user.has(a) for a in APPROVERS)):
            raise ApprovalError(403, "Access is denied")
