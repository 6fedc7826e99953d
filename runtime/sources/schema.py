"""open mSupply's own layout of the tables dhispatch reads, per version, for SQLite and PostgreSQL.

Facts taken from open mSupply's DDL (the 2.15 dumps ``sqlite_latest.sql`` / ``postgres_latest.sql``
and the migrations ``v2_00_00`` … ``v2_19_00`` that change these tables): every column with its
declared type, nullability and default on each back-end, the version that added it (and the one
that dropped it), the foreign keys between these tables and their indexes. Used by the demo
generator and the test fixtures to write databases whose layout is the real one, never by the
adapter (which only reads). Views are not reproduced: dhispatch reads none.

Layouts differ where dhispatch reads them (``LAYOUTS``): 2.0 has ``store.name_id`` and the
return types ``INBOUND_RETURN``/``OUTBOUND_RETURN``; 2.1 adds ``store.name_link_id``,
``store.is_disabled``, ``name.properties`` and the ``property`` tables; 2.2 the look-back store
preference; 2.3 renames the returns; 2.7 adds ``preference``; 2.8.3 ``invoice.received_datetime``;
2.16 ``item.universal_code``; 2.17 ``invoice_line.status``. One writer-side detail matters for
speed: open mSupply's SQLite ``invoice_line`` has had no index on ``invoice_id``/``stock_line_id``
since 2.8 rebuilt the table without them (PostgreSQL kept its indexes).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

Version = tuple[int, int, int]

# The oldest and the newest layout the demo and the tests write (README: supported versions).
OLDEST: Version = (2, 0, 0)
CURRENT: Version = (2, 19, 0)
# Each version at which a column, a table or an enum label dhispatch reads changed.
LAYOUTS: tuple[Version, ...] = (
    (2, 0, 0),
    (2, 1, 0),
    (2, 2, 0),
    (2, 3, 0),
    (2, 7, 0),
    (2, 8, 3),
    (2, 16, 0),
    (2, 19, 0),
)


def version_text(version: Version) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True, slots=True)
class Column:
    """One column as declared on each back-end, present in versions [since, until)."""

    name: str
    sqlite: str
    postgres: str
    since: Version = OLDEST
    until: Version | None = None
    references: str | None = None  # table whose ``id`` this column refers to

    def exists(self, version: Version) -> bool:
        return self.since <= version and (self.until is None or version < self.until)


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    table: str
    column: str
    dialects: tuple[str, ...] = ("sqlite", "postgresql")
    since: Version = OLDEST
    until: Version | None = None


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    since: Version = OLDEST


def _c(
    name: str,
    sqlite: str,
    postgres: str,
    since: Version = OLDEST,
    until: Version | None = None,
    ref: str | None = None,
) -> Column:
    return Column(name, sqlite, postgres, since, until, ref)


_ID = ("TEXT NOT NULL PRIMARY KEY", "text NOT NULL PRIMARY KEY")
_TEXT = ("TEXT", "text")
_TEXT_NN = ("TEXT NOT NULL", "text NOT NULL")
_REAL = ("REAL", "double precision")
_REAL_NN = ("REAL NOT NULL", "double precision NOT NULL")
_BOOL_NN = ("BOOLEAN NOT NULL", "boolean NOT NULL")
_BOOL = ("BOOLEAN", "boolean")
_DATE = ("TEXT", "date")
_TS = ("TEXT", "timestamp without time zone")
_TS_NN = ("TEXT NOT NULL", "timestamp without time zone NOT NULL")
_FALSE_NN = ("BOOLEAN NOT NULL DEFAULT FALSE", "boolean DEFAULT false NOT NULL")
_VOLUME = ("REAL NOT NULL DEFAULT 0.0", "double precision DEFAULT 0.0 NOT NULL")
_CHARGES = ("REAL NOT NULL DEFAULT 0", "double precision DEFAULT 0 NOT NULL")
_V21, _V22, _V23, _V24 = (2, 1, 0), (2, 2, 0), (2, 3, 0), (2, 4, 0)
_V25, _V26, _V27, _V28 = (2, 5, 0), (2, 6, 0), (2, 7, 0), (2, 8, 0)
_V283, _V29, _V291, _V210 = (2, 8, 3), (2, 9, 0), (2, 9, 1), (2, 10, 0)
_V216, _V217, _V222 = (2, 16, 0), (2, 17, 0), (2, 2, 2)

TABLES: tuple[Table, ...] = (
    Table(
        "unit",
        (
            _c("id", *_ID),
            _c("name", *_TEXT_NN),
            _c("description", *_TEXT),
            _c("index", "INTEGER NOT NULL", "integer NOT NULL"),
            _c("is_active", "BOOLEAN NOT NULL DEFAULT TRUE", "boolean DEFAULT true NOT NULL"),
        ),
    ),
    Table(
        "item",
        (
            _c("id", *_ID),
            _c("name", *_TEXT_NN),
            _c("code", *_TEXT_NN),
            _c("unit_id", *_TEXT, ref="unit"),
            _c("type", "TEXT NOT NULL", "text NOT NULL", until=_V21),
            _c("type", "TEXT NOT NULL", "item_type NOT NULL", since=_V21),
            _c("legacy_record", *_TEXT_NN),
            _c("is_active", "BOOLEAN NOT NULL DEFAULT TRUE", "boolean DEFAULT true NOT NULL"),
            _c("default_pack_size", "INTEGER NOT NULL", "integer NOT NULL", until=_V21),
            _c("default_pack_size", "REAL NOT NULL DEFAULT 0", "double precision NOT NULL", _V21),
            _c("is_vaccine", *_FALSE_NN, since=_V21),
            _c("strength", *_TEXT, since=_V22),
            _c(
                "ven_category",
                "TEXT NOT NULL DEFAULT 'NOT_ASSIGNED'",
                "ven_category DEFAULT 'NOT_ASSIGNED'::ven_category NOT NULL",
                since=_V22,
            ),
            _c("vaccine_doses", "INTEGER NOT NULL DEFAULT 0", "integer DEFAULT 0 NOT NULL", _V23),
            _c("restricted_location_type_id", *_TEXT, since=_V210),
            _c("universal_code", *_TEXT, since=_V216),
            _c("volume_per_pack", *_VOLUME, since=_V216),
        ),
    ),
    Table("item_link", (_c("id", *_ID), _c("item_id", *_TEXT_NN, ref="item"))),
    Table(
        "name",
        (
            _c("id", *_ID),
            _c("name", *_TEXT_NN),
            _c("code", *_TEXT_NN),
            _c("is_customer", *_BOOL_NN),
            _c("is_supplier", *_BOOL_NN),
            _c("supplying_store_id", "Text", "text"),
            _c("first_name", "Text", "text"),
            _c("last_name", "Text", "text"),
            _c("date_of_birth", *_DATE),
            _c("phone", *_TEXT),
            _c("charge_code", *_TEXT),
            _c("comment", *_TEXT),
            _c("country", *_TEXT),
            _c("address1", *_TEXT),
            _c("address2", *_TEXT),
            _c("email", *_TEXT),
            _c("website", *_TEXT),
            _c("is_manufacturer", *_BOOL),
            _c("is_donor", *_BOOL),
            _c("on_hold", *_BOOL),
            _c("created_datetime", "TIMESTAMP", "timestamp without time zone"),
            _c("is_deceased", "BOOLEAN NOT NULL DEFAULT false", "boolean DEFAULT false NOT NULL"),
            _c("national_health_number", *_TEXT),
            _c("gender", "", "gender_type"),
            _c("type", "NOT NULL DEFAULT 'FACILITY'", "name_type NOT NULL"),
            _c("is_sync_update", *_FALSE_NN),
            _c("date_of_death", "DATE", "date"),
            _c("custom_data", "TEXT DEFAULT NULL", "text"),
            _c("deleted_datetime", *_TS),
            _c("properties", *_TEXT, since=_V21),
            _c("next_of_kin_id", *_TEXT, since=_V26),
            _c("next_of_kin_name", *_TEXT, since=_V26),
            _c("hsh_code", *_TEXT, since=_V29),
            _c("hsh_name", *_TEXT, since=_V29),
            _c("margin", *_REAL, since=_V29),
            _c("freight_factor", *_REAL, since=_V29),
            _c("currency_id", *_TEXT, since=_V29),
        ),
    ),
    Table("name_link", (_c("id", *_ID), _c("name_id", *_TEXT_NN, ref="name"))),
    Table(
        "store",
        (
            _c("id", *_ID),
            _c("name_id", *_TEXT_NN, until=_V21, ref="name"),
            _c("name_link_id", "TEXT NOT NULL", "text", since=_V21, ref="name_link"),
            _c("code", *_TEXT_NN),
            _c("site_id", "INTEGER NOT NULL", "integer NOT NULL"),
            _c("logo", *_TEXT),
            _c(
                "store_mode",
                "TEXT DEFAULT 'STORE' NOT NULL",
                "store_mode DEFAULT 'STORE'::store_mode NOT NULL",
                until=_V21,
            ),
            _c(  # SQLite 2.1 rebuilt the table with a lower-case default
                "store_mode",
                "TEXT DEFAULT 'store' NOT NULL",
                "store_mode DEFAULT 'STORE'::store_mode NOT NULL",
                since=_V21,
            ),
            _c("created_date", *_DATE),
            _c(
                "is_disabled",
                "BOOLEAN DEFAULT FALSE NOT NULL",
                "boolean DEFAULT false NOT NULL",
                _V21,
            ),
        ),
    ),
    Table(
        "stock_line",
        (
            _c("id", *_ID),
            _c("store_id", *_TEXT_NN, ref="store"),
            _c("location_id", *_TEXT),
            _c("batch", *_TEXT),
            _c("expiry_date", *_DATE),
            _c("cost_price_per_pack", *_REAL_NN),
            _c("sell_price_per_pack", *_REAL_NN),
            _c("available_number_of_packs", *_REAL_NN),
            _c("total_number_of_packs", *_REAL_NN),
            _c("on_hold", *_BOOL_NN),
            _c("note", *_TEXT),
            _c("barcode_id", *_TEXT),
            _c(
                "item_link_id",
                "TEXT NOT NULL DEFAULT 'temp_for_migration'",
                "text DEFAULT 'temp_for_migration'::text NOT NULL",
                ref="item_link",
            ),
            _c("supplier_link_id", *_TEXT, ref="name_link"),
            _c("pack_size", "INTEGER NOT NULL", "integer NOT NULL", until=_V21),
            _c("pack_size", "REAL NOT NULL DEFAULT 0", "double precision NOT NULL", since=_V21),
            _c("item_variant_id", *_TEXT, since=_V24),
            _c("vvm_status_id", *_TEXT, since=_V28),
            _c("campaign_id", *_TEXT, since=_V28),
            _c("donor_link_id", *_TEXT, since=_V28, ref="name_link"),
            _c("total_volume", *_VOLUME, since=_V210),
            _c("volume_per_pack", *_VOLUME, since=_V210),
            _c("program_id", *_TEXT, since=_V210),
            _c("manufacture_date", "DATE", "date", since=_V217),
            _c("manufacturer_link_id", *_TEXT, since=_V217, ref="name_link"),
        ),
    ),
    Table(
        "invoice",
        (
            _c("id", *_ID),
            _c("name_store_id", *_TEXT, ref="store"),
            _c("user_id", *_TEXT),
            _c("store_id", *_TEXT_NN, ref="store"),
            _c("invoice_number", "integer NOT NULL", "bigint NOT NULL"),
            _c("on_hold", *_BOOL_NN),
            _c("comment", *_TEXT),
            _c("their_reference", *_TEXT),
            _c("transport_reference", *_TEXT),
            _c("created_datetime", *_TS_NN),
            _c("allocated_datetime", *_TS),
            _c("picked_datetime", *_TS),
            _c("shipped_datetime", *_TS),
            _c("delivered_datetime", *_TS),
            _c("verified_datetime", *_TS),
            _c("colour", *_TEXT),
            _c("requisition_id", *_TEXT),
            _c("linked_invoice_id", *_TEXT),
            _c("tax_percentage", *_REAL),
            _c("status", "NOT NULL DEFAULT 'NEW'", "invoice_status NOT NULL"),
            _c("type", "NOT NULL DEFAULT 'OUTBOUND_SHIPMENT'", "invoice_type NOT NULL"),
            _c("currency_id", *_TEXT),
            _c(
                "currency_rate",
                "REAL NOT NULL DEFAULT 1.0",
                "double precision DEFAULT 1.0 NOT NULL",
            ),
            _c(
                "name_link_id",
                "TEXT NOT NULL DEFAULT 'temp_for_migration'",
                "text DEFAULT 'temp_for_migration'::text NOT NULL",
                ref="name_link",
            ),
            _c("clinician_link_id", *_TEXT),
            _c("original_shipment_id", *_TEXT),
            _c("backdated_datetime", "TIMESTAMP", "timestamp without time zone", since=_V23),
            _c("diagnosis_id", *_TEXT, since=_V25),
            _c("program_id", *_TEXT, since=_V26),
            _c("name_insurance_join_id", *_TEXT, since=_V26),
            _c("insurance_discount_amount", *_REAL, since=_V26),
            _c("insurance_discount_percentage", *_REAL, since=_V26),
            _c("is_cancellation", *_FALSE_NN, since=_V26),
            _c("cancelled_datetime", *_TS, since=_V26),
            _c("expected_delivery_date", *_DATE, since=_V27),
            _c("default_donor_link_id", *_TEXT, since=_V28, ref="name_link"),
            _c("received_datetime", *_TS, since=_V283),
            _c("goods_received_id", *_TEXT, since=_V210, until=_V217),
            _c("shipping_method_id", *_TEXT, since=_V216),
            _c("charges_local_currency", *_CHARGES, since=_V217),
            _c("charges_foreign_currency", *_CHARGES, since=_V217),
            _c("purchase_order_id", *_TEXT, since=_V217),
        ),
    ),
    Table(
        "reason_option",
        (
            _c("id", *_ID),
            _c(
                "type",
                "TEXT NOT NULL DEFAULT 'POSITIVE_INVENTORY_ADJUSTMENT'",
                "reason_option_type DEFAULT 'POSITIVE_INVENTORY_ADJUSTMENT'::reason_option_type"
                " NOT NULL",
            ),
            _c("is_active", "BOOLEAN NOT NULL DEFAULT TRUE", "boolean DEFAULT true NOT NULL"),
            _c("reason", *_TEXT_NN),
        ),
        since=_V24,
    ),
    Table(
        "invoice_line",
        (
            _c("id", *_ID),
            _c("invoice_id", *_TEXT_NN, ref="invoice"),
            _c("item_name", *_TEXT_NN),
            _c("item_code", *_TEXT_NN),
            _c("stock_line_id", *_TEXT, ref="stock_line"),
            _c("location_id", *_TEXT),
            _c("batch", *_TEXT),
            _c("expiry_date", *_DATE),
            _c("cost_price_per_pack", *_REAL_NN),
            _c("sell_price_per_pack", *_REAL_NN),
            _c("total_before_tax", *_REAL_NN),
            _c("total_after_tax", *_REAL_NN),
            _c("tax_percentage", *_REAL),
            _c("type", "TEXT NOT NULL", "invoice_line_type NOT NULL"),
            _c("number_of_packs", *_REAL_NN),
            _c("pack_size", "INTEGER NOT NULL", "integer NOT NULL", until=_V21),
            _c("pack_size", "REAL NOT NULL", "double precision NOT NULL", since=_V21),
            _c("note", *_TEXT),
            _c("foreign_currency_price_before_tax", *_REAL),
            _c(
                "item_link_id",
                "TEXT NOT NULL",
                "text DEFAULT 'temp_for_migration'::text NOT NULL",
                ref="item_link",
            ),
            _c("inventory_adjustment_reason_id", *_TEXT, until=_V28),
            _c("return_reason_id", *_TEXT, until=_V28),
            _c("item_variant_id", *_TEXT, since=_V24),
            _c("prescribed_quantity", *_REAL, since=_V26),
            _c("linked_invoice_id", *_TEXT, since=_V27),
            _c("reason_option_id", "", "text", since=_V28, ref="reason_option"),
            _c("vvm_status_id", *_TEXT, since=_V28),
            _c("donor_link_id", *_TEXT, since=_V28, ref="name_link"),
            _c("campaign_id", *_TEXT, since=_V28),
            _c("shipped_number_of_packs", *_REAL, since=_V29),
            _c("shipped_pack_size", *_REAL, since=_V291),
            _c("volume_per_pack", *_VOLUME, since=_V210),
            _c("program_id", *_TEXT, since=_V210),
            _c("manufacture_date", "DATE", "date", since=_V217),
            _c("purchase_order_line_id", *_TEXT, since=_V217),
            _c("status", "TEXT", "invoice_line_status", since=_V217),
            _c("manufacturer_link_id", *_TEXT, since=_V217, ref="name_link"),
        ),
    ),
    Table(
        "store_preference",
        (
            _c("id", *_ID),
            _c(
                "type",
                "TEXT DEFAULT 'STORE_PREFERENCES'",
                "store_preference_type DEFAULT 'STORE_PREFERENCES'::store_preference_type",
            ),
            _c("pack_to_one", "BOOLEAN NOT NULL DEFAULT false", "boolean DEFAULT false NOT NULL"),
            *(
                _c(flag, "bool NOT NULL DEFAULT false", "boolean DEFAULT false NOT NULL")
                for flag in (
                    "response_requisition_requires_authorisation",
                    "request_requisition_requires_authorisation",
                    "om_program_module",
                    "vaccine_module",
                    "issue_in_foreign_currency",
                )
            ),
            *(
                _c(name, f"REAL DEFAULT {d}", f"double precision DEFAULT {d}", since=_V22)
                for name, d in (
                    ("monthly_consumption_look_back_period", "0.0"),
                    ("months_lead_time", "0.0"),
                    ("months_overstock", "6.0"),
                    ("months_understock", "3.0"),
                    ("months_items_expire", "3.0"),
                    ("stocktake_frequency", "1.0"),
                )
            ),
            _c("extra_fields_in_requisition", *_FALSE_NN, since=_V24),
            *(
                _c(flag, *_FALSE_NN, since=_V25)
                for flag in (
                    "keep_requisition_lines_with_zero_requested_quantity_on_finalised",
                    "use_consumption_and_stock_from_customers_for_internal_orders",
                    "manually_link_internal_order_to_inbound_shipment",
                )
            ),
            _c("edit_prescribed_quantity_on_prescription", *_FALSE_NN, since=_V26),
        ),
    ),
    Table(
        "preference",
        (
            _c("id", *_ID),
            _c("key", *_TEXT_NN),
            _c("value", *_TEXT_NN),
            _c("store_id", *_TEXT, ref="store"),
        ),
        since=_V27,
    ),
    Table(
        "master_list",
        (
            _c("id", *_ID),
            _c("name", *_TEXT_NN),
            _c("code", *_TEXT_NN),
            _c("description", *_TEXT_NN),
            _c("is_active", "BOOLEAN NOT NULL DEFAULT TRUE", "boolean DEFAULT true NOT NULL"),
            _c("is_default_price_list", "BOOLEAN DEFAULT FALSE", "boolean DEFAULT false", _V222),
            _c("discount_percentage", *_REAL, since=_V222),
        ),
    ),
    Table(
        "master_list_line",
        (
            _c("id", *_ID),
            _c(
                "item_link_id",
                "TEXT NOT NULL",
                "text DEFAULT 'temp for migration'::text NOT NULL",
                ref="item_link",
            ),
            _c("master_list_id", *_TEXT_NN, ref="master_list"),
            _c("price_per_unit", *_REAL, since=_V222),
        ),
    ),
    Table(
        "master_list_name_join",
        (
            _c("id", *_ID),
            _c("master_list_id", *_TEXT_NN, ref="master_list"),
            _c(
                "name_link_id",
                "TEXT NOT NULL",
                "text DEFAULT 'temp_for_migration'::text NOT NULL",
                ref="name_link",
            ),
        ),
    ),
    Table(
        "property",
        (
            _c("id", *_ID),
            _c("key", *_TEXT_NN),
            _c("name", *_TEXT_NN),
            _c("value_type", "TEXT NOT NULL", "property_value_type NOT NULL"),
            _c("allowed_values", *_TEXT),
        ),
        since=_V21,
    ),
    Table(
        "name_property",
        (
            _c("id", *_ID),
            _c("property_id", *_TEXT_NN, ref="property"),
            _c("remote_editable", *_BOOL_NN),
        ),
        since=_V21,
    ),
    Table(
        "key_value_store",
        (
            _c("id", "TEXT NOT NULL PRIMARY KEY", "key_type NOT NULL PRIMARY KEY"),
            _c("value_string", *_TEXT),
            _c("value_int", "INTEGER", "integer"),
            _c("value_bigint", "BIGINT", "bigint"),
            _c("value_float", *_REAL),
            _c("value_bool", *_BOOL),
        ),
    ),
)

# PostgreSQL enumerations of these tables: (name, labels, since); labels that changed by version
# are resolved in ``_enum_labels``.
_ENUMS: tuple[tuple[str, tuple[str, ...], Version], ...] = (
    ("item_type", ("STOCK", "SERVICE", "NON_STOCK"), _V21),
    ("ven_category", ("V", "E", "N", "NOT_ASSIGNED"), _V22),
    ("name_type", ("FACILITY", "PATIENT", "BUILD", "INVAD", "REPACK", "STORE", "OTHERS"), OLDEST),
    (
        "gender_type",
        (
            "FEMALE",
            "MALE",
            "TRANSGENDER",
            "TRANSGENDER_MALE",
            "TRANSGENDER_MALE_HORMONE",
            "TRANSGENDER_MALE_SURGICAL",
            "TRANSGENDER_FEMALE",
            "TRANSGENDER_FEMALE_HORMONE",
            "TRANSGENDER_FEMALE_SURGICAL",
            "UNKNOWN",
            "NON_BINARY",
        ),
        OLDEST,
    ),
    ("store_mode", ("STORE", "DISPENSARY"), OLDEST),
    (
        "invoice_type",
        (
            "OUTBOUND_SHIPMENT",
            "INBOUND_SHIPMENT",
            "INVENTORY_ADDITION",
            "INVENTORY_REDUCTION",
            "REPACK",
            "PRESCRIPTION",
            "CUSTOMER_RETURN",
            "SUPPLIER_RETURN",
        ),
        OLDEST,
    ),
    (
        "invoice_status",
        ("NEW", "ALLOCATED", "PICKED", "SHIPPED", "DELIVERED", "VERIFIED", "CANCELLED", "RECEIVED"),
        OLDEST,
    ),
    ("invoice_line_type", ("STOCK_IN", "STOCK_OUT", "UNALLOCATED_STOCK", "SERVICE"), OLDEST),
    ("invoice_line_status", ("PENDING", "PASSED", "REJECTED"), _V217),
    ("store_preference_type", ("STORE_PREFERENCES",), OLDEST),
    ("property_value_type", ("STRING", "BOOLEAN", "INTEGER", "FLOAT", "DATE"), OLDEST),
    (
        "key_type",
        (
            "CENTRAL_SYNC_PULL_CURSOR",
            "REMOTE_SYNC_PUSH_CURSOR",
            "SETTINGS_SYNC_URL",
            "SETTINGS_SYNC_USERNAME",
            "SETTINGS_SYNC_PASSWORD_SHA256",
            "SETTINGS_SYNC_INTERVAL_SECONDS",
            "SETTINGS_SYNC_CENTRAL_SERVER_SITE_ID",
            "SETTINGS_SYNC_SITE_ID",
            "SETTINGS_SYNC_SITE_UUID",
            "SETTINGS_SYNC_IS_DISABLED",
            "SETTINGS_TOKEN_SECRET",
            "SHIPMENT_TRANSFER_PROCESSOR_CURSOR",
            "REQUISITION_TRANSFER_PROCESSOR_CURSOR",
            "SETTINGS_DISPLAY_CUSTOM_THEME",
            "SETTINGS_DISPLAY_CUSTOM_THEME_HASH",
            "SETTINGS_DISPLAY_CUSTOM_LOGO",
            "SETTINGS_DISPLAY_CUSTOM_LOGO_HASH",
            "SETTINGS_DISPLAY_DEFAULT_LANGUAGE",
            "SETTINGS_DISPLAY_DEFAULT_LANGUAGE_HASH",
            "DATABASE_VERSION",
            "LOG_LEVEL",
            "LOG_DIRECTORY",
            "LOG_FILE_NAME",
            "SYNC_PULL_CURSOR_V6",
            "SYNC_PUSH_CURSOR_V6",
            "SETTINGS_LABEL_PRINTER",
            "CONTACT_FORM_PROCESSOR_CURSOR",
            "LOAD_PLUGIN_PROCESSOR_CURSOR",
            "ASSIGN_REQUISITION_NUMBER_PROCESSOR_CURSOR",
            "ADD_CENTRAL_PATIENT_VISIBILITY_PROCESSOR_CURSOR",
            "DYNAMIC_CURSOR",
            "LAST_LEDGER_FIX_RUN",
            "REQUISITION_AUTO_FINALISE_PROCESSOR_CURSOR",
        ),
        OLDEST,
    ),
    (
        "reason_option_type",
        (
            "POSITIVE_INVENTORY_ADJUSTMENT",
            "NEGATIVE_INVENTORY_ADJUSTMENT",
            "OPEN_VIAL_WASTAGE",
            "CLOSED_VIAL_WASTAGE",
            "RETURN_REASON",
            "REQUISITION_LINE_VARIANCE",
        ),
        _V24,
    ),
)


def return_types(version: Version) -> tuple[str, str]:
    """The invoice types of (customer return, supplier return): renamed in 2.3.0."""
    if version < _V23:
        return ("INBOUND_RETURN", "OUTBOUND_RETURN")
    return ("CUSTOMER_RETURN", "SUPPLIER_RETURN")


def _enum_labels(name: str, labels: tuple[str, ...], version: Version) -> tuple[str, ...]:
    dropped: set[str] = set()
    if name == "invoice_status":
        dropped |= {"CANCELLED"} if version < _V26 else set()
        dropped |= {"RECEIVED"} if version < _V283 else set()
    if name == "property_value_type" and version < (2, 18, 0):
        dropped.add("DATE")
    renamed = dict(zip(return_types(CURRENT), return_types(version), strict=True))
    return tuple(renamed.get(label, label) for label in labels if label not in dropped)


# Indexes of these tables (other than primary keys), as each back-end's DDL has them.
_SQ, _PG = ("sqlite",), ("postgresql",)
_LINE_INDEXES = (
    ("invoice_id", "_fkey"),
    ("stock_line_id", "_fkey"),
    ("item_link_id", "_fkey"),
    ("location_id", "_fkey"),
    ("type", ""),
    ("number_of_packs", ""),
)
INDEXES: tuple[Index, ...] = (
    *(
        Index(f"index_name_{c}", "name", c)
        for c in ("first_name", "last_name", "code", "national_health_number")
    ),
    Index("index_name_link_name_id_fkey", "name_link", "name_id"),
    Index("index_unit_is_active", "unit", "is_active"),
    Index("index_item_unit_id_fkey", "item", "unit_id"),
    Index("index_item_is_active", "item", "is_active"),
    Index("index_item_is_vaccine", "item", "is_vaccine", since=_V21),
    Index("index_item_link_item_id_fkey", "item_link", "item_id"),
    Index("index_store_name_id_fkey", "store", "name_id", until=_V21),
    Index("index_store_site_id", "store", "site_id", _PG),
    Index("index_store_site_id", "store", "site_id", _SQ, until=_V21),
    *(
        Index(f"index_stock_line_{c}{fk}", "stock_line", c)
        for c, fk in (
            ("location_id", "_fkey"),
            ("store_id", "_fkey"),
            ("available_number_of_packs", ""),
            ("total_number_of_packs", ""),
            ("expiry_date", ""),
            ("barcode_id", ""),
            ("item_link_id", "_fkey"),
            ("supplier_link_id", "_fkey"),
        )
    ),
    Index(
        "index_stock_line_manufacturer_link_id_fkey",
        "stock_line",
        "manufacturer_link_id",
        since=_V217,
    ),  # fmt: skip
    *(
        Index(f"index_invoice_{c}{fk}", "invoice", c)
        for c, fk in (
            ("store_id", "_fkey"),
            ("name_store_id", "_fkey"),
            ("invoice_number", ""),
            ("type", ""),
            ("status", ""),
            ("created_datetime", ""),
            ("requisition_id", ""),
            ("linked_invoice_id", ""),
            ("name_link_id", "_fkey"),
            ("clinician_link_id", "_fkey"),
        )
    ),
    # SQLite lost these when 2.8.0 rebuilt invoice_line (migrate_reason_option_ids.rs).
    *(
        Index(f"index_invoice_line_{c}{fk}", "invoice_line", c, _SQ, until=_V28)
        for c, fk in _LINE_INDEXES
    ),
    *(Index(f"index_invoice_line_{c}{fk}", "invoice_line", c, _PG) for c, fk in _LINE_INDEXES),
    Index(
        "index_invoice_line_inventory_adjustment_reason_id",
        "invoice_line",
        "inventory_adjustment_reason_id",
        until=_V28,
    ),  # fmt: skip
    Index("index_invoice_line_return_reason_id", "invoice_line", "return_reason_id", until=_V28),
    Index(
        "index_invoice_line_manufacturer_link_id_fkey",
        "invoice_line",
        "manufacturer_link_id",
        since=_V217,
    ),  # fmt: skip
    Index("index_master_list_line_item_link_id_fkey", "master_list_line", "item_link_id"),
    Index("index_master_list_line_master_list_id_fkey", "master_list_line", "master_list_id", _PG),
    Index(
        "index_master_list_name_join_name_link_id_fkey",
        "master_list_name_join",
        "name_link_id",
        _SQ,
    ),  # fmt: skip
    Index(
        "index_master_list_name_join_master_list_id_fkey",
        "master_list_name_join",
        "master_list_id",
        _PG,
    ),  # fmt: skip
)


def _declared(column: Column, dialect: str) -> str:
    """A column's declaration; PostgreSQL's extra ``PRIMARY KEY`` stands for its ``_pkey``."""
    kind = column.sqlite if dialect == "sqlite" else column.postgres
    return f'"{column.name}" {kind}'.rstrip()


def tables(version: Version = CURRENT) -> list[Table]:
    """The tables that exist at ``version``, each with the columns it has then."""
    out = []
    for table in TABLES:
        if table.since <= version:
            out.append(Table(table.name, tuple(c for c in table.columns if c.exists(version))))
    return out


def columns(table: str, version: Version = CURRENT) -> tuple[str, ...]:
    """The column names of ``table`` at ``version`` (empty when the table does not exist)."""
    for t in tables(version):
        if t.name == table:
            return tuple(c.name for c in t.columns)
    return ()


def ddl(dialect: str, version: Version = CURRENT, *, indexes: bool = True) -> list[str]:
    """CREATE statements (types, tables with their foreign keys, indexes) of ``version``."""
    present = tables(version)
    names = {t.name for t in present}
    statements: list[str] = []
    if dialect == "postgresql":
        for name, labels, since in _ENUMS:
            if since <= version:
                quoted = ", ".join(f"'{v}'" for v in _enum_labels(name, labels, version))
                statements.append(f"CREATE TYPE {name} AS ENUM ({quoted})")
    for table in present:
        parts = []
        for column in table.columns:
            text = _declared(column, dialect)
            if column.references in names:  # other tables' keys are not reproduced
                text += f" REFERENCES {column.references}(id)"
            parts.append(text)
        statements.append(f'CREATE TABLE "{table.name}" ({", ".join(parts)})')
    return statements + (index_ddl(dialect, version) if indexes else [])


def index_ddl(dialect: str, version: Version = CURRENT) -> list[str]:
    """CREATE INDEX statements of ``version`` (after a bulk load, for speed)."""
    statements = []
    for index in INDEXES:
        if dialect in index.dialects and index.column in columns(index.table, version):
            if index.since <= version and (index.until is None or version < index.until):
                statements.append(
                    f'CREATE INDEX "{index.name}" ON "{index.table}" ("{index.column}")'
                )
    return statements


def version_row(version: Version) -> tuple[str, str]:
    """The ``key_value_store`` row in which open mSupply records its database version."""
    return ("DATABASE_VERSION", version_text(version))


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
    conn: Any, dialect: str, table: str, cols: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Bulk-insert ``rows`` through a raw DB-API connection (sqlite3 or psycopg); returns count."""
    names = ", ".join(f'"{c}"' for c in cols)
    count = 0
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in cols)
        batch: list[tuple[Any, ...]] = []
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
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
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
