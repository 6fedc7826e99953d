"""2.43+ group checks of ``DefaultDataEntryService.validate``, each rejecting the whole data set
group: user access (superusers skip it), key consistency (everyone), then timeliness (skipped
only for a superuser sending ``force``): input periods, or expiry and future periods for users
without F_EDIT_EXPIRED; approval; the option combo's date range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.sandbox import entry_rules as rules
from dhispatch.runtime.sandbox.approvals import approved_here
from dhispatch.runtime.sandbox.codes import Arg
from dhispatch.runtime.sandbox.context import ImportContext
from dhispatch.runtime.sandbox.periods import Period
from dhispatch.runtime.sandbox.periods import latest_open_period


class Reject(Exception):
    """A ``ConflictException`` (group) or ``BadRequestException`` (decode) with core's args."""

    def __init__(self, code: str | None, args: list[Arg], message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.args_ = args
        self.message = message


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded value: index, uids (option combos None when not sent) and the raw value."""

    i: int
    de: str
    period: Period
    ou: str
    coc: str | None
    aoc: str | None
    raw: dict[str, Any]


def distinct(items: Iterable[Any]) -> list[Any]:
    """Each item once, in first-seen order."""
    return list(dict.fromkeys(items))


def validate_group(ctx: ImportContext, ds: str, values: list[Decoded]) -> None:
    """Raise ``Reject`` for the first failing group check."""
    _access(ctx, ds, values)
    _keys(ctx, ds, values)
    _more_keys(ctx, ds, values)
    if not ctx.force:
        _timely(ctx, ds, values)
        _approval(ctx, ds, values)
        _aoc_range(ctx, ds, values)


def _access(ctx: ImportContext, ds: str, values: list[Decoded]) -> None:
    """E8010–E8012 (``validateUserAccess``); unknown objects are not reported here."""
    user, index = ctx.user, ctx.index
    if user.is_super:
        return
    if ds in index.objects["dataSets"] and not index.can_write_data(user, ds):
        raise Reject("E8010", [ds])
    units = index.objects["organisationUnits"]
    outside = [
        v.ou for v in values if v.ou in units and not index.is_descendant(v.ou, user.org_units)
    ]
    if outside:
        raise Reject("E8011", [distinct(outside)])
    combos = [v.aoc for v in values] + [v.coc for v in values]
    refused = [o for c in combos if c for o in index.rules.unwritable_options(user, c)]
    if refused:
        raise Reject("E8012", [distinct(refused)])


def _keys(ctx: ImportContext, ds: str, values: list[Decoded]) -> None:
    """E8020, E8022, E8021, E8023 (``validateKeyConsistency``, in core's order)."""
    index = ctx.index
    known = ds in index.objects["dataSets"]
    members = index.data_set_elements(ds) if known else {}
    if strangers := distinct(v.de for v in values if v.de not in members):
        raise Reject("E8020", [ds, strangers])
    assigned = index.data_set_units(ds)
    if unassigned := distinct(v.ou for v in values if v.ou not in assigned):
        raise Reject("E8022", [ds, unassigned])
    ptype = str(index.objects["dataSets"][ds].get("periodType", "Monthly"))
    if wrong := distinct(v.period.iso for v in values if v.period.type != ptype):
        raise Reject("E8021", [ds, wrong])
    combo = (index.objects["dataSets"][ds].get("categoryCombo") or {}).get("id")
    default = index.default_coc() or ""
    allowed = index.combo_cocs(combo) or frozenset({default})
    if aocs := distinct(v.aoc or default for v in values if (v.aoc or default) not in allowed):
        raise Reject("E8023", [ds, aocs])


def _more_keys(ctx: ImportContext, ds: str, values: list[Decoded]) -> None:
    """E8024, E8025, E8031."""
    index = ctx.index
    members = index.data_set_elements(ds)
    cocs_of: dict[str, list[str]] = {}
    for v in values:
        cocs_of.setdefault(v.de, [])
        if v.coc:  # getCocNotInDataSet skips values sent without a COC (§1.2)
            cocs_of[v.de].append(v.coc)
    for de, sent in cocs_of.items():
        own = (index.objects["dataElements"][de].get("categoryCombo") or {}).get("id")
        allowed = index.combo_cocs(members[de] or own)
        if wrong := distinct(c for c in sent if c not in allowed):
            raise Reject("E8024", [ds, de, wrong])
    for aoc in distinct(v.aoc for v in values if v.aoc):
        units = distinct(v.ou for v in values if v.aoc == aoc)
        if outside := [ou for ou in units if rules.aoc_units_refused(index, aoc, ou)]:
            raise Reject("E8025", [aoc, outside])
    pairs = distinct((v.ou, v.period) for v in values)
    closed = [(ou, pe) for ou, pe in pairs if rules.closed_for(index, ou, pe)]
    if closed:
        first = closed[0][0]  # core describes the first org unit in conflict only
        raise Reject("E8031", [first, [pe.iso for ou, pe in closed if ou == first]])


def _timely(ctx: ImportContext, ds: str, values: list[Decoded]) -> None:
    """E8030: explicit input periods (F_EDIT_EXPIRED does not matter), else expiry days and
    open future periods for users without F_EDIT_EXPIRED (``ALL`` has it)."""
    index, now = ctx.index, ctx.now
    periods = {v.period.iso: v.period for v in values}
    windows = index.rules.input_periods.get(ds)
    if windows:
        shut = [
            iso
            for iso in periods
            if not any(rules.window_open(ctx.minor, w, now) for w in windows.get(iso, ()))
        ]
        if shut:
            raise Reject("E8030", [ds, shut])
        return
    if ctx.user.has("F_EDIT_EXPIRED"):
        return
    obj = index.objects["dataSets"][ds]
    expired = [
        iso for iso, p in periods.items() if rules.expiry_locked(43, obj, p, ctx.today, ctx.user)
    ]
    if expired:
        raise Reject("E8030", [ds, expired])
    first = next(iter(periods.values()))
    latest = latest_open_period(first.type, int(obj.get("openFuturePeriods") or 0), ctx.today)
    if early := [iso for iso, p in periods.items() if p.start > latest.end]:
        raise Reject("E8030", [ds, early])


def _approval(ctx: ImportContext, ds: str, values: list[Decoded]) -> None:
    """E8033: the org unit's own approval row, for values that name an attribute option combo
    (core skips values sent without one: ``attributeOptionCombos().filter(nonNull)``)."""
    workflow = ctx.index.rules.workflow_of(ds)
    if workflow is None:
        return
    pairs = distinct((v.ou, v.period.iso) for v in values)
    for aoc in distinct(v.aoc for v in values if v.aoc):
        units = {v.ou for v in values if v.aoc == aoc}
        hits = [
            (ou, iso)
            for ou, iso in pairs
            if ou in units and approved_here(ctx.approvals, workflow, iso, ou, aoc)
        ]
        if hits:
            first = hits[0][0]  # the first org unit in conflict only, as core
            raise Reject("E8033", [aoc, first, [iso for ou, iso in hits if ou == first]])


def _aoc_range(ctx: ImportContext, ds: str, values: list[Decoded]) -> None:
    """E8032: each period inside its option combo's date range (openPeriodsAfterCoEndDate)."""
    index = ctx.index
    after = index.rules.open_after_end.get(ds, 0)
    pairs = distinct((v.aoc, v.period.iso) for v in values if v.aoc)
    bad = []
    for aoc, iso in pairs:
        span = rules.aoc_span_43(index, aoc)
        if span is not None and rules.outside_span_43(span, iso, after):
            bad.append((aoc, iso))
    if bad:
        first = bad[0][0]  # the first option combo in conflict only, as core
        raise Reject("E8032", [first, [iso for aoc, iso in bad if aoc == first]])
