"""The open mSupply tables the adapter reads, as DDL for SQLite and PostgreSQL, plus bulk loading.

Used by the demo generator and the tests (never by the adapter, which is read-only). Column names,
types and enumerations follow open mSupply's own schema (reference/source-model.md §1): TEXT
enumerations and dates on SQLite, native ENUM types, ``date`` and ``timestamp`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from typing import Any

ENUMS: dict[str, tuple[str, ...]] = {
    "item_type": ("STOCK", "SERVICE", "NON_STOCK"),
    "invoice_type": (
        "OUTBOUND_SHIPMENT",
        "INBOUND_SHIPMENT",
        "PRESCRIPTION",
        "INVENTORY_ADDITION",
        "INVENTORY_REDUCTION",
        "REPACK",
        "SUPPLIER_RETURN",
        "CUSTOMER_RETURN",
    ),
    "invoice_status": (
        "NEW",
        "ALLOCATED",
        "PICKED",
        "SHIPPED",
        "DELIVERED",
        "RECEIVED",
        "VERIFIED",
        "CANCELLED",
    ),
    "invoice_line_type": ("STOCK_IN", "STOCK_OUT", "UNALLOCATED_STOCK", "SERVICE"),
    "name_type": ("FACILITY", "PATIENT", "BUILD", "INVAD", "REPACK", "STORE", "OTHERS"),
    "store_mode": ("STORE", "DISPENSARY"),
}

# table -> ((column, kind), ...); kind: id | text | real | int | bool | date | ts | enum:<type>
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "unit": (
        ("id", "id"),
        ("name", "text"),
        ("description", "text"),
        ("index", "int"),
        ("is_active", "bool"),
    ),
    "item": (
        ("id", "id"),
        ("name", "text"),
        ("code", "text"),
        ("unit_id", "text"),
        ("strength", "text"),
        ("ven_category", "text"),
        ("default_pack_size", "real"),
        ("type", "enum:item_type"),
        ("legacy_record", "text"),
        ("is_active", "bool"),
        ("is_vaccine", "bool"),
        ("vaccine_doses", "int"),
        ("volume_per_pack", "real"),
        ("universal_code", "text"),
    ),
    "item_link": (("id", "id"), ("item_id", "text")),
    "name": (
        ("id", "id"),
        ("name", "text"),
        ("code", "text"),
        ("type", "enum:name_type"),
        ("is_customer", "bool"),
        ("is_supplier", "bool"),
        ("supplying_store_id", "text"),
        ("custom_data", "text"),
        ("properties", "text"),
        ("deleted_datetime", "ts"),
    ),
    "name_link": (("id", "id"), ("name_id", "text")),
    "store": (
        ("id", "id"),
        ("code", "text"),
        ("site_id", "int"),
        ("logo", "text"),
        ("store_mode", "enum:store_mode"),
        ("created_date", "date"),
        ("is_disabled", "bool"),
        ("name_link_id", "text"),
    ),
    "store_preference": (
        ("id", "id"),
        ("type", "text"),
        ("pack_to_one", "bool"),
        ("monthly_consumption_look_back_period", "real"),
        ("months_lead_time", "real"),
        ("months_overstock", "real"),
        ("months_understock", "real"),
        ("months_items_expire", "real"),
        ("stocktake_frequency", "real"),
    ),
    "preference": (("id", "id"), ("key", "text"), ("value", "text"), ("store_id", "text")),
    "stock_line": (
        ("id", "id"),
        ("item_link_id", "text"),
        ("store_id", "text"),
        ("location_id", "text"),
        ("batch", "text"),
        ("pack_size", "real"),
        ("cost_price_per_pack", "real"),
        ("sell_price_per_pack", "real"),
        ("available_number_of_packs", "real"),
        ("total_number_of_packs", "real"),
        ("expiry_date", "date"),
        ("on_hold", "bool"),
        ("note", "text"),
        ("supplier_link_id", "text"),
        ("barcode_id", "text"),
        ("item_variant_id", "text"),
        ("total_volume", "real"),
        ("volume_per_pack", "real"),
    ),
    "invoice": (
        ("id", "id"),
        ("name_link_id", "text"),
        ("name_store_id", "text"),
        ("store_id", "text"),
        ("user_id", "text"),
        ("invoice_number", "int"),
        ("type", "enum:invoice_type"),
        ("status", "enum:invoice_status"),
        ("on_hold", "bool"),
        ("comment", "text"),
        ("their_reference", "text"),
        ("created_datetime", "ts"),
        ("allocated_datetime", "ts"),
        ("picked_datetime", "ts"),
        ("shipped_datetime", "ts"),
        ("delivered_datetime", "ts"),
        ("received_datetime", "ts"),
        ("verified_datetime", "ts"),
        ("cancelled_datetime", "ts"),
        ("requisition_id", "text"),
        ("linked_invoice_id", "text"),
        ("tax_percentage", "real"),
        ("currency_id", "text"),
        ("currency_rate", "real"),
        ("original_shipment_id", "text"),
        ("backdated_datetime", "ts"),
        ("is_cancellation", "bool"),
    ),
    "invoice_line": (
        ("id", "id"),
        ("invoice_id", "text"),
        ("item_link_id", "text"),
        ("item_name", "text"),
        ("item_code", "text"),
        ("stock_line_id", "text"),
        ("location_id", "text"),
        ("batch", "text"),
        ("expiry_date", "date"),
        ("pack_size", "real"),
        ("cost_price_per_pack", "real"),
        ("sell_price_per_pack", "real"),
        ("total_before_tax", "real"),
        ("total_after_tax", "real"),
        ("tax_percentage", "real"),
        ("type", "enum:invoice_line_type"),
        ("number_of_packs", "real"),
        ("prescribed_quantity", "real"),
        ("note", "text"),
        ("reason_option_id", "text"),
    ),
    "master_list": (
        ("id", "id"),
        ("name", "text"),
        ("code", "text"),
        ("description", "text"),
        ("is_active", "bool"),
    ),
    "master_list_line": (("id", "id"), ("item_link_id", "text"), ("master_list_id", "text")),
    "master_list_name_join": (("id", "id"), ("master_list_id", "text"), ("name_link_id", "text")),
    "reason_option": (("id", "id"), ("type", "text"), ("is_active", "bool"), ("reason", "text")),
}

# The indexes open mSupply itself creates on the tables we join (the adapter never creates any).
INDEXES: tuple[tuple[str, str, str], ...] = (
    ("index_invoice_line_invoice_id_fkey", "invoice_line", "invoice_id"),
    ("index_invoice_line_stock_line_id_fkey", "invoice_line", "stock_line_id"),
    ("index_invoice_store_id_fkey", "invoice", "store_id"),
    ("index_stock_line_store_id_fkey", "stock_line", "store_id"),
    ("index_stock_line_item_link_id_fkey", "stock_line", "item_link_id"),
    ("index_item_link_item_id_fkey", "item_link", "item_id"),
    ("index_master_list_line_master_list_id_fkey", "master_list_line", "master_list_id"),
)

_SQLITE = {
    "id": "TEXT NOT NULL PRIMARY KEY",
    "text": "TEXT",
    "real": "REAL",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "date": "TEXT",
    "ts": "TEXT",
}
_POSTGRES = {
    "id": "TEXT NOT NULL PRIMARY KEY",
    "text": "TEXT",
    "real": "DOUBLE PRECISION",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "date": "DATE",
    "ts": "TIMESTAMP WITHOUT TIME ZONE",
}


def ddl(dialect: str, *, omit: Iterable[tuple[str, str]] = ()) -> list[str]:
    """CREATE statements for ``dialect``; ``omit`` drops (table, column) pairs (older schemas)."""
    left_out = set(omit)
    types = _SQLITE if dialect == "sqlite" else _POSTGRES
    statements: list[str] = []
    if dialect == "postgresql":
        for name, values in ENUMS.items():
            labels = ", ".join(f"'{v}'" for v in values)
            statements.append(f"CREATE TYPE {name} AS ENUM ({labels})")
    for table, columns in TABLES.items():
        parts = []
        for column, kind in columns:
            if (table, column) in left_out:
                continue
            sql_type = kind[5:] if kind.startswith("enum:") and dialect != "sqlite" else None
            parts.append(f'"{column}" {sql_type or types.get(kind, "TEXT")}')
        statements.append(f'CREATE TABLE "{table}" ({", ".join(parts)})')
    return statements


def index_ddl() -> list[str]:
    return [f'CREATE INDEX "{name}" ON "{table}" ("{col}")' for name, table, col in INDEXES]


def sqlite_value(value: Any) -> Any:
    """How open mSupply stores a Python value in SQLite (dates and naive UTC timestamps as TEXT)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def insert_rows(
    conn: Any, dialect: str, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Bulk-insert ``rows`` through a raw DB-API connection (sqlite3 or psycopg); returns count."""
    cols = ", ".join(f'"{c}"' for c in columns)
    count = 0
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        batch: list[tuple[Any, ...]] = []
        sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
        for row in rows:
            batch.append(tuple(sqlite_value(v) for v in row))
            if len(batch) >= 20000:
                conn.executemany(sql, batch)
                count += len(batch)
                batch.clear()
        if batch:
            conn.executemany(sql, batch)
            count += len(batch)
        return count
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
