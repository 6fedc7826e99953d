"""What the export restricts data entry by, read once when it is loaded: data sharing of data sets
and category options, data input periods, org unit opening/closed dates, category option
start/end dates and org units, approval workflows and their levels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from dhispatch.runtime.access.sharing import Sharing
from dhispatch.runtime.access.sharing import parse_sharing
from dhispatch.runtime.sandbox.users import MetadataError
from dhispatch.runtime.sandbox.users import User

Objects = Mapping[str, Mapping[str, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Span:
    """A time span; a missing end is open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class Level:
    """A data approval level: its rank (1 = top) and the org unit level it approves at."""

    id: str
    level: int
    org_unit_level: int


@dataclass(frozen=True, slots=True)
class Workflow:
    """A data approval workflow with its levels, top level first."""

    id: str
    period_type: str
    levels: tuple[Level, ...]


@dataclass(frozen=True)
class Restrictions:
    """Lookups by uid; an object absent from a mapping is unrestricted there, except sharing:
    no sharing in the export means no data write for anyone but superusers."""

    sharing: Mapping[str, Sharing] = field(default_factory=dict)
    input_periods: Mapping[str, Mapping[str, tuple[Span, ...]]] = field(default_factory=dict)
    unit_spans: Mapping[str, Span] = field(default_factory=dict)
    option_spans: Mapping[str, Span] = field(default_factory=dict)
    option_units: Mapping[str, frozenset[str]] = field(default_factory=dict)
    combo_options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    workflows: Mapping[str, Workflow] = field(default_factory=dict)
    data_set_workflow: Mapping[str, str] = field(default_factory=dict)
    open_after_end: Mapping[str, int] = field(default_factory=dict)  # openPeriodsAfterCoEndDate
    restricted_combos: frozenset[str] = frozenset()  # option combos with option dates/org units

    def can_write_data(self, user: User, uid: str) -> bool:
        """``AclService.canDataWrite`` for a data set or category option: superusers always."""
        if user.is_super:
            return True
        sharing = self.sharing.get(uid) or Sharing()
        return sharing.data_write(user.id, user.groups)

    def unwritable_options(self, user: User, combo: str) -> list[str]:
        """The options of an option combo the user may not write data for (in export order)."""
        if user.is_super:
            return []
        return [o for o in self.combo_options.get(combo, ()) if not self.can_write_data(user, o)]

    def workflow_of(self, ds_uid: str) -> Workflow | None:
        wf = self.data_set_workflow.get(ds_uid)
        return self.workflows.get(wf) if wf else None


def parse_moment(raw: Any, what: str) -> datetime | None:
    """An export date (``2024-01-31`` or ``2024-01-31T00:00:00.000[Z]``), read as server time."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip().replace("Z", "")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MetadataError(f"{what}: {raw!r} is not a date") from None
    return moment.replace(tzinfo=None)


def _ids(refs: Any) -> list[str]:
    return [r["id"] for r in refs or [] if isinstance(r, Mapping) and isinstance(r.get("id"), str)]


def _span(obj: Mapping[str, Any], start: str, end: str, what: str) -> Span | None:
    first = parse_moment(obj.get(start), f"{what} {start}")
    last = parse_moment(obj.get(end), f"{what} {end}")
    return Span(first, last) if first or last else None


def _input_periods(ds: Mapping[str, Any]) -> dict[str, tuple[Span, ...]]:
    out: dict[str, list[Span]] = {}
    for ip in ds.get("dataInputPeriods") or []:
        if not isinstance(ip, Mapping):
            continue
        pe = ip.get("period")
        iso = pe.get("id") if isinstance(pe, Mapping) else pe
        if not isinstance(iso, str):
            raise MetadataError(f"data set {ds['id']}: a dataInputPeriod has no period id")
        what = f"data set {ds['id']} input period {iso}"
        window = _span(ip, "openingDate", "closingDate", what) or Span()
        out.setdefault(iso, []).append(window)
    return {iso: tuple(spans) for iso, spans in out.items()}


def _workflows(objects: Objects) -> dict[str, Workflow]:
    known = objects["dataApprovalLevels"]
    out: dict[str, Workflow] = {}
    for wf in objects["dataApprovalWorkflows"].values():
        levels = []
        for ref in wf.get("dataApprovalLevels") or []:
            raw = known.get(ref.get("id", "")) if isinstance(ref, Mapping) else None
            raw = raw or ref
            try:
                levels.append(Level(raw["id"], int(raw["level"]), int(raw["orgUnitLevel"])))
            except (KeyError, TypeError, ValueError):
                raise MetadataError(
                    f"workflow {wf['id']}: approval level {raw.get('id')!r} needs a level and an"
                    " orgUnitLevel"
                ) from None
        period_type = str(wf.get("periodType") or "Monthly")
        out[wf["id"]] = Workflow(
            wf["id"], period_type, tuple(sorted(levels, key=lambda x: x.level))
        )
    return out


def load_restrictions(objects: Objects) -> Restrictions:
    """Read every restriction of an export (collections as ``MetadataIndex`` holds them)."""
    sharing: dict[str, Sharing] = {}
    for name in ("dataSets", "categoryOptions"):
        for uid, obj in objects[name].items():
            found = parse_sharing(obj)
            if found is not None:
                sharing[uid] = found
    data_sets = objects["dataSets"]
    options = objects["categoryOptions"]
    unit_spans = {
        uid: span
        for uid, ou in objects["organisationUnits"].items()
        if (span := _span(ou, "openingDate", "closedDate", f"org unit {uid}")) is not None
    }
    option_spans = {
        uid: span
        for uid, co in options.items()
        if (span := _span(co, "startDate", "endDate", f"category option {uid}")) is not None
    }
    combo_options = {
        uid: tuple(_ids(coc.get("categoryOptions")))
        for uid, coc in objects["categoryOptionCombos"].items()
    }
    option_units = {
        uid: frozenset(_ids(co.get("organisationUnits")))
        for uid, co in options.items()
        if _ids(co.get("organisationUnits"))
    }
    restricted = frozenset(
        uid
        for uid, opts in combo_options.items()
        if any(o in option_spans or o in option_units for o in opts)
    )
    return Restrictions(
        sharing=sharing,
        input_periods={uid: p for uid, ds in data_sets.items() if (p := _input_periods(ds))},
        unit_spans=unit_spans,
        option_spans=option_spans,
        option_units=option_units,
        combo_options=combo_options,
        restricted_combos=restricted,
        workflows=_workflows(objects),
        data_set_workflow={
            uid: ds["workflow"]["id"]
            for uid, ds in data_sets.items()
            if isinstance(ds.get("workflow"), Mapping) and isinstance(ds["workflow"].get("id"), str)
        },
        open_after_end={
            uid: int(ds.get("openPeriodsAfterCoEndDate") or 0) for uid, ds in data_sets.items()
        },
    )
