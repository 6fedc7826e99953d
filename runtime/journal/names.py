"""The numbers standing for identifiers in the journal's cells (table ``names``): each data
element, period, org unit, combo, step, store and item is written once, and cells hold numbers.

A name's number never changes once committed, so the numbers a run has used are remembered in
memory (at most ``LIMIT``: bounded by the metadata, not by the values pushed). So are the numbers
of (plan, target) pairs (table ``scopes``), which key the cells in one column instead of two.
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
        self._scopes: dict[tuple[str, int], int] = {}

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

    def scope(self, db: Store, plan_name: str, target_id: int) -> int:
        """The number of a (plan, target) pair, committed first if new (call outside a
        transaction)."""
        key = (plan_name, target_id)
        if key not in self._scopes:
            plan = self.ids(db, [plan_name])[plan_name]
            with db.tx():
                db.run("INSERT OR IGNORE INTO scopes(plan, target_id) VALUES (?, ?)",
                       (plan, target_id))  # fmt: skip
                found = db.one(
                    "SELECT id FROM scopes WHERE plan = ? AND target_id = ?", (plan, target_id)
                )
            assert found is not None
            self._scopes[key] = int(found[0])
        return self._scopes[key]
