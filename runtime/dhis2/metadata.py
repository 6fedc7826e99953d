"""Metadata reads for preflight, admission and ``init``: one data set with everything its checks
need, shaped like a DHIS2 metadata export; the user as ``/api/me`` describes it; the approval
states of (period, org unit) pairs through ``/api/dataApprovals/approvals``.

One ``/api/dataSets/{uid}`` request carries it all (nested ``fields``): elements and their
category combos, option combos with their options' sharing, dates and org units, the data set's
sharing, input periods and workflow, its org units with their paths and opening/closed dates.
Both sharing forms are asked for (``sharing`` from 2.36, the older ``publicAccess``/
``userAccesses``/``userGroupAccesses``); DHIS2 leaves out the fields it does not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.runtime.dhis2.errors import ProtocolError

if TYPE_CHECKING:
    from dhispatch.runtime.dhis2.client import Dhis2Client

SHARING = "sharing,publicAccess,userAccesses,userGroupAccesses"
OPTION_FIELDS = f"id,code,name,startDate,endDate,organisationUnits[id],{SHARING}"
COMBO_FIELDS = f"id,code,name,categoryOptionCombos[id,code,name,categoryOptions[{OPTION_FIELDS}]]"
DATA_SET_FIELDS = (
    "id,code,name,periodType,openFuturePeriods,expiryDays,openPeriodsAfterCoEndDate,"
    f"dataInputPeriods,workflow[id,name,periodType],{SHARING},categoryCombo[{COMBO_FIELDS}],"
    f"dataSetElements[categoryCombo[{COMBO_FIELDS}],"
    "dataElement[id,code,name,shortName,formName,valueType,zeroIsSignificant,aggregationType,"
    f"categoryCombo[{COMBO_FIELDS}]]],"
    "organisationUnits[id,code,name,path,level,openingDate,closedDate]"
)
ME_FIELDS = "id,username,userCredentials[username],authorities,userGroups[id],organisationUnits[id]"
DATA_SET_KEYS = (
    "id", "code", "name", "periodType", "openFuturePeriods", "expiryDays",
    "openPeriodsAfterCoEndDate", "dataInputPeriods", "workflow", "sharing", "publicAccess",
    "userAccesses", "userGroupAccesses",
)  # fmt: skip
OU_KEYS = ("id", "code", "name", "path", "level", "openingDate", "closedDate")
APPROVALS_CHUNK = 50  # org units per approvals request (the URL stays short)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a target's DHIS2 said about the data set and the user, and when."""

    export: dict[str, Any]
    me: dict[str, Any]
    fetched_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"fetched_at": self.fetched_at.isoformat(), "export": self.export, "me": self.me}

    def server_now(self, now: datetime) -> datetime:
        """DHIS2's own clock at ``now`` (aware), as the server reads it (naive local time):
        its ``serverDate`` when fetched plus the time elapsed since. DHIS2 judges periods by its
        clock, not ours. Without a ``serverDate``: ``now`` in UTC."""
        system = self.export.get("system") or {}
        try:
            then = datetime.fromisoformat(str(system.get("serverDate")).replace("Z", ""))
        except ValueError:
            return now.astimezone(UTC).replace(tzinfo=None)
        return then.replace(tzinfo=None) + (now - self.fetched_at)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Snapshot:
        """A cached snapshot (KeyError/ValueError/TypeError when it is not one)."""
        export, me = body["export"], body["me"]
        if not isinstance(export, dict) or not isinstance(me, dict):
            raise TypeError("a snapshot holds an export and a user")
        return cls(export, me, datetime.fromisoformat(str(body["fetched_at"])))


def fetch_snapshot(client: Dhis2Client, data_set: str) -> Snapshot:
    """The data set's export and the user, fetched now."""
    export = fetch_export(client, data_set)
    return Snapshot(export, fetch_me(client), datetime.now(UTC))


def fetch_export(client: Dhis2Client, data_set: str) -> dict[str, Any]:
    """The data set and everything preflight and the write rules need, as an export (its
    ``dataSets`` empty when DHIS2 has no such data set)."""
    info = client.system_info()
    export: dict[str, Any] = {
        "system": {
            "version": info.version,
            "serverDate": info.server_date,
            "serverTimeZoneId": info.server_time_zone,
        },
        "dataSets": [],
        "dataElements": [],
        "categoryCombos": [],
        "categoryOptionCombos": [],
        "categoryOptions": [],
        "organisationUnits": [],
    }
    ds = client.get_json(f"/api/dataSets/{data_set}", {"fields": DATA_SET_FIELDS}, missing_ok=True)
    return export if ds is None else export_from_data_set(ds, export)


def fetch_me(client: Dhis2Client) -> dict[str, Any]:
    """``/api/me`` with what the write rules need (id, username, authorities, groups, org units)."""
    body = client.get_json("/api/me", {"fields": ME_FIELDS})
    assert body is not None  # missing_ok is off: a 404 raised
    return body


