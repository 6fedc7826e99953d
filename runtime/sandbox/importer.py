"""``POST /api/dataValueSets`` up to 2.42: the validator chain of §3.1 and the counts of §4."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.users import User
from dhispatch.runtime.sandbox.periods import latest_open_period
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.store import Key
from dhispatch.runtime.sandbox.store import Row
from dhispatch.runtime.sandbox.store import ValueStore
from dhispatch.runtime.sandbox.summary import Conflict
from dhispatch.runtime.sandbox.summary import ImportOptions
from dhispatch.runtime.sandbox.summary import ImportSummary
from dhispatch.runtime.sandbox.values import REASONS
from dhispatch.runtime.sandbox.values import invalid_reason
from dhispatch.runtime.sandbox.values import normalize
from dhispatch.runtime.sandbox.values import zero_and_insignificant
from dhispatch.runtime.sandbox.versions import Version

# ErrorCode.java (2.37–2.42) message templates; E7619/E7641 as recorded on 2.4x servers (§2.2).
MESSAGES = {
    "E7600": "Data set not found or not accessible: `{0}`",
    "E7601": "User does not have write access for DataSet: `{0}`",
    "E7603": "Org unit not found or not accessible: `{0}`",
    "E7604": "Attribute option combo not found or not accessible: `{0}`",
    "E7610": "Data element not found or not accessible: `{0}`",
    "E7611": "Period not valid: `{0}`",
    "E7612": "Organisation unit not found or not accessible: `{0}`",
    "E7613": "Category option combo not found or not accessible for writing data: `{0}`",
    "E7615": "Attribute option combo not found or not accessible for writing data: `{0}`",
    "E7617": "Organisation unit: `{0}` not in hierarchy of current user: `{1}`",
    "E7618": "Data value or comment not specified for data element: `{0}`",
    "E7619": "Value must match value type of data element `{0}`: `{1}`",
    "E7620": "Invalid comment: {0}",
    "E7630": "Category option combo is required but is not specified",
    "E7631": "Attribute option combo is required but is not specified",
    "E7632": "Period type of period: `{0}` not valid for data element: `{1}`",
    "E7633": "Data element: `{0}` is not part of dataset: `{1}`",
    "E7634": "Category option combo: `{0}` must be part of category combo of data element: `{1}`",
    "E7635": (
        "Attribute option combo: `{0}` must be part of category combo of data sets of data"
        " element: `{1}`"
    ),
    "E7636": "Data element: `{1}` must be assigned through data sets to organisation unit: `{0}`",
    "E7640": "Current date is past expiry days for period: `{0}`  and data set: `{1}`",
    "E7641": (
        "Period: `{0}` is after latest open future period: `{1}` for data element: `{2}`"
        " and data set: `{3}`"
    ),
}
# The ≤2.36 service's plain texts, keyed like the codes that later replaced them.
LEGACY = {
    "E7600": "Data set not found or not accessible",
    "E7601": "User does not have write access for DataSet: {0}",
    "E7603": "Org unit not found or not accessible",
    "E7604": "Attribute option combo not found or not accessible",
    "E7610": "Data element not found or not accessible",
    "E7611": "Period not valid",
    "E7612": "Organisation unit not found or not accessible",
    "E7613": "Category option combo not found or not accessible for writing data",
    "E7615": "Attribute option combo not found or not accessible for writing data",
    "E7617": "Organisation unit not in hierarchy of current user: {1}",
    "E7618": "Data value or comment not specified for data element",
    "E7619": "{1}, must match data element type: {0}",
    "E7620": "Invalid comment: {0}",
    "E7630": "Category option combo is required but is not specified",
    "E7631": "Attribute option combo is required but is not specified",
    "E7632": "Period type of period {0} not valid for data element: {1}",
    "E7633": "Data element: {0} is not part of dataset: {1}",
    "E7634": "Category option combo: {0} must be part of category combo of data element: {1}",
    "E7635": "Attribute option combo: {0} must be part of category combo of data element: {1}",
    "E7636": "Data element: {1} must be assigned through data sets to organisation unit: {0}",
    "E7640": "Current date is past expiry days for period {0} and data set: {1}",
    "E7641": "Period: {0} is after latest open future period: {1} for data element: {2}",
}
MAX_COMMENT = 50_000


Checked = tuple[int, dict[str, Any], Key, str | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ImportContext:
    """Everything one import reads: metadata, stored values, version, user, options, clock."""

    index: MetadataIndex
    store: ValueStore
    version: Version
    user: User
    options: ImportOptions
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()


def conflict(
    code: str,
    objects: list[tuple[str, str]],
    args: list[str],
    index: int,
    prop: str | None,
    legacy_object: str | None = None,
) -> Conflict:
    legacy = (legacy_object or (objects[0][1] if objects else ""), LEGACY[code].format(*args))
    return Conflict(code, tuple(objects), MESSAGES[code].format(*args), prop, (index,), legacy)


def value_text(raw: Any) -> str | None:
    """Values should be strings; numbers are accepted and rendered as Jackson would read them."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(raw)
    return str(raw)


