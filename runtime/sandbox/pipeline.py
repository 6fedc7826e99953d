"""``POST /api/dataValueSets`` on 2.43+: the SQL ``DataEntryPipeline`` of §3.2 and its counts.

Decode failures reject the request (ERROR, counts 0, one conflict at index -1); group failures
(``pipeline_checks``) reject the data set group (ERROR, counts 0, one conflict listing every
index, all of them in ``rejectedIndexes``); only value checks drop single values (ignored,
rejected). ``imported`` is always 0: every value reaching the upsert counts as ``updated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from dhispatch.runtime.sandbox.codes import MESSAGES_43
from dhispatch.runtime.sandbox.codes import Arg
from dhispatch.runtime.sandbox.codes import java_text
from dhispatch.runtime.sandbox.context import ImportContext
from dhispatch.runtime.sandbox.importer import completion_date
from dhispatch.runtime.sandbox.metadata import UID_RE
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.pipeline_checks import Decoded
from dhispatch.runtime.sandbox.pipeline_checks import Reject
from dhispatch.runtime.sandbox.pipeline_checks import distinct
from dhispatch.runtime.sandbox.pipeline_checks import validate_group
from dhispatch.runtime.sandbox.store import Row
from dhispatch.runtime.sandbox.summary import Conflict
from dhispatch.runtime.sandbox.summary import ImportSummary
from dhispatch.runtime.sandbox.values import invalid_reason
from dhispatch.runtime.sandbox.values import normalize

MAX_COMMENT = 5000
Valid = tuple[Decoded, str | None]


def conflict_43(
    code: str | None, args: list[Arg], indexes: tuple[int, ...], text: str = ""
) -> Conflict:
    """``DataEntrySummary.toConflict``: objects ``{"args": args joined by "-"}``."""
    joined = "-".join(java_text(a, grouped=False) for a in args)
    message = MESSAGES_43[code].format(*[java_text(a) for a in args]) if code else text
    return Conflict(code, (("args", joined),), message, None, indexes, (joined, message))


def run_pipeline_import(ctx: ImportContext, payload: Mapping[str, Any]) -> ImportSummary:
    summary = ImportSummary(ctx.options, description=None)
    raw_values = [v if isinstance(v, dict) else {} for v in payload.get("dataValues") or []]
    everything = tuple(range(len(raw_values)))
    try:
        ds = _decode_data_set(ctx, payload)
        decoded = [_decode(ctx, i, v, payload) for i, v in enumerate(raw_values)]
    except Reject as exc:  # a BadRequestException: the whole request, indexes [-1]
        summary.add(conflict_43(exc.code, exc.args_, (-1,), exc.message or ""))
        return _error(summary)
    if not decoded:
        return summary
    try:
        ds = ds or _target_data_set(ctx, decoded)
        validate_group(ctx, ds, decoded)
        valid = _values(ctx, ds, decoded, summary)
    except Reject as exc:  # a ConflictException: the whole group
        summary.add(conflict_43(exc.code, exc.args_, everything))
        summary.reject(*everything)
        return _error(summary)
    _upsert(ctx, valid, summary)
    summary.data_set_complete = completion_date(payload, ctx.today, True)
    return summary


def _error(summary: ImportSummary) -> ImportSummary:
    summary.status = "ERROR"
    summary.imported = summary.updated = summary.ignored = summary.deleted = 0
    return summary


def _upsert(ctx: ImportContext, valid: list[Valid], summary: ImportSummary) -> None:
    opts = ctx.options
    default = ctx.index.default_coc() or ""
    stamp = ctx.now.isoformat(timespec="milliseconds")
    keys = [(d.de, d.period.iso, d.ou, d.coc or default, d.aoc or default) for d, _ in valid]
    stored = ctx.store.get_many(keys)
    rows = []
    for (d, value), key in zip(valid, keys, strict=True):
        old = stored.get(key)
        deleting = opts.strategy == "DELETE" or d.raw.get("deleted") is True
        kept = old.value if deleting and old else value
        comment = d.raw.get("comment")
        followup = bool(d.raw.get("followUp", False))  # 2.43 reads followUp (§1.2)
        created = old.created if old else stamp
        rows.append(Row(key, kept, comment, followup, deleting, ctx.user.username, created, stamp))
    if not opts.dry_run and rows:
        ctx.store.put_many(rows)
    if opts.strategy == "DELETE":
        summary.deleted = len(valid)
    else:
        summary.updated = len(valid)
    summary.ignored = len(summary.rejected)
    if summary.conflicts:
        summary.status = "WARNING" if valid else "ERROR"


def _decode_data_set(ctx: ImportContext, payload: Mapping[str, Any]) -> str | None:
    """The named data set (E8005/E8004) and the completion date (E8008/E8009). An unknown
    UID passes here and fails the group's checks (E8020), as core looks UIDs up only there."""
    header = payload.get("dataSet")
    found = None
    if header:
        ident = str(header)
        scheme = ctx.options.schemes["dataSet"]
        found = ident if scheme == "UID" else ctx.index.resolve("dataSets", ident, scheme)
        if found is None:
            raise Reject("E8005", [ident])
        if not UID_RE.match(found):
            raise Reject("E8004", [found])
    raw = payload.get("completeDate")
    if raw:
        try:  # "true"/"false" are no dates to DateUtils.parseDate
            date.fromisoformat(str(raw)[:10])
        except ValueError:
            raise Reject("E8008", [str(raw)]) from None
        if not (header and payload.get("orgUnit") and payload.get("period")):
            raise Reject("E8009", [])
    return found


