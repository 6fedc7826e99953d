"""``/api/completeDataSetRegistrations`` as dhis2-core's ``CompleteDataSetRegistrationController``
and ``DefaultCompleteDataSetRegistrationExchangeService`` (2.36–2.43, one logic throughout): an
ImportSummary whose conflicts are ``{object, value}`` pairs without indexes, ERROR only when every
registration was ignored. Where core reads system settings the sandbox cannot know
(``strictPeriods``, ``strictOrganisationUnits``, both off by default) it applies them: stricter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.users import User

Key = tuple[str, str, str, str]  # data set, period, org unit, attribute option combo (uids)


@dataclass(frozen=True, slots=True)
class Ignored:
    """One registration ignored, with core's conflict (object, value)."""

    object: str
    value: str


@dataclass(frozen=True, slots=True)
class Schemes:
    """The id schemes of a registration import (payload first, then the URL, then UID)."""

    data_set: str
    org_unit: str
    aoc: str

    @classmethod
    def of(cls, payload: Mapping[str, Any], query: Mapping[str, str]) -> Schemes:
        def pick(name: str) -> str:
            found = payload.get(name) or payload.get("idScheme") or query.get(name)
            return str(found or query.get("idScheme") or "UID").upper()

        return cls(pick("dataSetIdScheme"), pick("orgUnitIdScheme"),
                   pick("attributeOptionComboIdScheme"))  # fmt: skip


class Registrations:
    """The sandbox's registrations (in memory) and their import."""

    def __init__(self, index: MetadataIndex) -> None:
        self.index = index
        self.rows: dict[Key, dict[str, Any]] = {}

    def save(
        self, user: User, payload: Mapping[str, Any], query: Mapping[str, str], now: datetime
    ) -> dict[str, Any]:
        """Import a ``{"completeDataSetRegistrations": [...]}`` body; the ImportSummary."""
        schemes = Schemes.of(payload, query)
        raw = payload.get("completeDataSetRegistrations") or []
        dry_run = str(payload.get("dryRun") or query.get("dryRun") or "").lower() == "true"
        conflicts: list[tuple[str, str]] = []
        imported = updated = 0
        for item in raw if isinstance(raw, list) else []:
            key = self._validate(user, item if isinstance(item, Mapping) else {}, schemes)
            if isinstance(key, Ignored):
                if (key.object, key.value) not in conflicts:
                    conflicts.append((key.object, key.value))
                continue
            if key in self.rows:
                updated += 1
            else:
                imported += 1
            if not dry_run:
                self.rows[key] = _row(key, user, item, now)
        total = len(raw) if isinstance(raw, list) else 0
        ignored = total - imported - updated
        summary: dict[str, Any] = {
            "responseType": "ImportSummary",
            "status": "ERROR" if total == ignored else "SUCCESS",
            "description": "Import process complete.",
            "importCount": {"imported": imported, "updated": updated, "ignored": ignored,
                            "deleted": 0},
        }  # fmt: skip
        if conflicts:
            summary["conflicts"] = [{"object": o, "value": v} for o, v in conflicts]
        return summary

    def _validate(self, user: User, item: Mapping[str, Any], schemes: Schemes) -> Key | Ignored:
        ix = self.index
        ds_given = str(item.get("dataSet") or "").strip()
        pe_given = str(item.get("period") or "").strip()
        ou_given = str(item.get("organisationUnit") or "").strip()
        ds = ix.resolve("dataSets", ds_given, schemes.data_set) if ds_given else None
        if ds is None:
            return Ignored(ds_given, "Data set not found or not accessible")
        period = parse_period(pe_given) if pe_given else None
        if period is None:
            return Ignored(pe_given, "Period not valid")
        ou = ix.resolve("organisationUnits", ou_given, schemes.org_unit) if ou_given else None
        if ou is None:
            return Ignored(ou_given, "Organisation unit not found or not accessible")
        aoc_given = str(item.get("attributeOptionCombo") or "").strip()
        aoc = ix.resolve("categoryOptionCombos", aoc_given, schemes.aoc) if aoc_given else None
        aoc = aoc or ix.default_coc() or ""  # core falls back to the default combo
        if not ix.is_descendant(ou, user.org_units):
            return Ignored(ou, f"Organisation unit is not in hierarchy of user: {user.username}")
        data_set = ix.get("dataSets", ds) or {}
        if period.type != data_set.get("periodType"):  # strictPeriods, always on here
            return Ignored(
                period.iso,
                f"Period type of period: {period.iso} is not equal to the period type of data "
                f"set: {data_set.get('periodType')}",
            )
        if ou not in ix.data_set_units(ds):  # strictOrganisationUnits, always on here
            return Ignored(ds, f"Data set {ds} is not assigned to organisation unit {ou}")
        if not ix.can_write_data(user, ds):
            return Ignored("dataSet", f"User has no data write access for DataSet: {ds}")
        return (ds, period.iso, ou, aoc)

    def export(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        """``GET``: the registrations of the given data sets, periods and org units."""
        sets, periods, units = (set(query.get(k, [])) for k in ("dataSet", "period", "orgUnit"))
        rows = [
            row for (ds, pe, ou, _), row in sorted(self.rows.items())
            if ds in sets and (not periods or pe in periods) and (not units or ou in units)
        ]  # fmt: skip
        return {"completeDataSetRegistrations": rows}


def _row(key: Key, user: User, item: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ds, pe, ou, aoc = key
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000")
    return {
        "period": pe, "dataSet": ds, "organisationUnit": ou, "attributeOptionCombo": aoc,
        "date": stamp, "storedBy": str(item.get("storedBy") or user.username),
        "lastUpdated": stamp, "lastUpdatedBy": user.username,
        "completed": item.get("completed") is not False,
    }  # fmt: skip
