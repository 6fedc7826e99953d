"""The ≤2.42 per-value validation chain (``DataValueSetImportValidator``; 2.36's inline checks in
the same order): each value stops at its first failing check, whose conflicts are reported."""

from __future__ import annotations

from typing import Any

from dhispatch.runtime.sandbox import entry_rules as rules
from dhispatch.runtime.sandbox.legacy_base import Entry
from dhispatch.runtime.sandbox.legacy_base import Run
from dhispatch.runtime.sandbox.legacy_base import conflict
from dhispatch.runtime.sandbox.legacy_strict import require_combos
from dhispatch.runtime.sandbox.legacy_strict import strict_checks
from dhispatch.runtime.sandbox.legacy_timeliness import timeliness
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.summary import Conflict
from dhispatch.runtime.sandbox.values import REASONS
from dhispatch.runtime.sandbox.values import invalid_reason
from dhispatch.runtime.sandbox.values import normalize

MAX_COMMENT = 50_000


def check_value(run: Run, e: Entry) -> list[Conflict]:
    """The chain for one value; empty when it passes (then ``e`` is fully resolved)."""
    steps = (
        _existence,
        _option_combos,
        _hierarchy,
        _content,
        require_combos,
        strict_checks,
        _attribute_combo,
        timeliness,
    )
    for step in steps:
        found = step(run, e)
        if found:
            return found
    return []


def _existence(run: Run, e: Entry) -> list[Conflict]:
    """E7610–E7612."""
    ctx = run.ctx
    index, schemes = ctx.index, ctx.options.schemes
    de = index.resolve("dataElements", e.de_id, schemes["dataElement"])
    if de is None:
        return [conflict(ctx, "E7610", [("dataElement", e.de_id)], [e.de_id], e, "dataElement")]
    e.de = de
    e.period = parse_period(e.pe_id, ctx.minor)
    if e.period is None:
        return [conflict(ctx, "E7611", [("period", e.pe_id)], [e.pe_id], e, "period")]
    ou = index.resolve("organisationUnits", e.ou_id, schemes["orgUnit"])
    if ou is None:
        return [conflict(ctx, "E7612", [("organisationUnit", e.ou_id)], [e.ou_id], e, "orgUnit")]
    e.ou = ou
    return []


def _option_combos(run: Run, e: Entry) -> list[Conflict]:
    """E7613–E7616: option combos found, and (once the lookup cache is heated) every option of
    them writable; superusers may write every option."""
    ctx = run.ctx
    for ident, prop in ((e.coc_id, "categoryOptionCombo"), (e.aoc_id, "attributeOptionCombo")):
        if ident is None:
            continue
        found = run.combos.lookup(ctx, ident)
        if found is None:
            code = "E7613" if prop == "categoryOptionCombo" else "E7615"
            return [conflict(ctx, code, [("categoryOptionCombo", ident)], [ident], e, prop)]
        refused = ctx.index.rules.unwritable_options(ctx.user, found)
        if refused:
            code = "E7614" if prop == "categoryOptionCombo" else "E7616"
            return [
                conflict(
                    ctx,
                    code,
                    [("categoryOptionCombo", ident), ("categoryOption", option)],
                    [ident, option],
                    e,
                    prop,
                    ("dataValueSet", [ident, option]),
                )
                for option in refused
            ]
        if prop == "categoryOptionCombo":
            e.coc = found
        else:
            e.aoc = found
    return []


def _hierarchy(run: Run, e: Entry) -> list[Conflict]:
    """E7617: the org unit in the user's data capture tree; superusers too (§3.1)."""
    ctx, user = run.ctx, run.ctx.user
    if ctx.index.is_descendant(e.ou, user.org_units):
        return []
    objects = [("organisationUnit", e.ou_id), ("user", user.id)]
    legacy = (e.ou, ["", user.username])
    return [conflict(ctx, "E7617", objects, [e.ou_id, user.id], e, "orgUnit", legacy)]


def _text(raw: Any) -> str | None:
    """Values should be strings; numbers and booleans are read as Jackson renders them."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _content(run: Run, e: Entry) -> list[Conflict]:
    """E7618–E7620: a value or comment (JSON null is absent; ``""`` is present and deletes),
    of the element's value type; a comment not too long."""
    ctx, raw = run.ctx, e.raw
    is_delete = ctx.options.strategy == "DELETE" or raw.get("deleted") is True
    value = _text(raw.get("value"))
    if value is None and raw.get("comment") is None and not is_delete:
        legacy = ("Value", [e.de])
        return [conflict(ctx, "E7618", [("dataElement", e.de_id)], [e.de_id], e, "value", legacy)]
    element = ctx.index.objects["dataElements"][e.de]
    if value is not None:
        value_type = str(element.get("valueType", "TEXT"))
        value = normalize(value, value_type, ctx.version.generation)
        reason = invalid_reason(value, value_type) if value.strip() else None
        if reason is not None:
            objects = [("dataElement", e.de_id), ("value", reason)]
            legacy = (value, [e.de, REASONS[reason]])
            args = [e.de_id, REASONS[reason]]
            return [conflict(ctx, "E7619", objects, args, e, "value", legacy)]
    e.value = value
    comment = raw.get("comment")
    if isinstance(comment, str) and len(comment) > MAX_COMMENT:
        key = "comment_length_greater_than_max_length"
        legacy = ("Comment", [key])
        return [conflict(ctx, "E7620", [("comment", key)], [key], e, "comment", legacy)]
    return []


def _attribute_combo(run: Run, e: Entry) -> list[Conflict]:
    """E7638/E7639: the period within the option combo's dates, the org unit within its org
    units. Core checks them for everyone; ``force`` does not skip them."""
    ctx = run.ctx
    if e.aoc not in ctx.index.rules.restricted_combos:
        return []
    span = run.cached(
        ("range", e.aoc, e.de), lambda: rules.aoc_range_legacy(ctx.index, e.aoc, run.data_set, e.de)
    )
    if rules.outside_range_legacy(span, e.when):
        objects = [("period", e.pe_id), ("categoryOptionCombo", e.aoc_id)]
        legacy = (e.ou, [e.when.iso, e.aoc])
        return [conflict(ctx, "E7638", objects, [e.pe_id, e.aoc_id], e, "period", legacy)]
    units = rules.aoc_units_legacy(ctx.index, e.aoc)
    if units is not None and not ctx.index.is_descendant(e.ou, units):
        objects = [("organisationUnit", e.ou_id), ("categoryOptionCombo", e.aoc_id)]
        legacy = (e.ou, [e.ou, e.aoc])
        return [conflict(ctx, "E7639", objects, [e.ou_id, e.aoc_id], e, "orgUnit", legacy)]
    return []