def _record(raw: Mapping[str, Any]) -> str:
    """A value as Java prints the ``DataEntryValue.Input`` record in E8100/E8102/E8105."""
    names = (
        "dataElement", "orgUnit", "categoryOptionCombo", "categoryOptions",
        "attributeOptionCombo", "attributeCombo", "attributeOptions", "period", "value",
        "comment", "followUp", "deleted",
    )  # fmt: skip
    return "Input[" + ", ".join(f"{n}={java_text(raw.get(n))}" for n in names) + "]"


def _lookup(
    ctx: ImportContext, i: int, ident: str, kinds: tuple[str, str], codes: tuple[str, str]
) -> str:
    """Ids through the kind's scheme: non-UID schemes are looked up (``codes[1]``: not found),
    then the result must be a UID (``codes[0]``); UIDs are taken as they are (unknown ones
    fail the group's checks later)."""
    collection, kind = kinds
    scheme = ctx.options.schemes[kind]
    found = ident if scheme == "UID" else ctx.index.resolve(collection, ident, scheme)
    if found is None:
        raise Reject(codes[1], [i, ident])
    if not UID_RE.match(found):
        raise Reject(codes[0], [i, found])
    return found


DE = ("dataElements", "dataElement")
OU = ("organisationUnits", "orgUnit")
COC = ("categoryOptionCombos", "categoryOptionCombo")
AOC = ("categoryOptionCombos", "attributeOptionCombo")


def _decode(ctx: ImportContext, i: int, raw: dict[str, Any], header: Mapping[str, Any]) -> Decoded:
    """``decodeGroup`` for one value; the value's own period, org unit, AOC beat the header's."""
    pe = str(raw.get("period") or header.get("period") or "")
    if not pe:
        raise Reject("E8100", [i, _record(raw)])
    period = parse_period(pe, ctx.minor)
    if period is None:
        # Period.of throws IllegalArgumentException while decoding: exact reply UNCONFIRMED (§2.5).
        raise Reject(None, [i, pe], f"Invalid period: `{pe}`")
    de = str(raw.get("dataElement") or "")
    if not de:
        raise Reject("E8102", [i, _record(raw)])
    de_uid = _lookup(ctx, i, de, DE, ("E8104", "E8103"))
    ou = str(raw.get("orgUnit") or header.get("orgUnit") or "")
    if not ou:
        raise Reject("E8105", [i, _record(raw)])
    ou_uid = _lookup(ctx, i, ou, OU, ("E8106", "E8107"))
    coc = raw.get("categoryOptionCombo") or None
    coc_uid = _lookup(ctx, i, str(coc), COC, ("E8109", "E8108")) if coc else None
    aoc = raw.get("attributeOptionCombo") or header.get("attributeOptionCombo") or None
    aoc_uid = _lookup(ctx, i, str(aoc), AOC, ("E8111", "E8110")) if aoc else None
    return Decoded(i, de_uid, period, ou_uid, coc_uid, aoc_uid, raw)


