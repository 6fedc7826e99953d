"""The numbers standing for identifiers in the journal's cells (table ``names``): each data
element, period, org unit, combo, step, store and item is written once, and cells hold numbers.

A name's number never changes once committed, so the numbers a run has used are remembered in
memory (at most ``LIMIT``: bounded by the metadata, not by the values pushed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from dhispatch.runtime.journal.store import Store

LIMIT = 200_000  # names remembered (~25 MB at most); past it the memory starts afresh


class Names:
    """The journal's name numbers, remembered once committed."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {"": 0}

    def ids(self, db: Store, names: Iterable[str]) -> dict[str, int]:
        """The number of each name, new names numbered and committed first (in their own
        transaction, so a number is never remembered for a name a rollback took back): call
        outside a transaction."""
        wanted = dict.fromkeys(names)  # first seen, first numbered
        missing = [n for n in wanted if n not in self._ids]
        if missing:
            if len(self._ids) + len(missing) > LIMIT:
                self._ids = {"": 0}
            with db.tx():
                db.many("INSERT OR IGNORE INTO names(name) VALUES (?)", [(n,) for n in missing])
                found = db.rows(
                    "SELECT name, id FROM names WHERE name IN (SELECT value FROM json_each(?))",
                    (json.dumps(missing),),
                )
            self._ids.update((str(name), int(id_)) for name, id_ in found)
        return {n: self._ids[n] for n in wanted}
