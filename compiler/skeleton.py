"""A spec skeleton from a DHIS2 data set (``dhispatch init``): target, data set, period format from
its period type, a push per data element — elements that differ only by item share one push, as
mSupply's setups need — with the indicator guessed from names and codes where that is clear (a
paused push and a ``# TODO`` where not), option combos named in comments.

The setup follows the data set's shape: elements disaggregated by one category combo become
``category_option_combo`` (a push per option combo); families of default-combo elements (the
same indicator for many items) ``data_element_per_item``; one element per indicator
``single_data_element`` with fixed elements.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dhispatch.compiler.period_formats import canonical_format
from dhispatch.compiler.preflight import INTEGER_TYPES
from dhispatch.dsl.fmt import format_source
from dhispatch.runtime.plan import INDICATORS

# First match wins: the more specific patterns come first (value of stock before stock on hand).
GUESSES: tuple[tuple[str, str], ...] = (
    ("days_out_of_stock", r"days? (?:out of stock|stocked out)|stock ?out days|\bdos\b"),
    ("months_of_stock", r"months? of stock|\bmos\b"),
    ("stocked_out", r"stocked out|\bstock ?outs?\b"),
    ("average_monthly_consumption", r"average monthly consumption|\bamc\b"),
    ("stock_expiring", r"expiring|to expire|near expiry"),
    ("stock_expired", r"\bexpired\b"),
    ("value_of_stock_on_hand", r"\bvalue\b"),
    ("stock_beginning_of_month", r"opening balance|beginning of|start of month"),
    ("stock_end_of_month", r"closing balance|end of month"),
    ("stock_on_hand", r"stock on hand|\bsoh\b|on hand"),
    ("received", r"\breceived\b|\breceipts?\b"),
    ("issued", r"\bissued\b|\bissues\b|\bdispensed\b"),
    ("adjustments", r"\badjust"),
)
FIELDS = ("user_field_1", "user_field_2", "user_field_3", "user_field_6")
PLACEHOLDER = "stock_on_hand"  # the indicator of a paused push whose indicator is not clear
WEEKDAYS = {
    "WeeklyWednesday": "wednesday", "WeeklyThursday": "thursday", "WeeklyFriday": "friday",
    "WeeklySaturday": "saturday", "WeeklySunday": "sunday",
}  # fmt: skip


def guess_indicator(*names: str | None) -> str | None:
    """The indicator a name or code clearly means, else None."""
    text = " ".join(n for n in names if n).lower().replace("_", " ")
    return next((name for name, pattern in GUESSES if re.search(pattern, text)), None)


@dataclass(frozen=True, slots=True)
class Push:
    """One push of the skeleton: its indicator (None: unclear), settings and comment."""

    indicator: str | None
    settings: str
    comment: str


@dataclass(frozen=True)
class _DataSet:
    """What the skeleton reads of an export: the data set, its elements, combos, org units."""

    ds: Mapping[str, Any]
    elements: list[Mapping[str, Any]]
    combo_of: Mapping[str, str | None]  # element uid -> effective category combo
    combos: Mapping[str, Mapping[str, Any]]
    cocs: Mapping[str, Mapping[str, Any]]
    units: list[Mapping[str, Any]]

    def label(self, obj: Mapping[str, Any]) -> str:
        """``uid 'name'`` on one line (a name's line breaks would end the comment early)."""
        name = re.sub(r"\s+", " ", str(obj.get("name") or obj.get("code") or "")).strip()
        return f"{obj['id']} '{name}'" if name else str(obj["id"])

    def is_default(self, combo: str | None) -> bool:
        cc = self.combos.get(combo or "", {})
        return combo is None or cc.get("name") == "default" or cc.get("code") == "default"


def _objects(export: Mapping[str, Any], name: str) -> dict[str, Mapping[str, Any]]:
    items = export.get(name)
    return {o["id"]: o for o in items if isinstance(o, Mapping) and isinstance(o.get("id"), str)} \
        if isinstance(items, list) else {}  # fmt: skip


def _read(export: Mapping[str, Any], ds_uid: str) -> _DataSet:
    ds = _objects(export, "dataSets")[ds_uid]
    elements = _objects(export, "dataElements")
    members, combo_of = [], {}
    for dse in ds.get("dataSetElements") or ():
        ref = dse.get("dataElement") if isinstance(dse, Mapping) else None
        if isinstance(ref, Mapping) and ref.get("id") in elements:
            de = elements[ref["id"]]
            override = dse.get("categoryCombo") or de.get("categoryCombo") or {}
            members.append(de)
            combo_of[de["id"]] = override.get("id")
    units = _objects(export, "organisationUnits")
    assigned = [units.get(r["id"], r) for r in ds.get("organisationUnits") or () if "id" in r]
    return _DataSet(ds, sorted(members, key=lambda d: str(d.get("name") or d["id"])), combo_of,
                    _objects(export, "categoryCombos"), _objects(export, "categoryOptionCombos"),
                    assigned)  # fmt: skip


def skeleton(export: Mapping[str, Any], data_set: str, url: str, auth: str) -> str:
    """The spec text for ``data_set`` of ``export`` (KeyError when the data set is absent);
    ``auth`` is the spec's auth line value."""
    data = _read(export, data_set)
    period_type = str(data.ds.get("periodType") or "Monthly")
    setup, pushes = _setup_and_pushes(data, period_type)
    lines = [*_header(data, url, period_type), *_target(data, url, auth, period_type), ""]
    lines += [*_source(data), "", *setup, ""]
    for p in pushes:
        lines += [f"# {p.comment}", f"push {p.indicator or PLACEHOLDER} {{ {p.settings} }}"]
    return format_source("\n".join(lines) + "\n", "init.push")  # the layout `fmt` keeps


def _header(data: _DataSet, url: str, period_type: str) -> list[str]:
    units = ", ".join(data.label(u) for u in data.units[:3])
    more = f" and {len(data.units) - 3} more" if len(data.units) > 3 else ""
    return [
        f"# {data.label(data.ds)} at {url}: a spec skeleton written by `dhispatch init`.",
        "# Review every TODO (paused pushes wait for an indicator), then run",
        "# `dhispatch check` and `dhispatch preflight --source DB` on this file.",
        f"# Period type {period_type}; {len(data.elements)} data elements; assigned to "
        f"{len(data.units)} org units ({units}{more}).",
        f"spec {_quote(_slug(data.ds))}",
        "",
    ]


def _target(data: _DataSet, url: str, auth: str, period_type: str) -> list[str]:
    codes = bool(data.elements) and all(e.get("code") for e in data.elements)
    unit_codes = bool(data.units) and all(u.get("code") for u in data.units)
    integer = any(str(e.get("valueType")) in INTEGER_TYPES for e in data.elements)
    lines = [
        "dhis2 {",
        f"    url {_quote(url)}",
        f"    auth {auth}",
        f"    data_set {_quote(str(data.ds['id']))}",
        f"    id_scheme {'code' if codes else 'uid'}"
        + ("  # every data element has a code" if codes else ""),
        f"    org_unit_id_scheme {'code' if unit_codes else 'uid'}",
        f"    period_format {_quote(canonical_format(period_type))}",
        '    timezone "UTC"  # TODO: the country\'s time zone (IANA name)',
    ]
    if integer:
        lines.append("    round  # integer data elements take whole numbers")
    return [*lines, "}"]


def _source(data: _DataSet) -> list[str]:
    unit = "store.code" if data.units and all(u.get("code") for u in data.units) else (
        'store.custom("Dhis2Code")'
    )  # fmt: skip
    return [
        "source omsupply {",
        '    database env("OMSUPPLY_DB")  # TODO: a SQLite path or postgresql:// URL',
        f'    org_unit {unit}  # TODO: store.code, name.code, store.custom("KEY") or '
        'mapping "stores.csv"',
        "}",
    ]


def _setup_and_pushes(data: _DataSet, period_type: str) -> tuple[list[str], list[Push]]:
    when = _when(period_type)
    combos = Counter(c for c in data.combo_of.values() if c and not data.is_default(c))
    if combos and combos.most_common(1)[0][1] * 2 >= len(data.elements):
        return _by_option_combo(data, combos.most_common(1)[0][0], when)
    families = _families(data)
    if any(len(members) > 1 for members in families.values()):
        return _per_item(data, families, when)
    return _single(data, families, when)


def _by_option_combo(data: _DataSet, combo: str, when: str) -> tuple[list[str], list[Push]]:
    cc = data.combos.get(combo, {"id": combo})
    members = [e for e in data.elements if data.combo_of.get(e["id"]) == combo]
    setup = [
        "setup category_option_combo {",
        f"    item_ref universal_code  # TODO: the item field holding the element ("
        f"{_some(data, members)})",
        "}",
        "",
        f"# category combo {data.label(cc)} disaggregates {len(members)} of the data elements",
    ]
    refs = [r["id"] for r in cc.get("categoryOptionCombos") or () if isinstance(r, Mapping)]
    refs = refs or [u for u, c in data.cocs.items() if (c.get("categoryCombo") or {}).get("id")
                    == combo]  # fmt: skip
    pushes = []
    for uid in refs:
        coc = data.cocs.get(uid, {"id": uid})
        indicator = guess_indicator(coc.get("name"), coc.get("code"))
        pushes.append(_push(indicator, f'category_option "{uid}" {when}',
                            f"option combo {data.label(coc)}"))  # fmt: skip
    return setup, pushes


def _families(data: _DataSet) -> dict[str, list[Mapping[str, Any]]]:
    """Elements by indicator (or, when unclear, by name without its item part)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for e in data.elements:
        indicator = guess_indicator(e.get("name"), e.get("code"))
        out.setdefault(indicator or f"?{_stem(str(e.get('name') or e['id']))}", []).append(e)
    return out


def _per_item(
    data: _DataSet, families: Mapping[str, Sequence[Mapping[str, Any]]], when: str
) -> tuple[list[str], list[Push]]:
    setup = ["setup data_element_per_item  # each item names its own element per indicator"]
    pushes = []
    for n, (key, members) in enumerate(sorted(families.items(), key=_catalogue_order)):
        indicator = None if key.startswith("?") else key
        note = f"{len(members)} elements ({_some(data, members)})"
        if n >= len(FIELDS):
            setup.append(f"# TODO: no item field left for {note}")
            continue
        pushes.append(_push(indicator, f"custom_field {FIELDS[n]} {when}",
                            f"TODO: {FIELDS[n]} holds each item's element: {note}"))  # fmt: skip
    return setup, pushes


def _single(
    data: _DataSet, families: Mapping[str, Sequence[Mapping[str, Any]]], when: str
) -> tuple[list[str], list[Push]]:
    setup = [
        "# one data element per indicator: each push below names its element, which takes every",
        "# item's value: TODO scope the items (source items where …) to the one item it reports",
        "setup single_data_element {",
        "    item_ref universal_code  # for pushes that name no data_element",
        "}",
    ]
    pushes = []
    for key, (element, *_) in sorted(families.items(), key=_catalogue_order):
        ident = element.get("code") or element["id"]
        settings = f'data_element "{ident}" {when}'
        indicator = None if key.startswith("?") else key
        pushes.append(_push(indicator, settings, f"element {data.label(element)}"))
    return setup, pushes


def _catalogue_order(family: tuple[str, Sequence[Mapping[str, Any]]]) -> tuple[int, str]:
    """Guessed indicators in the catalogue's order, then the unclear families by name."""
    order = list(INDICATORS)
    key = family[0]
    return (order.index(key), key) if key in INDICATORS else (len(order), key)


def _push(indicator: str | None, settings: str, comment: str) -> Push:
    if indicator is None:
        return Push(None, f"{settings} paused", f"TODO: which indicator? {comment}")
    return Push(indicator, settings, comment)


def _when(period_type: str) -> str:
    if period_type == "Monthly":
        return "interval monthly basis previous_month"
    if period_type == "Daily":
        return "interval daily basis previous_period"
    if period_type.startswith("Weekly") or period_type == "BiWeekly":
        return f"interval weekly on {WEEKDAYS.get(period_type, 'monday')} basis previous_period"
    return "interval monthly basis previous_period"


def _some(data: _DataSet, members: Sequence[Mapping[str, Any]]) -> str:
    shown = ", ".join(data.label(e) for e in members[:2])
    return shown + (f" and {len(members) - 2} more" if len(members) > 2 else "")


def _stem(name: str) -> str:
    """A name without its item part: the last word when it has a digit."""
    words = name.split()
    return " ".join(words[:-1]) if len(words) > 1 and re.search(r"\d", words[-1]) else name


def _slug(ds: Mapping[str, Any]) -> str:
    text = str(ds.get("code") or ds.get("name") or ds["id"]).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or str(ds["id"])


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