def run_legacy_import(ctx: ImportContext, payload: Mapping[str, Any]) -> ImportSummary:
    """Import on 2.36–2.42; the caller renders the summary for the generation."""
    opts = ctx.options
    summary = ImportSummary(opts)
    index = ctx.index
    header_ds = payload.get("dataSet")
    data_set: str | None = None
    abort: Conflict | None = None
    if header_ds:
        data_set = index.resolve("dataSets", str(header_ds), opts.schemes["dataSet"])
        if data_set is None:
            abort = conflict("E7600", [("dataSet", str(header_ds))], [str(header_ds)], -1, None)
        elif not index.can_write_data(ctx.user, data_set):
            abort = conflict("E7601", [("dataSet", str(header_ds))], [str(header_ds)], -1, None)
    header_ou = payload.get("orgUnit")
    if abort is None and header_ou:
        if index.resolve("organisationUnits", str(header_ou), opts.schemes["orgUnit"]) is None:
            abort = conflict("E7603", [("orgUnit", str(header_ou))], [str(header_ou)], -1, None)
    header_aoc = payload.get("attributeOptionCombo")
    if abort is None and header_aoc:
        scheme = opts.schemes["categoryOptionCombo"]  # ≤2.42 resolves AOCs with the COC scheme
        if index.resolve("categoryOptionCombos", str(header_aoc), scheme) is None:
            abort = conflict(
                "E7604", [("attributeOptionCombo", str(header_aoc))], [str(header_aoc)], -1, None
            )
    if abort is not None:
        summary.status = "ERROR"
        summary.description = "Import process was aborted"
        summary.conflicts.append(
            Conflict(abort.code, abort.objects, abort.message, abort.property, (), abort.legacy)
        )
        return summary

    raw_values = payload.get("dataValues") or []
    default_coc = index.default_coc() or ""
    pending: dict[Key, Row] = {}
    keys: list[Key | None] = []
    checked: list[tuple[int, dict[str, Any], Key, str | None, dict[str, Any]] | None] = []
    for i, raw in enumerate(raw_values):
        item = _validate(ctx, i, raw, payload, data_set, default_coc, summary)
        checked.append(item)
        keys.append(item[2] if item else None)
    stored = {} if opts.skip_existing_check else ctx.store.get_many(k for k in keys if k)
    stamp = ctx.now.isoformat(timespec="milliseconds")
    for item in checked:
        if item is None:
            continue
        i, raw, key, value, element = item
        existing = pending.get(key) or stored.get(key)
        alive = existing is not None and not existing.deleted
        comment = raw.get("comment")
        followup = bool(raw.get("followup", False))
        is_delete = opts.strategy == "DELETE" or raw.get("deleted") is True
        updating = opts.strategy in ("CREATE_AND_UPDATE", "UPDATE")

        def write(
            deleted: bool,
            kept: str | None,
            k: Key = key,
            old: Row | None = existing,
            note: Any = comment,
            flag: bool = followup,
        ) -> None:
            created = old.created if old else stamp
            pending[k] = Row(k, kept, note, flag, deleted, ctx.user.username, created, stamp)

        if is_delete or (value is None and not comment and updating and alive):
            if alive and existing is not None:
                write(True, existing.value)
                summary.deleted += 1
            else:
                summary.ignored += 1
            continue
        if value is None and not comment:
            summary.add(
                conflict(
                    "E7618",
                    [("dataElement", str(raw.get("dataElement")))],
                    [str(raw.get("dataElement"))],
                    i,
                    "value",
                )
            )
            summary.ignored += 1
            continue
        if value is not None and zero_and_insignificant(value, element):
            # Skipped without a conflict; per code reading the skip never reaches the final
            # counts, but an existing value is deleted (integration test expects (0,0,1)).
            if alive and updating and existing is not None:
                write(True, existing.value)
                summary.deleted += 1
            continue
        if opts.strategy == "CREATE" and alive:
            summary.ignored += 1
        elif opts.strategy == "UPDATE" and not alive:
            summary.ignored += 1
        elif not alive:
            write(False, value)
            summary.imported += 1
        elif (
            existing is not None
            and existing.value == value
            and existing.comment == comment
            and existing.followup == followup
            and ctx.version.unchanged_ignored
        ):
            summary.ignored += 1  # DHIS2-15254: no write, no audit, no conflict
        else:
            write(False, value)
            summary.updated += 1
    if not opts.dry_run and pending:
        ctx.store.put_many(pending.values())
    summary.status = "WARNING" if summary.conflicts else "SUCCESS"
    summary.data_set_complete = completion_date(payload, ctx.today, data_set is not None)
    return summary


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


