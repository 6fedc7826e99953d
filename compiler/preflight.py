"""Preflight: the spec's metadata checks (DESIGN §4) of a plan against a DHIS2 metadata export.

Input is the typed plan (the plan contract's ``Plan``), a metadata export dict (a file, or fetched
live by the client in the same shape), and optionally what only the stock database knows (which
data element each in-scope item resolves to, which org unit each store maps to). Output is a list
of Diagnostics pointing at the spec positions the plan carries in its origins. An indicator's kind
(snapshot, whole, signed, zero significant) comes from the plan contract's catalogue.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeGuard

from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Severity
from dhispatch.dsl.diagnostics import Span
from dhispatch.errors import DhispatchError
from dhispatch.runtime.plan import INDICATORS
from dhispatch.runtime.plan import IdSchemes
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Step
from dhispatch.runtime.plan import Target

NUMERIC_TYPES = frozenset(
    {"NUMBER", "INTEGER", "INTEGER_POSITIVE", "INTEGER_NEGATIVE", "INTEGER_ZERO_OR_POSITIVE",
     "PERCENTAGE", "UNIT_INTERVAL"}
)  # fmt: skip
INTEGER_TYPES = frozenset(
    {"INTEGER", "INTEGER_POSITIVE", "INTEGER_NEGATIVE", "INTEGER_ZERO_OR_POSITIVE"}
)
NON_NEGATIVE_TYPES = frozenset({"INTEGER_POSITIVE", "INTEGER_ZERO_OR_POSITIVE", "UNIT_INTERVAL",
                                "PERCENTAGE"})  # fmt: skip


class PreflightInputError(DhispatchError):
    """The metadata export cannot be read as one (wrong shape)."""


@dataclass(frozen=True, slots=True)
class ResolvedScope:
    """What only the stock database knows: per step, (item label, data element) pairs; and
    (store label, org unit) pairs, both as the plan's id schemes name them."""

    elements: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    org_units: Sequence[tuple[str, str]] = ()


class _Metadata:
    """Objects of an export by collection and id, with code lookups and combo membership."""

    COLLECTIONS = (
        "dataSets", "dataElements", "categoryCombos", "categoryOptionCombos", "organisationUnits",
    )  # fmt: skip

    def __init__(self, export: Any) -> None:
        if not isinstance(export, Mapping):
            raise PreflightInputError("a metadata export is a JSON object of collections")
        self.objects: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.codes: dict[str, dict[str, str]] = {}
        for name in self.COLLECTIONS:
            items = export.get(name, [])
            if not isinstance(items, list):
                raise PreflightInputError(f"the metadata export's {name!r} is not a list")
            objs = {
                o["id"]: o for o in items if isinstance(o, Mapping) and isinstance(o.get("id"), str)
            }
            self.objects[name] = objs
            self.codes[name] = {
                o["code"]: i for i, o in objs.items() if isinstance(o.get("code"), str)
            }
        self._cocs: dict[str, set[str]] = {}
        for cc_id, cc in self.objects["categoryCombos"].items():
            self._cocs[cc_id] = {
                r["id"] for r in cc.get("categoryOptionCombos") or () if _is_ref(r)
            }
        for coc_id, coc in self.objects["categoryOptionCombos"].items():
            ref = coc.get("categoryCombo")
            if _is_ref(ref):
                self._cocs.setdefault(ref["id"], set()).add(coc_id)

    def find(self, collection: str, ident: str, scheme: str) -> Mapping[str, Any] | None:
        objs = self.objects[collection]
        if scheme == "CODE":
            uid = self.codes[collection].get(ident)
            return objs.get(uid) if uid else None
        return objs.get(ident)

    def label(self, collection: str, uid: str) -> str:
        obj = self.objects[collection].get(uid) or {}
        name = obj.get("name") or obj.get("code")
        return f"{uid} '{name}'" if name and name != uid else uid

    def combo_cocs(self, combo_id: str | None) -> set[str]:
        return self._cocs.get(combo_id or "", set())

    def near(self, collection: str, ident: str, scheme: str) -> str | None:
        pool = list(self.codes[collection] if scheme == "CODE" else self.objects[collection])
        close = difflib.get_close_matches(ident, pool, n=1, cutoff=0.9)
        return f"did you mean {close[0]!r}?" if close else None


