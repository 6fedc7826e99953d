"""The source's domain records (stores, items, scope) and its one error type."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date


class SourceError(Exception):
    """The stock database cannot be read as an open mSupply database; the message says why."""


@dataclass(frozen=True, slots=True)
class Store:
    """A store in scope; ``org_unit`` None = no mapping (the executor skips and counts it), and
    ``org_unit_note`` then says why (for ``plan``, ``preflight`` and ``indicators``)."""

    id: str
    code: str
    name: str
    org_unit: str | None
    # Extras beyond the contract, defaulted so that 4-field construction keeps working.
    opened_on: date | None = None
    org_unit_note: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """An item in scope; ``fields`` holds the legacy text fields ``user_field_1|2|3|6`` that
    are non-empty strings."""

    id: str
    code: str
    name: str
    universal_code: str | None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scope:
    """Stores and items a run covers, each sorted by code, and each store's range: the items on
    a master list joined to the store's name (open mSupply's ``is_visible``), by store id.
    A store missing from ``ranges`` has an empty range."""

    stores: tuple[Store, ...]
    items: tuple[Item, ...]
    ranges: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def in_range(self, store_id: str, item_id: str) -> bool:
        return item_id in self.ranges.get(store_id, frozenset())


_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]*@")
_PASSWORD_PARAM = re.compile(r"(?i)(password=)[^&\s]*")


def redact(text: str) -> str:
    """``text`` with any URL password replaced by ``***`` (for every message we print)."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD_IN_URL.sub(r"\g<head>:***@", text))