def _validate(
    ctx: ImportContext,
    i: int,
    raw: Any,
    header: Mapping[str, Any],
    data_set: str | None,
    default_coc: str,
    summary: ImportSummary,
) -> tuple[int, dict[str, Any], Key, str | None, dict[str, Any]] | None:
    """One value through §3.1 steps 2–5; a failure adds its conflict and returns None."""
    index, opts = ctx.index, ctx.options
    if not isinstance(raw, dict):
        raw = {}
    de_id = str(raw.get("dataElement") or "")
    pe_id = str(raw.get("period") or header.get("period") or "")
    ou_id = str(raw.get("orgUnit") or header.get("orgUnit") or "")
    coc_id = raw.get("categoryOptionCombo")
    aoc_id = raw.get("attributeOptionCombo") or header.get("attributeOptionCombo")

    def fail(c: Conflict) -> Checked | None:
        summary.add(c)
        summary.ignored += 1
        return None

    de = index.resolve("dataElements", de_id, opts.schemes["dataElement"])
    if de is None:
        return fail(conflict("E7610", [("dataElement", de_id)], [de_id], i, "dataElement"))
    period = parse_period(pe_id, ctx.version.minor)
    if period is None:
        return fail(conflict("E7611", [("period", pe_id)], [pe_id], i, "period"))
    ou = index.resolve("organisationUnits", ou_id, opts.schemes["orgUnit"])
    if ou is None:
        return fail(conflict("E7612", [("organisationUnit", ou_id)], [ou_id], i, "orgUnit"))
    coc = default_coc
    if coc_id:
        found = index.resolve(
            "categoryOptionCombos", str(coc_id), opts.schemes["categoryOptionCombo"]
        )
        if found is None:
            return fail(
                conflict(
                    "E7613",
                    [("categoryOptionCombo", str(coc_id))],
                    [str(coc_id)],
                    i,
                    "categoryOptionCombo",
                )
            )
        coc = found
    aoc = default_coc
    if aoc_id:
        found = index.resolve(
            "categoryOptionCombos", str(aoc_id), opts.schemes["categoryOptionCombo"]
        )
        if found is None:
            return fail(
                conflict(
                    "E7615",
                    [("attributeOptionCombo", str(aoc_id))],
                    [str(aoc_id)],
                    i,
                    "attributeOptionCombo",
                )
            )
        aoc = found
    # Applies to superusers too; only a null user skips it (§3.1 step 2).
    if not index.is_descendant(ou, ctx.user.org_units):
        return fail(
            conflict(
                "E7617",
                [("organisationUnit", ou_id), ("user", ctx.user.username)],
                [ou_id, ctx.user.username],
                i,
                "orgUnit",
            )
        )
    element = index.objects["dataElements"][de]
    value = value_text(raw.get("value"))
    if value == "":
        value = None
    is_delete = opts.strategy == "DELETE" or raw.get("deleted") is True
    if value is not None and not is_delete:
        value_type = str(element.get("valueType", "TEXT"))
        value = normalize(value, value_type, ctx.version.generation)
        reason = invalid_reason(value, value_type)
        if reason is not None:
            return fail(
                conflict(
                    "E7619",
                    [("dataElement", de_id), ("value", reason)],
                    [de_id, REASONS[reason]],
                    i,
                    "value",
                    legacy_object=value,
                )
            )
    comment = raw.get("comment")
    if isinstance(comment, str) and len(comment) > MAX_COMMENT:
        return fail(
            conflict(
                "E7620",
                [("comment", "comment_length_greater_than_max_length")],
                ["comment_length_greater_than_max_length"],
                i,
                "comment",
            )
        )
    constraint = _constraints(
        ctx, i, de_id, de, pe_id, period.type, ou_id, ou, coc_id, coc, aoc_id, aoc, data_set, header
    )
    if constraint is not None:
        return fail(constraint)
    if not (opts.force and ctx.user.is_super):
        targets = [data_set] if data_set else index.data_sets_of_element(de)
        for ds_uid in targets:
            ds = index.objects["dataSets"][ds_uid]
            expiry = int(ds.get("expiryDays") or 0)
            if (
                expiry > 0
                and not ctx.user.has("F_EDIT_EXPIRED")
                and ctx.today > period.end + timedelta(days=expiry)
            ):
                ds_id = (
                    str(ds.get("code") or ds_uid) if data_set is None else str(header["dataSet"])
                )
                return fail(
                    conflict(
                        "E7640",
                        [("period", pe_id), ("dataSet", ds_id)],
                        [pe_id, ds_id],
                        i,
                        "period",
                    )
                )
            latest = latest_open_period(
                str(ds.get("periodType", "Monthly")),
                int(ds.get("openFuturePeriods") or 0),
                ctx.today,
            )
            if period.start > latest.end:
                ds_id = str(header.get("dataSet") or ds_uid)
                objects = [("period", pe_id), ("dataElement", de_id), ("dataSet", ds_id)]
                return fail(
                    conflict("E7641", objects, [pe_id, latest.iso, de_id, ds_id], i, "period")
                )
    return i, raw, (de, period.iso, ou, coc, aoc), value, element


