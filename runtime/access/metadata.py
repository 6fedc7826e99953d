"""What the write rules read from a metadata export (a file, or fetched live in the same shape):
the data set's timeliness, sharing and workflow; option combos and their options' sharing,
dates and org units; org units' place in the hierarchy and their opening/closed dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from dhispatch.errors import DhispatchError
from dhispatch.runtime.access.sharing import Sharing
from dhispatch.runtime.access.sharing import parse_sharing


class AccessMetadataError(DhispatchError):
    """The metadata cannot be read for the write rules (the data set is missing, a malformed
    date)."""


@dataclass(frozen=True, slots=True)
class Window:
    """A span of time; a missing end is open. Export dates are server time (naive)."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class DataSetRules:
    """The data set's side of the rules."""

    uid: str
    label: str
    period_type: str
    expiry_days: int
    open_future: int
    open_after_end: int  # openPeriodsAfterCoEndDate
    input_periods: Mapping[str, tuple[Window, ...]]  # period id -> its windows
    sharing: Sharing | None
    workflow: str | None
    org_units: frozenset[str]


@dataclass(frozen=True, slots=True)
class Option:
    """A category option: its sharing, dates and org units (empty: everywhere)."""

    uid: str
    label: str
    sharing: Sharing | None
    window: Window | None
    org_units: frozenset[str]


@dataclass(frozen=True, slots=True)
class Unit:
    """An org unit: its ancestors and itself (root first) and its opening/closed dates."""

    uid: str
    label: str
    path: tuple[str, ...]
    window: Window | None


@dataclass(frozen=True)
class AccessMetadata:
    """The export read once for the rules; identifiers resolve by UID or code."""

    data_set: DataSetRules
    combo_options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    options: Mapping[str, Option] = field(default_factory=dict)
    units: Mapping[str, Unit] = field(default_factory=dict)
    codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # kind -> code -> uid
    default_coc: str | None = None
    version: str | None = None  # the export's system.version

    def uid(self, kind: str, ident: str, scheme: str) -> str | None:
        """The UID of ``ident`` (a ``categoryOptionCombos`` or ``organisationUnits`` identifier
        in ``scheme``); None when the export does not know it."""
        if scheme == "CODE":
            return self.codes.get(kind, {}).get(ident)
        pool = self.combo_options if kind == "categoryOptionCombos" else self.units
        return ident if ident in pool else None

    def is_within(self, unit: str, roots: frozenset[str]) -> bool:
        """The unit is one of ``roots`` or below one of them."""
        found = self.units.get(unit)
        path = found.path if found else (unit,)
        return any(u in roots for u in path)


