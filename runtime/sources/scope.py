"""Which stores and items a run covers: item filters, store → org unit mappings, store ranges.

A store's org unit comes from ``store.code``, its name's code, a key of the name's values
(``custom:KEY``: open mSupply's name properties first, then the ``custom_data`` that names
synced from legacy mSupply carry) or a CSV mapping; a store without one keeps a note saying why.
A store's range is open mSupply's ``is_visible``: the items on a master list joined to the
store's name (``master_list_line`` + ``master_list_name_join``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from dhispatch.runtime.plan import ItemFilter
from dhispatch.runtime.plan import OrgUnitRule
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.plan.catalogue import FIELD_TYPES
from dhispatch.runtime.sources.connection import Database
from dhispatch.runtime.sources.item_fields import as_boolean
from dhispatch.runtime.sources.item_fields import as_text
from dhispatch.runtime.sources.item_fields import field_test
from dhispatch.runtime.sources.model import Item
from dhispatch.runtime.sources.model import Scope
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import Store

TEXT_FIELDS = tuple(f for f, kind in FIELD_TYPES.items() if kind == "text" and f[0] == "u")


def build_scope(db: Database, rules: ScopeRules) -> Scope:
    tests = [_item_test(db, f) for f in rules.items]
    items = [i.item for i in load_items(db) if all(test(i) for test in tests)]
    loaded = load_stores(db)
    mapping = _org_unit_mapper(db, rules.org_unit)
    stores = []
    for s in loaded:
        org_unit, note = mapping(s)
        stores.append(Store(s.id, s.code, s.name, org_unit, s.opened_on, note))
    return Scope(
        stores=tuple(sorted(stores, key=lambda s: (s.code, s.id))),
        items=tuple(sorted(items, key=lambda i: (i.code, i.id))),
        ranges=store_ranges(db, loaded),
    )


@dataclass(frozen=True, slots=True)
class LoadedItem:
    """An item with its legacy record (the custom fields filters test)."""

    item: Item
    legacy: Mapping[str, Any]

    def raw(self, field: str) -> Any:
        if field == "code":
            return self.item.code
        if field == "universal_code":
            return self.item.universal_code
        return self.legacy.get(field)


def load_items(db: Database) -> list[LoadedItem]:
    """Stock items (active, or inactive but still holding stock) with their legacy fields."""
    universal = ", universal_code" if db.caps.universal_code else ", NULL"
    # Soft-deleted items still count while a store holds stock of them (reference §7.1).
    sql = (
        f"SELECT id, code, name{universal}, legacy_record FROM item WHERE type = 'STOCK' AND "
        f"({db.truth('is_active')} OR id IN (SELECT k.item_id FROM stock_line s JOIN item_link k "
        "ON k.id = s.item_link_id WHERE s.total_number_of_packs > 0))"
    )
    out: list[LoadedItem] = []
    for row in db.rows(sql):
        record = _json_object(row[4])
        universal_code = as_text(row[3]) or as_text(record.get("universalcodes_code"))
        fields = {f: v for f in TEXT_FIELDS if (v := as_text(record.get(f)))}
        item = Item(str(row[0]), str(row[1] or ""), str(row[2] or ""), universal_code, fields)
        out.append(LoadedItem(item, record))
    return out


@dataclass(frozen=True, slots=True)
class LoadedStore:
    """A store with its name record's code, properties and legacy custom data."""

    id: str
    code: str
    name: str
    name_id: str | None
    name_code: str | None
    properties: Mapping[str, Any]
    custom: Mapping[str, Any]
    opened_on: date | None


def load_stores(db: Database) -> list[LoadedStore]:
    """Stores with their name record; disabled stores only while they still hold stock."""
    caps = db.caps
    properties = "n.properties" if caps.name_properties else "NULL"
    where = "1 = 1"
    if caps.store_disabled:
        where = (
            f"(s.is_disabled IS NULL OR NOT {db.truth('s.is_disabled')} OR s.id IN "
            "(SELECT store_id FROM stock_line WHERE total_number_of_packs > 0))"
        )
    sql = (
        f"SELECT s.id, s.code, n.name, n.id, n.code, {properties}, n.custom_data, s.created_date "
        f"FROM store s {caps.store_name_join} WHERE {where}"
    )
    return [
        LoadedStore(
            str(r[0]),
            str(r[1] or ""),
            str(r[2] or ""),
            None if r[3] is None else str(r[3]),
            as_text(r[4]),
            _json_object(r[5]),
            _json_object(r[6]),
            _as_date(r[7]),
        )
        for r in db.rows(sql)
    ]


