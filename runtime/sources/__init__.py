"""Read-only stock sources: the open mSupply adapter (SQLite and PostgreSQL) and its scope."""

from __future__ import annotations

from dhispatch.runtime.sources.connection import Source
from dhispatch.runtime.sources.connection import open_source
from dhispatch.runtime.sources.model import Item
from dhispatch.runtime.sources.model import Scope
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import Store
from dhispatch.runtime.sources.model import redact

__all__ = ["Item", "Scope", "Source", "SourceError", "Store", "open_source", "redact"]