def approval_states(
    client: Dhis2Client,
    workflow: str,
    periods: Sequence[str],
    org_units: Sequence[str],
    aoc: str | None = None,
) -> dict[tuple[str, str], str]:
    """``GET /api/dataApprovals/approvals?wf=&pe=&ou=[&aoc=]``: the state of each (period, org
    unit UID) DHIS2 answered for (core leaves out periods it has never stored)."""
    out: dict[tuple[str, str], str] = {}
    units = list(dict.fromkeys(org_units))
    for start in range(0, len(units), APPROVALS_CHUNK):
        params = {"wf": workflow, "pe": ",".join(periods),
                  "ou": ",".join(units[start : start + APPROVALS_CHUNK])}  # fmt: skip
        if aoc:
            params["aoc"] = aoc
        body = client.get_json_list("/api/dataApprovals/approvals", params)
        for row in body:
            pe, ou, state = row.get("pe"), row.get("ou"), row.get("state")
            if isinstance(pe, str) and isinstance(ou, str) and isinstance(state, str):
                out[(pe, ou)] = state
    return out


class ApprovalLookup:
    """Approval states of the data set's workflow, fetched in bulk for the (period, org unit)
    pairs about to be pushed and remembered; an ``ApprovalState`` for the write rules."""

    def __init__(self, client: Dhis2Client, workflow: str, aoc: str | None = None) -> None:
        self._client, self._workflow, self._aoc = client, workflow, aoc
        self._states: dict[tuple[str, str], str | None] = {}

    def prefetch(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Ask DHIS2 for the pairs not known yet (one request per period and 50 org units)."""
        by_period: dict[str, list[str]] = {}
        for period, ou in pairs:
            if (period, ou) not in self._states:
                by_period.setdefault(period, []).append(ou)
        for period, units in by_period.items():
            found = approval_states(self._client, self._workflow, [period], units, self._aoc)
            for ou in units:
                self._states[(period, ou)] = found.get((period, ou))

    def __call__(self, period: str, org_unit: str) -> str | None:
        if (period, org_unit) not in self._states:
            self.prefetch([(period, org_unit)])
        return self._states[(period, org_unit)]


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj["id"]} if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None


class _Flattener:
    """Collects combos, option combos and options met anywhere in the data set answer."""

    def __init__(self) -> None:
        self.combos: dict[str, dict[str, Any]] = {}
        self.cocs: dict[str, dict[str, Any]] = {}
        self.options: dict[str, dict[str, Any]] = {}

    def combo(self, cc: Any) -> dict[str, Any] | None:
        """Remember a category combo (and its option combos); its reference."""
        if not isinstance(cc, dict) or not isinstance(cc.get("id"), str):
            return None
        entry = self.combos.setdefault(
            cc["id"], {k: cc[k] for k in ("id", "code", "name") if k in cc}
        )
        members = [c for c in cc.get("categoryOptionCombos") or () if isinstance(c, dict)]
        entry["categoryOptionCombos"] = [{"id": c["id"]} for c in members if "id" in c]
        for coc in members:
            if isinstance(coc.get("id"), str):
                self._coc(coc, cc["id"])
        return {"id": cc["id"]}

    def _coc(self, coc: dict[str, Any], combo: str) -> None:
        row: dict[str, Any] = {k: coc[k] for k in ("id", "code", "name") if k in coc}
        row["categoryCombo"] = {"id": combo}
        options = [o for o in coc.get("categoryOptions") or () if _ref(o)]
        if "categoryOptions" in coc:
            row["categoryOptions"] = [{"id": o["id"]} for o in options]
        self.cocs[coc["id"]] = row
        for option in options:
            self.options[option["id"]] = dict(option)

    @staticmethod
    def sorted(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(objs, key=lambda e: str(e["id"]))


def export_from_data_set(ds: Mapping[str, Any], export: dict[str, Any]) -> dict[str, Any]:
    """Flatten a ``/api/dataSets/{id}?fields=…`` answer into metadata-export lists by type."""
    if not isinstance(ds, Mapping):
        raise ProtocolError("DHIS2's data set answer is not an object")
    flat = _Flattener()
    elements: dict[str, dict[str, Any]] = {}
    dses: list[dict[str, Any]] = []
    for dse in ds.get("dataSetElements") or ():
        de = dse.get("dataElement") if isinstance(dse, dict) else None
        if not isinstance(de, dict) or not isinstance(de.get("id"), str):
            continue
        row = {k: v for k, v in de.items() if k != "categoryCombo"}
        if de_cc := flat.combo(de.get("categoryCombo")):
            row["categoryCombo"] = de_cc
        elements[de["id"]] = row
        entry: dict[str, Any] = {"dataElement": {"id": de["id"]}}
        if override := flat.combo(dse.get("categoryCombo")):
            entry["categoryCombo"] = override
        dses.append(entry)
    org_units = [
        {k: ou[k] for k in OU_KEYS if k in ou}
        for ou in ds.get("organisationUnits") or ()
        if isinstance(ou, dict) and "id" in ou
    ]
    data_set: dict[str, Any] = {k: ds[k] for k in DATA_SET_KEYS if k in ds}
    data_set["dataSetElements"] = dses
    data_set["organisationUnits"] = [{"id": ou["id"]} for ou in org_units]
    if cc := flat.combo(ds.get("categoryCombo")):
        data_set["categoryCombo"] = cc
    export["dataSets"] = [data_set]
    export["dataElements"] = flat.sorted(elements.values())
    export["categoryCombos"] = flat.sorted(flat.combos.values())
    export["categoryOptionCombos"] = flat.sorted(flat.cocs.values())
    export["categoryOptions"] = flat.sorted(flat.options.values())
    export["organisationUnits"] = org_units
    return export
