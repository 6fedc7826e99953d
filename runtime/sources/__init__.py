"""Read-only stock sources: the open mSupply adapter (SQLite and PostgreSQL) and its scope."""

from __future__ import annotations

from dhispatch.runtime.sources.capabilities import Capabilities
from dhispatch.runtime.sources.model import Item
from dhispatch.runtime.sources.model import Scope
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import Store
from dhispatch.runtime.sources.model import redact
from dhispatch.runtime.sources.source import Source
from dhispatch.runtime.sources.source import open_source

__all__ = [
    "Capabilities",
    "Item",
    "Scope",
    "Source",
    "SourceError",
    "Store",
    "open_source",
    "redact",
]
