"""What an open mSupply database's layout offers: its version and columns, read once per connection.

Every query that depends on the version consults this object (``Source.caps``) instead of probing
on its own: the store's name column (``name_id`` before 2.1.0), the receipt timestamp
(``delivered_datetime`` before 2.8.3), the names of the return invoice types (before 2.3.0),
``invoice_line.status`` (2.17.0+), ``item.universal_code`` (2.16.0+), name properties (2.1.0+),
the preference tables. A database older than ``OLDEST``, without a version, or without a table
or column dhispatch reads is refused here with one line that says what was found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.sources.model import SourceError

Version = tuple[int, int, int]
OLDEST: Version = (2, 0, 0)
NEWEST_TESTED: Version = (2, 19, 0)

# The tables dhispatch reads and, for each, the columns it cannot do without (since 2.0.0).
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "item": ("id", "code", "name", "type", "legacy_record", "is_active"),
    "item_link": ("id", "item_id"),
    "name": ("id", "name", "code", "custom_data"),
    "name_link": ("id", "name_id"),
    "store": ("id", "code", "created_date"),
    "stock_line": (
        "id",
        "store_id",
        "item_link_id",
        "pack_size",
        "total_number_of_packs",
        "available_number_of_packs",
        "expiry_date",
        "cost_price_per_pack",
    ),
    "invoice": (
        "id",
        "store_id",
        "type",
        "status",
        "invoice_number",
        "picked_datetime",
        "delivered_datetime",
        "verified_datetime",
    ),
    "invoice_line": (
        "id",
        "invoice_id",
        "item_link_id",
        "stock_line_id",
        "type",
        "number_of_packs",
        "pack_size",
    ),  # fmt: skip
    "key_value_store": ("id", "value_string"),
    "store_preference": ("id",),
    "master_list": ("id", "name"),
    "master_list_line": ("id", "item_link_id", "master_list_id"),
    "master_list_name_join": ("id", "master_list_id", "name_link_id"),
}
# Read when present (later versions): the property tables and the key/value preferences.
OPTIONAL_TABLES = ("property", "name_property", "preference")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The database's version and the columns of every table dhispatch reads."""

    version: Version
    version_text: str
    columns: Mapping[str, frozenset[str]]

    def has(self, table: str, column: str | None = None) -> bool:
        found = self.columns.get(table, frozenset())
        return bool(found) if column is None else column in found

    @property
    def store_name_column(self) -> str:
        """The store's own name record: ``store.name_link_id`` from 2.1.0, ``name_id`` before."""
        return "name_link_id" if self.has("store", "name_link_id") else "name_id"

    @property
    def store_name_join(self) -> str:
        """SQL joining ``store s`` to its name ``n`` (through ``name_link`` from 2.1.0)."""
        if self.store_name_column == "name_link_id":
            return (
                "LEFT JOIN name_link nl ON nl.id = s.name_link_id "
                "LEFT JOIN name n ON n.id = nl.name_id"
            )
        return "LEFT JOIN name n ON n.id = s.name_id"

    @property
    def received_column(self) -> str:
        """Receipt timestamp of inbound shipments: ``received_datetime`` from 2.8.3; before,
        delivery was the receipt."""
        return (
            "received_datetime"
            if self.has("invoice", "received_datetime")
            else "delivered_datetime"
        )

    @property
    def customer_return(self) -> str:
        """Invoice type of returns from customers (``INBOUND_RETURN`` before 2.3.0)."""
        return "CUSTOMER_RETURN" if self.version >= (2, 3, 0) else "INBOUND_RETURN"

    @property
    def supplier_return(self) -> str:
        """Invoice type of returns to suppliers (``OUTBOUND_RETURN`` before 2.3.0)."""
        return "SUPPLIER_RETURN" if self.version >= (2, 3, 0) else "OUTBOUND_RETURN"

    @property
    def line_status(self) -> bool:
        """``invoice_line.status`` (2.17.0+): PENDING lines of inbound shipments move no stock."""
        return self.has("invoice_line", "status")

    @property
    def universal_code(self) -> bool:
        return self.has("item", "universal_code")

    @property
    def name_properties(self) -> bool:
        """Store values kept as open mSupply name properties (``name.properties``, 2.1.0+)."""
        return self.has("name", "properties")

    @property
    def store_disabled(self) -> bool:
        return self.has("store", "is_disabled")

    @property
    def lookback(self) -> bool:
        return self.has("store_preference", "monthly_consumption_look_back_period")

    @property
    def preferences(self) -> bool:
        return self.has("preference", "key")


Rows = Callable[[str, Mapping[str, Any]], list[Any]]


def read_capabilities(rows: Rows, dialect: str, label: str) -> Capabilities:
    """Probe the database once: columns of every table dhispatch reads, then its version."""
    names = [*REQUIRED, *OPTIONAL_TABLES]
    if dialect == "sqlite":
        sql = (
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
            "WHERE m.type IN ('table', 'view') AND m.name IN :names"
        )
    else:
        sql = (
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name IN :names"
        )
    found: dict[str, set[str]] = {}
    for table, column in rows(sql, {"names": names}):
        found.setdefault(str(table), set()).add(str(column))
    columns = {t: frozenset(found.get(t, ())) for t in names}
    _require(columns, label)
    version_text = _version(rows, label)
    version = parse_version(version_text, label)
    if version < OLDEST:
        raise SourceError(
            f"{label} is open mSupply {version_text}; dhispatch reads open mSupply "
            f"{_text(OLDEST)} and later (tested up to {_text(NEWEST_TESTED)})"
        )
    return Capabilities(version, version_text, columns)


def _require(columns: Mapping[str, frozenset[str]], label: str) -> None:
    missing_tables = [t for t in REQUIRED if not columns[t]]
    if missing_tables:
        raise SourceError(
            f"{label} is not an open mSupply database: missing table(s) {', '.join(missing_tables)}"
        )
    missing = [f"{t}.{c}" for t, cols in REQUIRED.items() for c in cols if c not in columns[t]]
    if missing:
        raise SourceError(
            f"{label} is not an open mSupply database dhispatch can read: missing column(s) "
            f"{', '.join(missing)}"
        )


def _version(rows: Rows, label: str) -> str:
    found = rows("SELECT value_string FROM key_value_store WHERE id = 'DATABASE_VERSION'", {})
    if not found or not found[0][0]:
        raise SourceError(
            f"cannot tell which open mSupply version {label} is: key_value_store has no "
            f"DATABASE_VERSION (dhispatch reads {_text(OLDEST)} and later)"
        )
    return str(found[0][0]).strip()


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-.*)?$")


def parse_version(text: str, label: str = "the database") -> Version:
    """``2.15.0`` or ``2.3.1-rc2`` as open mSupply writes it (migrations/version.rs)."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise SourceError(
            f"{label} records open mSupply version {text!r}, which is not a version number"
        )
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


def _text(version: Version) -> str:
    return ".".join(str(part) for part in version)