def store_ranges(db: Database, stores: list[LoadedStore]) -> dict[str, frozenset[str]]:
    """Each store's range; stores joined to the same master lists share one set."""
    lists_of: dict[str, set[str]] = {}
    for list_id, name_id in db.rows(
        "SELECT j.master_list_id, nl.name_id FROM master_list_name_join j "
        "JOIN name_link nl ON nl.id = j.name_link_id"
    ):
        lists_of.setdefault(str(name_id), set()).add(str(list_id))
    items_of: dict[str, set[str]] = {}
    for list_id, item_id in db.rows(
        "SELECT l.master_list_id, k.item_id FROM master_list_line l "
        "JOIN item_link k ON k.id = l.item_link_id"
    ):
        items_of.setdefault(str(list_id), set()).add(str(item_id))
    shared: dict[frozenset[str], frozenset[str]] = {}
    out: dict[str, frozenset[str]] = {}
    for store in stores:
        lists = frozenset(lists_of.get(store.name_id or "", ()))
        if lists not in shared:
            shared[lists] = frozenset(i for m in lists for i in items_of.get(m, ()))
        out[store.id] = shared[lists]
    return out


def _item_test(db: Database, rule: ItemFilter) -> Callable[[LoadedItem], bool]:
    kind, field = rule.kind, rule.field or ""
    if kind == "field_set":
        test = field_test(field, "is set", None)
        return lambda i: test(i.raw(field))
    if kind == "field_compare":
        compare = field_test(field, rule.op or "", rule.value)
        return lambda i: compare(i.raw(field))
    if kind == "custom_flag":
        return lambda i: as_boolean(i.raw(field)) is True
    if kind == "master_list":
        members = _master_list_items(db, rule.name or "")
        return lambda i: i.item.id in members
    raise SourceError(f"unknown item filter {kind!r}")


def _master_list_items(db: Database, name: str) -> frozenset[str]:
    rows = db.rows(
        "SELECT k.item_id, m.id FROM master_list m "
        "LEFT JOIN master_list_line l ON l.master_list_id = m.id "
        "LEFT JOIN item_link k ON k.id = l.item_link_id WHERE m.name = :name",
        {"name": name},
    )
    if not rows:
        raise SourceError(f"{db.label} has no master list named {name!r}")
    return frozenset(str(r[0]) for r in rows if r[0] is not None)


Mapper = Callable[[LoadedStore], tuple[str | None, str | None]]


def _org_unit_mapper(db: Database, rule: OrgUnitRule) -> Mapper:
    """(org unit, why there is none) for a store, by the plan's org unit rule."""
    kind = rule.kind
    if kind == "store_code":
        return lambda s: (s.code, None) if s.code else (None, "the store has no code")
    if kind == "name_code":
        return lambda s: (s.name_code, None) if s.name_code else (None, "its name has no code")
    if kind == "name_custom_data":
        return _custom_value(db, rule.key or "")
    if kind == "mapping_file":
        path = rule.path or ""
        table = _read_mapping(Path(path))
        return lambda s: (
            (table[s.code], None) if s.code in table else (None, f"not in mapping file {path}")
        )
    raise SourceError(f"unknown org unit mapping {kind!r}")


def _custom_value(db: Database, key: str) -> Mapper:
    """``custom:KEY``: the name's property KEY, else its legacy custom data KEY."""
    declared = key in name_property_keys(db)
    where = "properties or custom data" if db.caps.name_properties else "custom data"
    absent = f"no {key!r} in its name's {where}"
    if db.caps.name_properties and not declared:
        absent += f" ({key!r} is not a name property of this database)"

    def lookup(store: LoadedStore) -> tuple[str | None, str | None]:
        for origin, values in (("property", store.properties), ("custom data", store.custom)):
            raw = values.get(key)
            if isinstance(raw, int) and not isinstance(raw, bool):
                return str(raw), None
            if (text := as_text(raw)) is not None:
                return text, None
            if raw is not None and raw != "" and not isinstance(raw, str):
                return None, f"its name's {origin} {key!r} is {json.dumps(raw)}, not a code"
        return None, absent

    return lookup


def name_property_keys(db: Database) -> frozenset[str]:
    """Keys of the properties open mSupply lets names carry (empty before 2.1.0)."""
    if not (db.caps.has("property", "key") and db.caps.has("name_property", "property_id")):
        return frozenset()
    return frozenset(
        str(r[0])
        for r in db.rows(
            "SELECT p.key FROM name_property np JOIN property p ON p.id = np.property_id"
        )
    )


def _read_mapping(path: Path) -> dict[str, str]:
    """A CSV with a header naming ``store_code`` (or ``store``) and ``org_unit`` columns."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            store_col = next((h for h in header if h in ("store_code", "store")), None)
            ou_col = next((h for h in header if h in ("org_unit", "orgunit", "org_unit_id")), None)
            if store_col is None or ou_col is None:
                raise SourceError(
                    f"{path}: the org unit mapping needs columns store_code and org_unit "
                    f"(found {', '.join(header) or 'none'})"
                )
            table: dict[str, str] = {}
            for line_no, row in enumerate(reader, start=2):
                code = (row.get(store_col) or "").strip()
                unit = (row.get(ou_col) or "").strip()
                if not code:
                    continue
                if code in table and table[code] != unit:
                    raise SourceError(f"{path}:{line_no}: store {code} is mapped twice")
                if unit:
                    table[code] = unit
            return table
    except OSError as exc:
        raise SourceError(f"cannot read org unit mapping {path}: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not a readable CSV file: {exc}") from None


def _json_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}  # a malformed legacy record must not stop a whole country's push
    return value if isinstance(value, dict) else {}


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
