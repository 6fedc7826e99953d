"""≤2.42 timeliness checks E7640–E7644: locked by expiry days, after the latest open future
period, already approved, outside the data set's input periods, outside every input period of
the element's data sets. ``force=true`` (superusers) skips them all.

Up to 2.38 they ask one "approval data set" (the named set, else the element's, a set with a
workflow first); from 2.39 every target set (the named one, else the element's sets assigned to
the org unit with the option combo's attribute combo), strictly unless the import switches
``strictDataSetLocking``/``…Approval``/``…InputPeriods`` off (then one passing set suffices).
"""

from __future__ import annotations

from collections.abc import Callable

from dhispatch.runtime.sandbox import entry_rules as rules
from dhispatch.runtime.sandbox.approvals import approved_legacy
from dhispatch.runtime.sandbox.legacy_base import Entry
from dhispatch.runtime.sandbox.legacy_base import Run
from dhispatch.runtime.sandbox.legacy_base import conflict
from dhispatch.runtime.sandbox.periods import Period
from dhispatch.runtime.sandbox.periods import frequency_order
from dhispatch.runtime.sandbox.periods import latest_open_period
from dhispatch.runtime.sandbox.summary import Conflict

Check = Callable[[Run, Entry, str], Conflict | None]


def timeliness(run: Run, e: Entry) -> list[Conflict]:
    if run.ctx.minor <= 38:
        return _approval_data_set(run, e)
    found: list[Conflict] = []
    if not run.ctx.force:
        opts = run.ctx.options
        idx = run.ctx.index
        targets = run.cached(
            ("targets", e.de, e.ou, e.aoc),
            lambda: rules.target_data_sets(idx, e.de, e.ou, e.aoc, run.data_set),
        )
        steps: tuple[tuple[Check, bool], ...] = (
            (_locked, opts.strict_locking),
            (_future, True),
            (_approved, opts.strict_approval),
            (_input_period, opts.strict_input_periods),
        )
        for check, strict in steps:
            found = _over(targets, run, e, check, strict)
            if found:
                return found
    return _element_periods(run, e)


def _over(targets: list[str], run: Run, e: Entry, check: Check, strict: bool) -> list[Conflict]:
    """``checkDataValueTargetDataSets``: strict = every set must pass; else one passing suffices."""
    found = []
    for ds in targets:
        hit = check(run, e, ds)
        if hit is None and not strict:
            return []
        if hit is not None:
            found.append(hit)
    return found


def _approval_data_set(run: Run, e: Entry) -> list[Conflict]:
    ctx = run.ctx
    ds = run.data_set or rules.approval_data_set(ctx.index, e.de)
    if ds is not None and not ctx.force:
        for check in (_locked, _future, _approved, _input_period):
            hit = check(run, e, ds)
            if hit is not None:
                return [hit]
    return _element_periods(run, e)


def _locked(run: Run, e: Entry, ds: str) -> Conflict | None:
    ctx = run.ctx
    obj = ctx.index.objects["dataSets"][ds]
    locked = run.cached(
        ("locked", ds, e.when),
        lambda: rules.expiry_locked(ctx.minor, obj, e.when, ctx.today, ctx.user),
    )
    if not locked:
        return None
    objects = [("period", e.pe_id), ("dataSet", ds)]
    return conflict(
        ctx, "E7640", objects, [e.pe_id, ds], e, "period", (e.when.iso, [e.when.iso, ds])
    )


def _latest_for_element(run: Run, de: str) -> Period | None:
    """≤2.38 ``DataElement.getLatestOpenFuturePeriod``: the period type of its most frequent
    set, the largest ``openFuturePeriods`` of its sets."""
    index = run.ctx.index
    objs = [index.objects["dataSets"][ds] for ds in index.data_sets_of_element(de)]
    if not objs:
        return None
    main = min(objs, key=lambda d: (frequency_order(str(d.get("periodType"))), str(d["name"])))
    opened = max(int(d.get("openFuturePeriods") or 0) for d in objs)
    return latest_open_period(str(main.get("periodType", "Monthly")), opened, run.ctx.today)


def _future(run: Run, e: Entry, ds: str) -> Conflict | None:
    ctx = run.ctx
    if ctx.minor <= 38:
        latest = run.cached(("latest", e.de), lambda: _latest_for_element(run, e.de))
        if latest is None or e.when.start <= latest.end:
            return None
        objects = [("period", e.pe_id), ("dataElement", e.de_id)]
        legacy = (e.when.iso, [e.when.iso, latest.iso, e.de])
        args = [e.pe_id, e.de_id, latest.iso]
        return conflict(ctx, "E7641", objects, args, e, "period", legacy)
    obj = ctx.index.objects["dataSets"][ds]
    ptype = str(obj.get("periodType", "Monthly"))
    latest = latest_open_period(ptype, int(obj.get("openFuturePeriods") or 0), ctx.today)
    if e.when.start <= latest.end:  # latest_open_period is cached
        return None
    objects = [("period", e.pe_id), ("dataElement", e.de_id), ("dataSet", ds)]
    return conflict(ctx, "E7641", objects, [e.pe_id, e.de_id, ds, latest.iso], e, "period")


def _approved(run: Run, e: Entry, ds: str) -> Conflict | None:
    ctx = run.ctx
    workflow = ctx.index.rules.workflow_of(ds)
    if workflow is None:
        return None
    hit = run.cached(
        ("approved", workflow.id, e.when.iso, e.ou, e.aoc),
        lambda: approved_legacy(ctx.index, ctx.approvals, workflow, e.when.iso, e.ou, e.aoc),
    )
    if not hit:
        return None
    objects = [
        ("organisationUnit", e.ou_id),
        ("period", e.pe_id),
        ("categoryOptionCombo", e.aoc_id),
        ("dataSet", ds),
    ]
    legacy = (e.ou, [e.ou, e.when.iso, e.aoc, ds])
    return conflict(ctx, "E7642", objects, [e.ou_id, e.pe_id, e.aoc_id, ds], e, None, legacy)


def _input_period(run: Run, e: Entry, ds: str) -> Conflict | None:
    ctx = run.ctx
    allows = run.cached(
        ("input", ds, e.when.iso),
        lambda: rules.data_set_allows(ctx.index, ctx.minor, ds, e.when.iso, ctx.now),
    )
    if allows:
        return None
    objects = [("period", e.pe_id), ("dataSet", ds)]
    legacy = (e.ou, [e.when.iso, ds])
    return conflict(ctx, "E7643", objects, [e.pe_id, ds], e, "period", legacy)


def _element_periods(run: Run, e: Entry) -> list[Conflict]:
    ctx = run.ctx
    if ctx.force or run.cached(
        ("element", e.de, e.when.iso),
        lambda: rules.element_allows(ctx.index, ctx.minor, e.de, e.when.iso, ctx.now),
    ):
        return []
    legacy = (e.ou, [e.when.iso])
    return [conflict(ctx, "E7644", [("period", e.pe_id)], [e.pe_id], e, "period", legacy)]
