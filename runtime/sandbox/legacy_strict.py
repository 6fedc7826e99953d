"""≤2.42 constraint checks (§3.1 step 4): the require*/strict* flags, each off unless sent, and
the default option combos substituted for values that name none."""

from __future__ import annotations

from dhispatch.runtime.sandbox.legacy_base import Entry
from dhispatch.runtime.sandbox.legacy_base import Run
from dhispatch.runtime.sandbox.legacy_base import conflict
from dhispatch.runtime.sandbox.summary import Conflict


def require_combos(run: Run, e: Entry) -> list[Conflict]:
    """E7630/E7631, else the default combo where none was named."""
    ctx = run.ctx
    strict, default = ctx.options.strict, ctx.index.default_coc() or ""
    shown = str(e.raw.get("value"))
    if not e.coc_id:
        if "requireCategoryOptionCombo" in strict:
            return [conflict(ctx, "E7630", [], [], e, "categoryOptionCombo", (shown, []))]
        e.coc = default
    if not e.aoc_id:
        if "requireAttributeOptionCombo" in strict:
            return [conflict(ctx, "E7631", [], [], e, "attributeOptionCombo", (shown, []))]
        e.aoc = default
    return []


def strict_checks(run: Run, e: Entry) -> list[Conflict]:
    """E7632–E7636."""
    ctx = run.ctx
    strict, index = ctx.options.strict, ctx.index
    if not strict:
        return []
    data_sets = index.data_sets_of_element(e.de)
    period_types = {index.objects["dataSets"][ds].get("periodType") for ds in data_sets}
    if "strictPeriods" in strict and e.when.type not in period_types:
        objects = [("period", e.pe_id), ("dataElement", e.de_id)]
        return [conflict(ctx, "E7632", objects, [e.pe_id, e.de_id], e, "period")]
    named = run.data_set
    if "strictDataElements" in strict and named and e.de not in index.data_set_elements(named):
        objects = [("dataElement", e.de_id), ("dataSet", named)]
        return [conflict(ctx, "E7633", objects, [e.de_id, named], e, "dataElement")]
    if "strictCategoryOptionCombos" in strict:
        combo = (index.objects["dataElements"][e.de].get("categoryCombo") or {}).get("id")
        if e.coc not in index.combo_cocs(combo):
            shown = e.coc_id or e.coc
            objects = [("categoryOptionCombo", shown), ("dataElement", e.de_id)]
            return [conflict(ctx, "E7634", objects, [shown, e.de_id], e, "categoryOptionCombo")]
    if "strictAttributeOptionCombos" in strict:
        allowed: set[str] = set()
        for ds in data_sets:
            combo = (index.objects["dataSets"][ds].get("categoryCombo") or {}).get("id")
            allowed |= index.combo_cocs(combo) or {index.default_coc() or ""}
        if e.aoc not in allowed:
            shown = e.aoc_id or e.aoc
            objects = [("categoryOptionCombo", shown), ("dataElement", e.de_id)]
            return [conflict(ctx, "E7635", objects, [shown, e.de_id], e, "attributeOptionCombo")]
    assigned = any(e.ou in index.data_set_units(ds) for ds in data_sets)
    if "strictOrganisationUnits" in strict and not assigned:
        objects = [("organisationUnit", e.ou_id), ("dataElement", e.de_id)]
        return [conflict(ctx, "E7636", objects, [e.ou_id, e.de_id], e, "orgUnit")]
    return []
