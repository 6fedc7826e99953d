"""Which stores and items a run covers: item filters and store → org unit mappings (DESIGN §3)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.runtime.plan import ItemFilter
from dhispatch.runtime.plan import OrgUnitRule
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources.model import Item
from dhispatch.runtime.sources.model import Scope
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import Store

if TYPE_CHECKING:
    from dhispatch.runtime.sources.connection import Source

USER_FIELDS = tuple(f"user_field_{n}" for n in range(1, 8))


def build_scope(source: Source, rules: ScopeRules) -> Scope:
    items = [i for i in load_items(source) if _item_selected(source, i, rules.items)]
    mapping = _org_unit_mapper(rules.org_unit)
    stores = [Store(s.id, s.code, s.name, mapping(s), s.opened_on) for s in load_stores(source)]
    return Scope(
        stores=tuple(sorted(stores, key=lambda s: (s.code, s.id))),
        items=tuple(sorted((i.item for i in items), key=lambda i: (i.code, i.id))),
    )


class _LoadedItem:
    __slots__ = ("item", "legacy")

    def __init__(self, item: Item, legacy: Mapping[str, Any]) -> None:
        self.item = item
        self.legacy = legacy


def load_items(source: Source) -> list[_LoadedItem]:
    """Stock items (active, or inactive but still holding stock) with their legacy fields."""
    cols = source.columns("item")
    universal = ", universal_code" if "universal_code" in cols else ", NULL"
    legacy = ", legacy_record" if "legacy_record" in cols else ", NULL"
    where = ["1 = 1"]
    if "type" in cols:
        where.append("type = 'STOCK'")
    if "is_active" in cols:
        # Soft-deleted items still count while a store holds stock of them (reference §7.1).
        where.append(
            "(is_active OR id IN (SELECT k.item_id FROM stock_line s JOIN item_link k "
            "ON k.id = s.item_link_id WHERE s.total_number_of_packs > 0))"
            if source.dialect == "postgresql"
            else "(is_active <> 0 OR id IN (SELECT k.item_id FROM stock_line s JOIN item_link k "
            "ON k.id = s.item_link_id WHERE s.total_number_of_packs > 0))"
        )
    sql = f"SELECT id, code, name{universal}{legacy} FROM item WHERE {' AND '.join(where)}"
    out: list[_LoadedItem] = []
    for row in source.rows(sql):
        record = _json_object(row[4])
        universal_code = _text(row[3]) or _text(record.get("universalcodes_code"))
        fields = {f: v for f in USER_FIELDS if (v := _text(record.get(f)))}
        item = Item(str(row[0]), str(row[1] or ""), str(row[2] or ""), universal_code, fields)
        out.append(_LoadedItem(item, record))
    return out


class _LoadedStore:
    __slots__ = ("id", "code", "name", "name_code", "custom", "opened_on")

    def __init__(self, row: Any) -> None:
        self.id = str(row[0])
        self.code = str(row[1] or "")
        self.name = str(row[2] or "")
        self.name_code = _text(row[3])
        self.custom = _json_object(row[4])
        self.opened_on = _as_date(row[5])


def load_stores(source: Source) -> list[_LoadedStore]:
    """Stores with their name record; disabled stores only while they still hold stock."""
    cols = source.columns("store")
    created = "s.created_date" if "created_date" in cols else "NULL"
    custom = "n.custom_data" if "custom_data" in source.columns("name") else "NULL"
    where = "1 = 1"
    if "is_disabled" in cols:
        truth = "s.is_disabled" if source.dialect == "postgresql" else "s.is_disabled <> 0"
        where = (
            f"(s.is_disabled IS NULL OR NOT ({truth}) OR s.id IN "
            "(SELECT store_id FROM stock_line WHERE total_number_of_packs > 0))"
        )
    sql = (
        f"SELECT s.id, s.code, n.name, n.code, {custom}, {created} FROM store s "
        "LEFT JOIN name_link nl ON nl.id = s.name_link_id LEFT JOIN name n ON n.id = nl.name_id "
        f"WHERE {where}"
    )
    return [_LoadedStore(row) for row in source.rows(sql)]


def _item_selected(source: Source, loaded: _LoadedItem, filters: Sequence[ItemFilter]) -> bool:
    for f in filters:
        kind = f.kind
        if kind == "field_set":
            field = f.field
            if field == "code":
                ok = bool(loaded.item.code)
            elif field == "universal_code":
                ok = loaded.item.universal_code is not None
            else:
                ok = field in loaded.item.fields
        elif kind == "custom_flag":
            ok = _truthy(loaded.legacy.get(f.field or ""))
        elif kind == "master_list":
            ok = loaded.item.id in _master_list_items(source, f.name or "")
        else:
            raise SourceError(f"unknown item filter {kind!r}")
        if not ok:
            return False
    return True


def _master_list_items(source: Source, name: str) -> frozenset[str]:
    cache: dict[str, frozenset[str]] = source.__dict__.setdefault("_master_lists", {})
    if name not in cache:
        for table in ("master_list", "master_list_line"):
            if not source.columns(table):
                raise SourceError(
                    f"{source.label} has no {table} table: cannot select items in master list "
                    f"{name!r}"
                )
        rows = source.rows(
            "SELECT k.item_id, m.id FROM master_list m "
            "LEFT JOIN master_list_line l ON l.master_list_id = m.id "
            "LEFT JOIN item_link k ON k.id = l.item_link_id WHERE m.name = :name",
            {"name": name},
        )
        if not rows:
            raise SourceError(f"{source.label} has no master list named {name!r}")
        cache[name] = frozenset(str(r[0]) for r in rows if r[0] is not None)
    return cache[name]


def _org_unit_mapper(rule: OrgUnitRule) -> Any:
    kind = rule.kind
    if kind == "store_code":
        return lambda s: s.code or None
    if kind == "name_code":
        return lambda s: s.name_code
    if kind == "name_custom_data":
        key = rule.key or ""
        return lambda s: _text(s.custom.get(key))
    if kind == "mapping_file":
        table = _read_mapping(Path(rule.path or ""))
        return lambda s: table.get(s.code)
    raise SourceError(f"unknown org unit mapping {kind!r}")


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


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y")
    return bool(value)


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
