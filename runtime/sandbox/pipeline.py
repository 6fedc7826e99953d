"""``POST /api/dataValueSets`` on 2.43+: the SQL ``DataEntryPipeline`` of §3.2 and its counts.

Decode failures reject the whole request; group-level failures (key consistency, access,
timeliness) reject the whole data set group; only value-level checks drop single values.
``imported`` is always 0: every value reaching the upsert counts as ``updated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import timedelta
from typing import Any

from dhispatch.runtime.sandbox.importer import ImportContext
from dhispatch.runtime.sandbox.importer import completion_date
from dhispatch.runtime.sandbox.importer import value_text
from dhispatch.runtime.sandbox.metadata import UID_RE
from dhispatch.runtime.sandbox.periods import latest_open_period
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.store import Key
from dhispatch.runtime.sandbox.store import Row
from dhispatch.runtime.sandbox.summary import Conflict
from dhispatch.runtime.sandbox.summary import ImportSummary
from dhispatch.runtime.sandbox.values import invalid_reason
from dhispatch.runtime.sandbox.values import normalize

# Meanings from ErrorCode.java "Data entry (SQL backed implementation)"; the wording is ours.
MESSAGES = {
    "E8000": "Atomic mode: only {0} of {1} values are valid",
    "E8002": "Data set detection failed: the data elements belong to several data sets: {0}",
    "E8003": "Data set detection failed: no data set contains data element(s): {0}",
    "E8004": "Data set `{0}` is not a valid UID",
    "E8005": "Data set `{0}` not found",
    "E8008": "Completion date `{0}` is not a valid date",
    "E8009": "A completion date requires a data set, org unit and period for the whole set",
    "E8010": "User cannot enter data for data set `{0}`",
    "E8011": "User cannot enter data for org unit(s): {0}",
    "E8020": "Data set `{0}` is not usable with data element(s): {1}",
    "E8021": "Data set `{0}` is not usable with period(s): {1}",
    "E8022": "Data set `{0}` is not usable with org unit(s): {1}",
    "E8023": "Data set `{0}` is not usable with attribute option combo(s): {1}",
    "E8024": "Data set `{0}` and data element `{1}` are not usable with option combo(s): {2}",
    "E8030": "Entry for data set `{0}` is not timely for period(s): {1}",
    "E8100": "Value #{0} has no period",
    "E8102": "Value #{0} has no data element",
    "E8103": "Data element `{0}` not found",
    "E8104": "Data element `{0}` is not a valid UID",
    "E8105": "Value #{0} has no org unit",
    "E8106": "Org unit `{0}` is not a valid UID",
    "E8107": "Org unit `{0}` not found",
    "E8108": "Category option combo `{0}` not found",
    "E8109": "Category option combo `{0}` is not a valid UID",
    "E8110": "Attribute option combo `{0}` not found",
    "E8111": "Attribute option combo `{0}` is not a valid UID",
    "E8121": "Value or comment required for data element `{0}`",
    "E8122": "Value `{0}` is no valid {1}: {2}",
    "E8125": "Comment is longer than 5000 characters for data element `{0}`",
    "E8128": "More than one value for the same key: {0}",
}
MAX_COMMENT = 5000


class _Reject(Exception):
    def __init__(self, code: str | None, args: list[str], message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.args_ = args
        self.message = message or MESSAGES[str(code)].format(*args)


def _conflict(
    code: str | None, args: list[str], message: str, indexes: tuple[int, ...]
) -> Conflict:
    joined = "-".join(args)
    return Conflict(code, (("args", joined),), message, None, indexes, (joined, message))


def run_pipeline_import(ctx: ImportContext, payload: Mapping[str, Any]) -> ImportSummary:
    summary = ImportSummary(ctx.options, description="Import process completed successfully")
    raw_values = [v if isinstance(v, dict) else {} for v in payload.get("dataValues") or []]
    everything = tuple(range(len(raw_values)))
    try:
        decoded = [_decode(ctx, i, v, payload) for i, v in enumerate(raw_values)]
    except _Reject as exc:
        # A BadRequestException in decoding fails the whole request (indexes [-1]).
        summary.add(_conflict(exc.code, exc.args_, exc.message, (-1,)))
        return _error(summary, len(raw_values))
    try:
        ds_uid = _target_data_set(ctx, payload, decoded)
        _group_checks(ctx, ds_uid, decoded)
        _check_completion(ctx, payload)
    except _Reject as exc:
        summary.add(_conflict(exc.code, exc.args_, exc.message, everything))
        return _error(summary, len(raw_values))

    opts = ctx.options
    valid: list[tuple[int, Key, str | None, Any, bool, bool]] = []
    for i, key, raw in decoded:
        element = ctx.index.objects["dataElements"].get(key[0], {})
        de_label = str(raw.get("dataElement"))
        value = value_text(raw.get("value"))
        comment = raw.get("comment")
        is_delete = opts.strategy == "DELETE" or raw.get("deleted") is True
        if not is_delete:
            if (value is None or value == "") and not comment:
                summary.add(
                    _conflict("E8121", [de_label], MESSAGES["E8121"].format(de_label), (i,))
                )
                continue
            if value:
                value_type = str(element.get("valueType", "TEXT"))
                value = normalize(value, value_type, 43)
                reason = invalid_reason(value, value_type)
                if reason is not None:
                    args = [value, value_type, reason]
                    summary.add(_conflict("E8122", args, MESSAGES["E8122"].format(*args), (i,)))
                    continue
            if isinstance(comment, str) and len(comment) > MAX_COMMENT:
                summary.add(
                    _conflict("E8125", [de_label], MESSAGES["E8125"].format(de_label), (i,))
                )
                continue
        followup = bool(raw.get("followUp", False))  # 2.43 reads followUp (§1.2)
        valid.append((i, key, value or None, comment, is_delete, followup))
    dropped = len(raw_values) - len(valid)
    if opts.atomic and dropped:
        args = [str(len(valid)), str(len(raw_values))]
        summary.conflicts.clear()
        summary.add(_conflict("E8000", args, MESSAGES["E8000"].format(*args), everything))
        return _error(summary, len(raw_values))
    seen: dict[Key, int] = {}
    for i, key, *_ in valid:
        if key in seen:
            args = ["/".join(key)]
            summary.conflicts.clear()
            summary.add(_conflict("E8128", args, MESSAGES["E8128"].format(*args), everything))
            return _error(summary, len(raw_values))
        seen[key] = i

    stamp = ctx.now.isoformat(timespec="milliseconds")
    stored = ctx.store.get_many(key for _, key, *_ in valid)
    rows = []
    for _, key, value, comment, is_delete, followup in valid:
        old = stored.get(key)
        kept = old.value if is_delete and old else value
        created = old.created if old else stamp
        rows.append(Row(key, kept, comment, followup, is_delete, ctx.user.username, created, stamp))
    if not opts.dry_run and rows:
        ctx.store.put_many(rows)
    if opts.strategy == "DELETE":
        summary.deleted = len(valid)
    else:
        summary.updated = len(valid)
    summary.ignored = dropped
    if summary.conflicts:
        summary.status = "WARNING" if valid else "ERROR"
    summary.data_set_complete = completion_date(payload, ctx.today, True)
    return summary


def _check_completion(ctx: ImportContext, payload: Mapping[str, Any]) -> None:
    """E8008/E8009: a completeDate needs a valid date and dataSet, orgUnit, period headers."""
    raw = payload.get("completeDate")
    if not raw or str(raw).lower() in ("false", "true"):
        return
    if not (payload.get("dataSet") and payload.get("orgUnit") and payload.get("period")):
        raise _Reject("E8009", [])
    try:
        date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise _Reject("E8008", [str(raw)]) from None


def _error(summary: ImportSummary, total: int) -> ImportSummary:
    summary.status = "ERROR"
    summary.imported = summary.updated = summary.deleted = 0
    summary.ignored = total
    summary.rejected.clear()
    return summary


def _lookup(
    ctx: ImportContext, collection: str, ident: str, kind: str, bad_uid: str, missing: str
) -> str:
    scheme = ctx.options.schemes[kind]
    if scheme == "UID":
        # UIDs are taken as they are; unknown ones fail the group's key checks later.
        if not UID_RE.match(ident):
            raise _Reject(bad_uid, [ident])
        return ident
    found = ctx.index.resolve(collection, ident, scheme)
    if found is None:
        raise _Reject(missing, [ident])
    return found


def _decode(
    ctx: ImportContext, i: int, raw: dict[str, Any], header: Mapping[str, Any]
) -> tuple[int, Key, dict[str, Any]]:
    pe = str(raw.get("period") or header.get("period") or "")
    if not pe:
        raise _Reject("E8100", [str(i)])
    period = parse_period(pe, ctx.version.minor)
    if period is None:
        # Period.of throws IllegalArgumentException while decoding: exact reply UNCONFIRMED (§2.5).
        raise _Reject(None, [pe], f"Invalid period: `{pe}`")
    de = str(raw.get("dataElement") or "")
    if not de:
        raise _Reject("E8102", [str(i)])
    de_uid = _lookup(ctx, "dataElements", de, "dataElement", "E8104", "E8103")
    ou = str(raw.get("orgUnit") or header.get("orgUnit") or "")
    if not ou:
        raise _Reject("E8105", [str(i)])
    ou_uid = _lookup(ctx, "organisationUnits", ou, "orgUnit", "E8106", "E8107")
    default = ctx.index.default_coc() or ""
    coc = raw.get("categoryOptionCombo")
    coc_uid = (
        _lookup(ctx, "categoryOptionCombos", str(coc), "categoryOptionCombo", "E8109", "E8108")
        if coc
        else default  # stored under the default COC, like every version
    )
    aoc = raw.get("attributeOptionCombo") or header.get("attributeOptionCombo")
    aoc_uid = (
        _lookup(ctx, "categoryOptionCombos", str(aoc), "attributeOptionCombo", "E8111", "E8110")
        if aoc
        else default
    )
    return i, (de_uid, period.iso, ou_uid, coc_uid, aoc_uid), raw


def _target_data_set(
    ctx: ImportContext, payload: Mapping[str, Any], decoded: list[tuple[int, Key, dict[str, Any]]]
) -> str:
    header = payload.get("dataSet")
    if header:
        ident = str(header)
        if ctx.options.schemes["dataSet"] == "UID" and not UID_RE.match(ident):
            raise _Reject("E8004", [ident])
        found = ctx.index.resolve("dataSets", ident, ctx.options.schemes["dataSet"])
        if found is None:
            raise _Reject("E8005", [ident])
        return found
    elements = sorted({key[0] for _, key, _ in decoded})
    sets = sorted({ds for de in elements for ds in ctx.index.data_sets_of_element(de)})
    orphans = [de for de in elements if not ctx.index.data_sets_of_element(de)]
    if orphans or not sets:
        raise _Reject("E8003", [", ".join(orphans or elements)])
    if len(sets) > 1:
        raise _Reject("E8002", [", ".join(sets)])
    return sets[0]


def _group_checks(
    ctx: ImportContext, ds_uid: str, decoded: list[tuple[int, Key, dict[str, Any]]]
) -> None:
    index, user = ctx.index, ctx.user
    ds = index.objects["dataSets"][ds_uid]
    keys = [key for _, key, _ in decoded]

    def bad(items: list[str]) -> str:
        return ", ".join(sorted(set(items)))

    if not user.is_super:
        if not index.can_write_data(user, ds_uid):
            raise _Reject("E8010", [ds_uid])
        outside = [k[2] for k in keys if not index.is_descendant(k[2], user.org_units)]
        if outside:
            raise _Reject("E8011", [bad(outside)])
    members = index.data_set_elements(ds_uid)
    if strangers := [k[0] for k in keys if k[0] not in members]:
        raise _Reject("E8020", [ds_uid, bad(strangers)])
    ptype = str(ds.get("periodType", "Monthly"))
    periods = {k[1]: parse_period(k[1]) for k in keys}
    if wrong := [iso for iso, p in periods.items() if p is None or p.type != ptype]:
        raise _Reject("E8021", [ds_uid, bad(wrong)])
    assigned = {ref.get("id") for ref in ds["organisationUnits"]}
    if unassigned := [k[2] for k in keys if k[2] not in assigned]:
        raise _Reject("E8022", [ds_uid, bad(unassigned)])
    attribute_cocs = index.combo_cocs((ds.get("categoryCombo") or {}).get("id"))
    if not attribute_cocs and index.default_coc():
        attribute_cocs = {str(index.default_coc())}
    if aocs := [k[4] for k in keys if k[4] not in attribute_cocs]:
        raise _Reject("E8023", [ds_uid, bad(aocs)])
    for _, (de, _, _, coc, _), raw in decoded:
        if not raw.get("categoryOptionCombo"):
            continue  # getCocNotInDataSet skips values sent without a COC (§1.2)
        combo = members[de] or (index.objects["dataElements"][de].get("categoryCombo") or {}).get(
            "id"
        )
        if coc not in index.combo_cocs(combo):
            raise _Reject("E8024", [ds_uid, de, coc])
    # Users with ALL (or F_EDIT_EXPIRED) bypass expiry and future-period checks on 2.43+.
    if not user.has("F_EDIT_EXPIRED") and not (ctx.options.force and user.is_super):
        latest = latest_open_period(ptype, int(ds.get("openFuturePeriods") or 0), ctx.today)
        expiry = int(ds.get("expiryDays") or 0)
        untimely = [
            iso
            for iso, p in periods.items()
            if p is not None
            and (
                p.start > latest.end or (expiry > 0 and ctx.today > p.end + timedelta(days=expiry))
            )
        ]
        if untimely:
            raise _Reject("E8030", [ds_uid, bad(untimely)])