def _target_data_set(ctx: ImportContext, decoded: list[Decoded]) -> str:
    """``autoTargetDataSet``: the one data set of all the payload's data elements."""
    elements = distinct(d.de for d in decoded)
    sets = distinct(ds for de in elements for ds in ctx.index.data_sets_of_element(de))
    if not sets:
        raise Reject("E8003", [elements])
    if len(sets) > 1:
        raise Reject("E8002", [sets])
    return str(sets[0])


def _values(
    ctx: ImportContext, ds: str, decoded: list[Decoded], summary: ImportSummary
) -> list[Valid]:
    """``validateValues``: duplicate keys fail the group (E8128); then each value is checked
    unless every value is a deletion; atomic mode turns any dropped value into E8000."""
    seen: dict[tuple[Any, ...], list[int]] = {}
    for d in decoded:
        seen.setdefault((d.de, d.ou, d.coc, d.aoc, d.period.iso), []).append(d.i)
    if dups := [ixs for ixs in seen.values() if len(ixs) > 1]:
        first = min(dups, key=lambda ixs: ixs[0])
        key = next(k for k, v in seen.items() if v == first)
        raise Reject("E8128", [[str(i) for i in first], _key_text(key)])
    deleting = ctx.options.strategy == "DELETE"
    if deleting or all(d.raw.get("deleted") is True for d in decoded):
        return [(d, None) for d in decoded]
    obj = ctx.index.objects["dataSets"].get(ds, {})
    comment_ok = bool(obj.get("noValueRequiresComment", False))
    valid: list[Valid] = []
    errors: list[tuple[Decoded, Reject]] = []
    for d in decoded:
        found = _value_error(ctx, d, comment_ok)
        if isinstance(found, Reject):
            errors.append((d, found))
        else:
            valid.append((d, found))
    if ctx.options.atomic and errors:
        d, error = errors[0]
        if len(decoded) == 1:  # "keep original single error if possible"
            raise error
        message = conflict_43(error.code, error.args_, (d.i,)).message
        raise Reject("E8000", [len(valid), len(decoded), message])
    for d, error in errors:
        summary.add(conflict_43(error.code, error.args_, (d.i,)))
        summary.reject(d.i)
    return valid


def _key_text(key: tuple[Any, ...]) -> str:
    de, ou, coc, aoc, pe = key
    names = ("dataElement", "orgUnit", "categoryOptionCombo", "attributeOptionCombo", "period")
    return (
        "DataValueKey["
        + ", ".join(
            f"{n}={java_text(v)}" for n, v in zip(names, (de, ou, coc, aoc, pe), strict=True)
        )
        + "]"
    )


def _value_error(ctx: ImportContext, d: Decoded, comment_ok: bool) -> Reject | str | None:
    """The value (normalised) to store, or why it is dropped (E8120–E8125)."""
    element = ctx.index.objects["dataElements"].get(d.de, {})
    value_type = str(element.get("valueType", "TEXT"))
    raw = d.raw.get("value")
    value = None if raw is None else normalize(str(raw), value_type, 43)
    comment = d.raw.get("comment")
    has_comment = isinstance(comment, str) and comment != ""
    allow_empty = d.raw.get("deleted") is True or (comment_ok and not has_comment)
    if not value and not allow_empty:
        return Reject("E8121" if comment_ok else "E8120", [d.i])
    if value:
        reason = invalid_reason(value, value_type)
        if reason is not None:
            return Reject("E8122", [d.i, value, value_type, reason])
    if has_comment and len(str(comment)) > MAX_COMMENT:
        return Reject("E8125", [d.i, MAX_COMMENT])
    return value or None