def _constraints(
    ctx: ImportContext,
    i: int,
    de_id: str,
    de: str,
    pe_id: str,
    period_type: str,
    ou_id: str,
    ou: str,
    coc_id: Any,
    coc: str,
    aoc_id: Any,
    aoc: str,
    data_set: str | None,
    header: Mapping[str, Any],
) -> Conflict | None:
    """§3.1 step 4: the require*/strict* checks, each off unless its flag is sent."""
    strict, index = ctx.options.strict, ctx.index
    if "requireCategoryOptionCombo" in strict and not coc_id:
        return conflict("E7630", [], [], i, "categoryOptionCombo", legacy_object=de_id)
    if "requireAttributeOptionCombo" in strict and not aoc_id:
        return conflict("E7631", [], [], i, "attributeOptionCombo", legacy_object=de_id)
    data_sets = index.data_sets_of_element(de)
    if "strictPeriods" in strict and period_type not in {
        index.objects["dataSets"][ds].get("periodType") for ds in data_sets
    }:
        return conflict(
            "E7632", [("period", pe_id), ("dataElement", de_id)], [pe_id, de_id], i, "period"
        )
    if "strictDataElements" in strict and data_set and de not in index.data_set_elements(data_set):
        ds_id = str(header.get("dataSet"))
        return conflict(
            "E7633", [("dataElement", de_id), ("dataSet", ds_id)], [de_id, ds_id], i, "dataElement"
        )
    if "strictCategoryOptionCombos" in strict:
        combo = (index.objects["dataElements"][de].get("categoryCombo") or {}).get("id")
        if coc not in index.combo_cocs(combo):
            shown = str(coc_id or coc)
            return conflict(
                "E7634",
                [("categoryOptionCombo", shown), ("dataElement", de_id)],
                [shown, de_id],
                i,
                "categoryOptionCombo",
            )
    if "strictAttributeOptionCombos" in strict:
        allowed: set[str] = set()
        for ds in data_sets:
            combo = (index.objects["dataSets"][ds].get("categoryCombo") or {}).get("id")
            allowed |= index.combo_cocs(combo) or {index.default_coc() or ""}
        if aoc not in allowed:
            shown = str(aoc_id or aoc)
            return conflict(
                "E7635",
                [("attributeOptionCombo", shown), ("dataElement", de_id)],
                [shown, de_id],
                i,
                "attributeOptionCombo",
            )
    assigned = {
        ref.get("id")
        for ds in data_sets
        for ref in index.objects["dataSets"][ds]["organisationUnits"]
    }
    if "strictOrganisationUnits" in strict and ou not in assigned:
        return conflict(
            "E7636",
            [("organisationUnit", ou_id), ("dataElement", de_id)],
            [ou_id, de_id],
            i,
            "orgUnit",
        )
    return None