def _is_ref(obj: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(obj, Mapping) and isinstance(obj.get("id"), str)


class Findings:
    """Diagnostics being collected; findings about many objects at one spec position and of one
    kind become one diagnostic listing them (40 items missing is one finding, not 40 lines)."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str, str, str, Severity, str | None], list[str]] = {}

    def add(
        self, code: str, message: str, origin: str, severity: Severity = "error",
        hint: str | None = None,
    ) -> None:  # fmt: skip
        self.groups.setdefault((code, origin, message, "", severity, hint), [])

    def about(
        self, subject: str, noun: str, code: str, template: str, origin: str,
        severity: Severity = "error", hint: str | None = None,
    ) -> None:  # fmt: skip
        """A finding about ``subject`` (a ``noun``); ``template``'s ``{what}`` names them all."""
        subjects = self.groups.setdefault((code, origin, template, noun, severity, hint), [])
        if subject not in subjects:
            subjects.append(subject)

    def diagnostics(self) -> list[Diagnostic]:
        out = []
        for (code, origin, template, noun, severity, hint), subjects in self.groups.items():
            message = template.format(what=_listing(noun, subjects)) if noun else template
            out.append(Diagnostic(code, message, Span.parse_origin(origin), severity, hint))
        return sorted(out, key=Diagnostic.sort_key)


def _listing(noun: str, subjects: Sequence[str], limit: int = 5) -> str:
    if len(subjects) == 1:
        return f"{noun} {subjects[0]}"
    shown = ", ".join(subjects[:limit])
    more = f" and {len(subjects) - limit} more" if len(subjects) > limit else ""
    return f"{len(subjects)} {noun}s ({shown}{more})"


def preflight(plan: Plan, export: Any, scope: ResolvedScope | None = None) -> list[Diagnostic]:
    """Every metadata problem of ``plan`` against ``export`` (errors and warnings), sorted."""
    meta = _Metadata(export)
    found = Findings()
    target = plan.target
    schemes = target.id_schemes
    ds_uid = target.data_set
    ds = meta.objects["dataSets"].get(ds_uid)
    if ds is None:
        found.add(
            "E901",
            f"data set {ds_uid} does not exist in the DHIS2 metadata",
            target.origin_of("data_set"),
            hint=meta.near("dataSets", ds_uid, "UID"),
        )
        return found.diagnostics()
    ds_label = meta.label("dataSets", ds_uid)
    period_type = ds.get("periodType")
    if period_type != target.period_type:
        found.add(
            "E902",
            f"data set {ds_label} has period type {period_type}, but the spec's period is "
            f"{target.period_type}",
            target.origin_of("period_format", "period_type", "period"),
            hint=f"use the period of type {period_type} (DHIS2 refuses other period types)",
        )
    members: dict[str, str | None] = {}
    for dse in ds.get("dataSetElements") or ():
        if isinstance(dse, Mapping) and _is_ref(dse.get("dataElement")):
            override = dse.get("categoryCombo")
            members[dse["dataElement"]["id"]] = override["id"] if _is_ref(override) else None
    open_future = int(ds.get("openFuturePeriods") or 0)
    for step in plan.active_steps:
        if step.basis == "current_day" and open_future < 1:
            found.add(
                "E911",
                f"'{step.indicator}' fills the running period, but data set {ds_label} has "
                f"openFuturePeriods {open_future}, so DHIS2 refuses it (E7641/E8030)",
                step.origin_of("basis"),
                hint="set openFuturePeriods to 1 or more on the data set, or push previous periods",
            )
        _check_step(step, meta, members, target, schemes, scope, found)
    if scope is not None:
        _check_org_units(plan, ds, ds_label, meta, schemes.org_unit, scope, found)
    return found.diagnostics()


def _step_elements(step: Step, scope: ResolvedScope | None) -> list[tuple[str | None, str]]:
    rule = step.data_element
    if rule.kind == "fixed" and rule.id is not None:
        return [(None, rule.id)]
    if scope is None:
        return []
    return [(label, ident) for label, ident in scope.elements.get(step.id, ())]


def _check_step(
    step: Step,
    meta: _Metadata,
    members: Mapping[str, str | None],
    target: Target,
    schemes: IdSchemes,
    scope: ResolvedScope | None,
    found: Findings,
) -> None:
    de_origin = step.origin_of("data_element", "custom_field", "item_ref")
    coc_origin = step.origin_of("category_option_combo", "category_option")
    coc_ident = step.category_option_combo
    coc = None
    if coc_ident is not None:
        coc = meta.find("categoryOptionCombos", coc_ident, schemes.category_option_combo)
        if coc is None:
            found.add(
                "E905",
                f"category option combo {coc_ident} does not exist in the DHIS2 metadata",
                coc_origin,
                hint=meta.near("categoryOptionCombos", coc_ident, schemes.category_option_combo),
            )
    elements = _step_elements(step, scope)
    if coc is not None and not elements:
        # The elements are only known with the stock database: the combo must at least fit one
        # of the data set's elements.
        combos = {override or _combo_of(meta, de_uid) for de_uid, override in members.items()}
        if not any(coc["id"] in meta.combo_cocs(c) for c in combos):
            found.add(
                "E906",
                f"category option combo {meta.label('categoryOptionCombos', coc['id'])} belongs "
                f"to no category combo of the data set's data elements",
                coc_origin,
            )
    for item, ident in elements:
        who = f" of item {item}" if item else ""
        de = meta.find("dataElements", ident, schemes.data_element)
        if de is None:
            hint = meta.near("dataElements", ident, schemes.data_element) if not item else None
            found.about(f"{ident}{who}", "data element", "E903",
                        "{what} not found in the DHIS2 metadata", de_origin, hint=hint)  # fmt: skip
            continue
        de_uid = str(de["id"])
        de_label = meta.label("dataElements", de_uid)
        if de_uid not in members:
            found.about(f"{de_label}{who}", "data element", "E904",
                        f"{{what}} not in data set {target.data_set}", de_origin)  # fmt: skip
        combo = members.get(de_uid) or _combo_of(meta, de_uid)
        if coc is not None and coc["id"] not in meta.combo_cocs(combo):
            coc_label = meta.label("categoryOptionCombos", coc["id"])
            found.about(
                de_label, "data element", "E906",
                f"category option combo {coc_label} is not in the category combo {combo} of "
                "{what}",
                coc_origin,
                hint="use an option combo of the data element's category combo",
            )  # fmt: skip
        if coc_ident is None and combo is not None and not _is_default_combo(meta, combo):
            found.about(
                de_label, "data element", "E906",
                f"the push sends the default category option combo, but category combo {combo} "
                "disaggregates {what}",
                step.origin,
                hint="name a category_option for this push",
            )  # fmt: skip
        _check_value_type(step, de, de_label, target, found)


def _combo_of(meta: _Metadata, de_uid: str) -> str | None:
    ref = (meta.objects["dataElements"].get(de_uid) or {}).get("categoryCombo")
    return str(ref["id"]) if _is_ref(ref) else None


def _is_default_combo(meta: _Metadata, combo: str) -> bool:
    cc = meta.objects["categoryCombos"].get(combo) or {}
    if cc.get("name") == "default" or cc.get("code") == "default":
        return True
    cocs = meta.combo_cocs(combo)
    return len(cocs) == 1 and all(
        (meta.objects["categoryOptionCombos"].get(c) or {}).get("name") == "default" for c in cocs
    )


def _check_value_type(
    step: Step,
    de: Mapping[str, Any],
    de_label: str,
    target: Target,
    found: Findings,
) -> None:
    indicator = step.indicator
    kind = INDICATORS[indicator]
    value_type = str(de.get("valueType") or "NUMBER")
    origin = step.origin
    noun = "data element"
    if value_type not in NUMERIC_TYPES:
        found.about(de_label, noun, "E909",
                    f"'{indicator}' is a number, but goes into {{what}} of value type {value_type}",
                    origin)  # fmt: skip
        return
    if value_type in INTEGER_TYPES and target.rounding != 0 and not kind.whole:
        found.about(de_label, noun, "E909",
                    f"'{indicator}' is not rounded to whole numbers, but goes into {{what}} of "
                    f"value type {value_type}",
                    origin, hint="add `round` to the dhis2 block")  # fmt: skip
    if value_type in NON_NEGATIVE_TYPES and kind.signed:
        found.about(de_label, noun, "E910",
                    f"'{indicator}' can be negative, but goes into {{what}} of value type "
                    f"{value_type}",
                    origin, hint="use a NUMBER or INTEGER data element")  # fmt: skip
    if kind.zero_significant and de.get("zeroIsSignificant") is False:
        found.about(de_label, noun, "W912",
                    f"DHIS2 drops the zeros (stock-outs) of '{indicator}': zeroIsSignificant is "
                    "false on {what}",
                    origin, severity="warning",
                    hint="set zeroIsSignificant to true on the data element")  # fmt: skip
    if kind.snapshot and de.get("aggregationType") == "SUM":
        found.about(de_label, noun, "W913",
                    f"'{indicator}' is a snapshot, but {{what}} aggregates by SUM (totals over "
                    "periods are meaningless)",
                    origin, severity="warning",
                    hint="use aggregation type LAST (or AVERAGE) for stock levels")  # fmt: skip


def _check_org_units(
    plan: Plan,
    ds: Mapping[str, Any],
    ds_label: str,
    meta: _Metadata,
    scheme: str,
    scope: ResolvedScope,
    found: Findings,
) -> None:
    assigned = {r["id"] for r in ds.get("organisationUnits") or () if _is_ref(r)}
    origin = plan.source.origin
    for store, ident in scope.org_units:
        ou = meta.find("organisationUnits", ident, scheme)
        if ou is None:
            found.about(f"{ident} of store {store}", "org unit", "E907",
                        "{what} not found in the DHIS2 metadata", origin)  # fmt: skip
        elif ou["id"] not in assigned:
            label = meta.label("organisationUnits", ou["id"])
            found.about(f"{label} of store {store}", "org unit", "E908",
                        f"{{what}} not assigned to data set {ds_label}", origin,
                        hint="assign the org units to the data set in DHIS2")  # fmt: skip


def errors_in(diagnostics: Iterable[Diagnostic]) -> int:
    return sum(1 for d in diagnostics if d.severity == "error")