def parse_moment(raw: Any, what: str) -> datetime | None:
    """An export date (``2024-01-31`` or ``2024-01-31T00:00:00.000[Z|+hh:mm]``), naive."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip().replace("Z", "")
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise AccessMetadataError(f"{what}: {raw!r} is not a date") from None


def _ids(refs: Any) -> list[str]:
    items = refs if isinstance(refs, list) else []
    return [r["id"] for r in items if isinstance(r, Mapping) and isinstance(r.get("id"), str)]


def _objects(export: Mapping[str, Any], name: str) -> dict[str, Mapping[str, Any]]:
    items = export.get(name)
    items = items if isinstance(items, list) else []
    return {o["id"]: o for o in items if isinstance(o, Mapping) and isinstance(o.get("id"), str)}


def _label(obj: Mapping[str, Any]) -> str:
    name = obj.get("name") or obj.get("code")
    return f"{obj['id']} '{name}'" if name and name != obj["id"] else str(obj["id"])


def _window(obj: Mapping[str, Any], start: str, end: str, what: str) -> Window | None:
    first = parse_moment(obj.get(start), f"{what} {start}")
    last = parse_moment(obj.get(end), f"{what} {end}")
    return Window(first, last) if first or last else None


def _input_periods(ds: Mapping[str, Any]) -> dict[str, tuple[Window, ...]]:
    out: dict[str, list[Window]] = {}
    for ip in ds.get("dataInputPeriods") or ():
        if not isinstance(ip, Mapping):
            continue
        pe = ip.get("period")
        iso = pe.get("id") if isinstance(pe, Mapping) else pe
        if isinstance(iso, str):
            what = f"data set {ds['id']} input period {iso}"
            window = _window(ip, "openingDate", "closingDate", what) or Window()
            out.setdefault(iso, []).append(window)
    return {iso: tuple(w) for iso, w in out.items()}


def _data_set(ds: Mapping[str, Any]) -> DataSetRules:
    workflow = ds.get("workflow")
    return DataSetRules(
        uid=str(ds["id"]),
        label=_label(ds),
        period_type=str(ds.get("periodType") or "Monthly"),
        expiry_days=int(ds.get("expiryDays") or 0),
        open_future=int(ds.get("openFuturePeriods") or 0),
        open_after_end=int(ds.get("openPeriodsAfterCoEndDate") or 0),
        input_periods=_input_periods(ds),
        sharing=parse_sharing(ds),
        workflow=workflow["id"] if isinstance(workflow, Mapping) and "id" in workflow else None,
        org_units=frozenset(_ids(ds.get("organisationUnits"))),
    )


def _paths(units: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Each unit's ancestors and itself: from ``path`` when given, else from ``parent``."""
    out: dict[str, tuple[str, ...]] = {}
    for uid, ou in units.items():
        path = ou.get("path")
        if isinstance(path, str) and path.strip("/"):
            out[uid] = tuple(path.strip("/").split("/"))
            continue
        chain, seen, cur = [uid], {uid}, ou
        while isinstance(cur.get("parent"), Mapping) and cur["parent"].get("id") not in seen:
            parent = str(cur["parent"]["id"])
            chain.append(parent)
            seen.add(parent)
            cur = units.get(parent, {})
        out[uid] = tuple(reversed(chain))
    return out


def _codes(export: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    kinds = ("organisationUnits", "categoryOptionCombos")
    return {
        k: {
            o["code"]: uid
            for uid, o in _objects(export, k).items()
            if isinstance(o.get("code"), str)
        }
        for k in kinds
    }


def read_access_metadata(export: Mapping[str, Any], data_set: str) -> AccessMetadata:
    """The rules' view of ``export`` for ``data_set`` (AccessMetadataError when it is absent)."""
    if not isinstance(export, Mapping):
        raise AccessMetadataError("a metadata export is a JSON object of collections")
    ds = _objects(export, "dataSets").get(data_set)
    if ds is None:
        raise AccessMetadataError(f"data set {data_set} is not in the metadata")
    cocs = _objects(export, "categoryOptionCombos")
    options = {
        uid: Option(
            uid, _label(co), parse_sharing(co),
            _window(co, "startDate", "endDate", f"category option {uid}"),
            frozenset(_ids(co.get("organisationUnits"))),
        )
        for uid, co in _objects(export, "categoryOptions").items()
    }  # fmt: skip
    raw_units = _objects(export, "organisationUnits")
    paths = _paths(raw_units)
    units = {
        uid: Unit(uid, _label(ou), paths[uid],
                  _window(ou, "openingDate", "closedDate", f"org unit {uid}"))
        for uid, ou in raw_units.items()
    }  # fmt: skip
    default = next((u for u, c in cocs.items() if c.get("name") == "default"), None)
    system = export.get("system")
    version = system.get("version") if isinstance(system, Mapping) else None
    return AccessMetadata(
        data_set=_data_set(ds),
        combo_options={uid: tuple(_ids(c.get("categoryOptions"))) for uid, c in cocs.items()},
        options=options,
        units=units,
        codes=_codes(export),
        default_coc=default,
        version=version if isinstance(version, str) else None,
    )
