"""The source's domain records (stores, items, scope) and its one error type."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from dhispatch.errors import DhispatchError


class SourceError(DhispatchError):
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
    A store missing from ``ranges`` has an empty range. No default: a scope narrowed without
    its ranges would turn every never-held pair into "no value" (``dataclasses.replace`` keeps
    them)."""

    stores: tuple[Store, ...]
    items: tuple[Item, ...]
    ranges: Mapping[str, frozenset[str]]

    def in_range(self, store_id: str, item_id: str) -> bool:
        return item_id in self.ranges.get(store_id, frozenset())


# scheme://user:PASSWORD@host: a password may itself hold "@", "/" or even spaces (parsers
# disagree on where it ends), so everything from the first ":" of the user info to the LAST "@"
# of the line is hidden (at worst some of the host part with it).
_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^\n]*@")
# password=… in a libpq keyword string (bare, or quoted with \' escapes) or a URL parameter
_PASSWORD_PARAM = re.compile(r"(?i)(?P<key>password\s*=\s*)(?:'(?:[^'\\]|\\.)*(?:'|$)|[^\s&]*)")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A database URL split at the LAST "@" of its user info: libpq and SQLAlchemy cut at the
    first, so a password holding "@" ("ss@Canary99") became part of the host, and the driver's
    error printed it. ``url`` keeps scheme, host, port, database and query, never the user."""

    url: str
    user: str | None = None
    password: str | None = None


def split_credentials(url: str) -> Credentials:
    """``scheme://user:password@host…`` as its user-free URL, user and (decoded) password."""
    from urllib.parse import unquote

    scheme, sep, rest = url.partition("://")
    at = rest.rfind("@")
    if not sep or at < 0:
        return Credentials(url)
    user, colon, password = rest[:at].partition(":")
    return Credentials(
        f"{scheme}://{rest[at + 1 :]}", unquote(user) or None, unquote(password) if colon else None
    )


def redact(text: str) -> str:
    """``text`` with every database password replaced by ``***`` (for every message we print):
    a URL's ``user:password@`` up to its last ``@``, and libpq's ``password=`` values."""
    return _PASSWORD_PARAM.sub(r"\g<key>***", _PASSWORD_IN_URL.sub(r"\g<head>:***@", text))
