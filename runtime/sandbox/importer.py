"""``POST /api/dataValueSets`` up to 2.42: data-set-level aborts, the per-value chain of §3.1
(``legacy_checks``) and the counts of ``DefaultDataValueSetService`` per version.

Counts (§4, issue 11 point 6): ``value: null`` with no comment is E7618 (the stored value stays);
``""`` (or blanks) deletes a stored value and, with nothing stored, is ignored without a
conflict; an insignificant zero is skipped (2.36: counted as ignored, 2.37+: not counted) unless
it overwrites a live value, which it deletes. 2.36 counts ignored as everything not imported,
updated or deleted; 2.37+ count each ignore and list it in ``rejectedIndexes`` where core does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from dhispatch.runtime.sandbox.context import ImportContext
from dhispatch.runtime.sandbox.legacy_base import ComboCache
from dhispatch.runtime.sandbox.legacy_base import Entry
from dhispatch.runtime.sandbox.legacy_base import Run
from dhispatch.runtime.sandbox.legacy_base import conflict
from dhispatch.runtime.sandbox.legacy_base import entry
from dhispatch.runtime.sandbox.legacy_checks import check_value
from dhispatch.runtime.sandbox.store import Key
from dhispatch.runtime.sandbox.store import Row
from dhispatch.runtime.sandbox.summary import Conflict
from dhispatch.runtime.sandbox.summary import ImportSummary
from dhispatch.runtime.sandbox.values import zero_and_insignificant

__all__ = ["ImportContext", "completion_date", "run_legacy_import"]


def _abort(ctx: ImportContext, payload: Mapping[str, Any], combos: ComboCache) -> Conflict | None:
    """The data-set-level checks (E7600, E7601, E7603, E7604): any failure aborts the import."""
    index, opts = ctx.index, ctx.options
    header_ds = str(payload.get("dataSet") or "")
    ds_uid = index.resolve("dataSets", header_ds, opts.schemes["dataSet"]) if header_ds else None
    if header_ds and ds_uid is None:
        return conflict(ctx, "E7600", [("dataSet", header_ds)], [header_ds], -1, "dataSet")
    if ds_uid is not None and not index.can_write_data(ctx.user, ds_uid):
        return conflict(ctx, "E7601", [("dataSet", header_ds)], [header_ds], -1, "dataSet")
    header_ou = str(payload.get("orgUnit") or "")
    if header_ou and index.resolve("organisationUnits", header_ou, opts.schemes["orgUnit"]) is None:
        objects = [("organisationUnit", header_ou), ("dataSet", header_ds or None)]
        return conflict(ctx, "E7603", objects, [header_ou, header_ds or None], -1, "orgUnit")
    header_aoc = str(payload.get("attributeOptionCombo") or "")
    if header_aoc and combos.lookup(ctx, header_aoc) is None:
        objects = [("categoryOptionCombo", header_aoc), ("dataSet", header_ds or None)]
        args = [header_aoc, header_ds or None]
        return conflict(ctx, "E7604", objects, args, -1, "attributeOptionCombo")
    return None


def run_legacy_import(ctx: ImportContext, payload: Mapping[str, Any]) -> ImportSummary:
    """Import on 2.36–2.42; the caller renders the summary for the generation."""
    summary = ImportSummary(ctx.options)
    combos = ComboCache(heated=ctx.options.preheat_cache)
    abort = _abort(ctx, payload, combos)
    if abort is not None:
        summary.status = "ERROR"
        summary.description = "Import process was aborted"
        summary.conflicts.append(
            Conflict(abort.code, abort.objects, abort.message, abort.property, (), abort.legacy)
        )
        return summary
    header_ds = payload.get("dataSet")
    data_set = (
        ctx.index.resolve("dataSets", str(header_ds), ctx.options.schemes["dataSet"])
        if header_ds
        else None
    )
    run = Run(ctx, data_set, combos)
    checked: list[Entry] = []
    raw_values = payload.get("dataValues") or []
    for i, raw in enumerate(raw_values):
        e = entry(i, raw, payload)
        found = check_value(run, e)
        combos.after_value()  # the cache is heated between values, never within one
        if found:
            for c in found:
                summary.add(c)
            summary.ignored += 1
            summary.reject(i)
        else:
            checked.append(e)
    _write(ctx, checked, summary)
    if ctx.version.generation <= 36:
        summary.ignored = len(raw_values) - summary.imported - summary.updated - summary.deleted
    summary.status = "WARNING" if summary.conflicts else "SUCCESS"
    summary.data_set_complete = completion_date(payload, ctx.today, data_set is not None)
    return summary


@dataclass
class _Outcome:
    """What one value does to its cell: the row to write (None: nothing) and how it counts."""

    row: Row | None
    count: str | None  # "imported" | "updated" | "deleted" | "ignored" | None (not counted)
    rejected: bool = False


def _write(ctx: ImportContext, checked: list[Entry], summary: ImportSummary) -> None:
    opts = ctx.options
    keys = [_key(e) for e in checked]
    stored = {} if opts.skip_existing_check else ctx.store.get_many(keys)
    pending: dict[Key, Row] = {}
    stamp = ctx.now.isoformat(timespec="milliseconds")
    for e, key in zip(checked, keys, strict=True):
        existing = None if opts.skip_existing_check else pending.get(key) or stored.get(key)
        outcome = _outcome(ctx, e, key, existing, stamp)
        if outcome.row is not None:
            pending[key] = outcome.row
        if outcome.count is not None:
            setattr(summary, outcome.count, getattr(summary, outcome.count) + 1)
        if outcome.rejected and ctx.version.generation >= 37:
            summary.reject(e.i)
    if not opts.dry_run and pending:
        ctx.store.put_many(pending.values())


def _key(e: Entry) -> Key:
    return (e.de, e.when.iso, e.ou, e.coc, e.aoc)


def _outcome(ctx: ImportContext, e: Entry, key: Key, old: Row | None, stamp: str) -> _Outcome:
    """``importDataValue`` after validation, branch by branch."""
    strategy = ctx.options.strategy
    element = ctx.index.objects["dataElements"][e.de]
    zero = e.value is not None and zero_and_insignificant(e.value, element)
    if zero and (old is None or strategy == "CREATE"):
        return _Outcome(None, None)  # skipped: no conflict, not counted (2.36: ignored)
    value = (e.value or "").strip() or None
    comment_raw = e.raw.get("comment")
    comment = comment_raw.strip() or None if isinstance(comment_raw, str) else None
    followup = bool(e.raw.get("followup", False))
    flagged = e.raw.get("deleted") is True
    blank = value is None and comment is None

    def row(deleted: bool) -> Row:
        created = old.created if old else stamp
        return Row(key, value, comment, followup, deleted, ctx.user.username, created, stamp)

    if old is not None and not old.deleted:
        if strategy in ("CREATE_AND_UPDATE", "UPDATE"):
            if blank or flagged or zero:
                return _Outcome(row(True), "deleted")
            if ctx.version.unchanged_ignored and (old.value, old.comment, old.followup) == (
                value,
                comment,
                followup,
            ):
                return _Outcome(None, "ignored")  # DHIS2-15254: no write, no conflict
            return _Outcome(row(False), "updated")
        if strategy == "DELETE":
            return _Outcome(row(True), "deleted")
        return _Outcome(None, "ignored", rejected=True)  # CREATE over a live value
    if strategy in ("CREATE_AND_UPDATE", "CREATE"):
        if blank:
            return _Outcome(None, "ignored")  # "Ignore null values": no conflict
        return _Outcome(row(flagged), "imported")  # new, or a soft-deleted row revived
    return _Outcome(None, "ignored", rejected=True)  # UPDATE/DELETE of nothing stored


def completion_date(payload: Mapping[str, Any], today: date, has_data_set: bool) -> str:
    """``dataSetComplete``: the header's completeDate when dataSet, orgUnit and period are
    given ("true" means today; a future date is clamped to today, as 2.40 does)."""
    raw = payload.get("completeDate")
    if not raw or not has_data_set or not payload.get("orgUnit") or not payload.get("period"):
        return "false"
    text = str(raw).lower()
    if text == "false":
        return "false"
    if text == "true":
        return today.isoformat()
    try:
        return min(date.fromisoformat(text[:10]), today).isoformat()
    except ValueError:
        return "false"
