"""The journal's batches: journalled before sending, settled by what DHIS2 proved, due again
when it proved nothing, re-batched (split) to a smaller size, parked after failing one way too
often, and retried or dropped by an operator."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from itertools import chain
from itertools import repeat
from operator import add
from operator import itemgetter
from typing import Any

from dhispatch.runtime.journal.names import Names
from dhispatch.runtime.journal.payload import Packed
from dhispatch.runtime.journal.payload import unpack
from dhispatch.runtime.journal.records import LEGACY_TARGET
from dhispatch.runtime.journal.records import BatchRow
from dhispatch.runtime.journal.records import Settlement
from dhispatch.runtime.journal.records import iso
from dhispatch.runtime.journal.records import now
from dhispatch.runtime.journal.records import stored_value
from dhispatch.runtime.journal.store import Store

REWRITE_SHARE = 0.05  # emptied bytes not freed, as a share of the file, from which to rewrite it
REWRITE_GROWTH = 1.25  # the file's pages against those after its last rewrite, from which too

_COLUMNS = (
    "id, run_id, plan_name, data_set, strategy, id_schemes, blob, digest, size, status, "
    "http_status, imported, updated, ignored, deleted, attempts, error, target_id, origin_id, "
    "parent_id, failures, failure_kind, note, created_at"
)
_BATCHES = "batches LEFT JOIN payloads ON batch_id = id"  # a batch with its payload, if any
_CELL_KEY = itemgetter(0, 1, 2, 3, 4, 5)  # of a cells row: the table's key


class QueueMixin:
    """Batch rows of a ``Journal`` (whose ``_db`` is the store, ``_names`` its name numbers)."""

    _db: Store
    _names: Names

    def add_batch(
        self,
        run_id: int,
        plan_name: str,
        data_set: str,
        strategy: str,
        id_schemes: dict[str, str],
        payload: list[dict[str, Any]],
        target_id: int = LEGACY_TARGET,
    ) -> int:
        """Commit a batch as ``pending`` — always before the HTTP request that sends it."""
        return self.new_batch(run_id, plan_name, data_set, strategy, id_schemes, payload,
                              target_id).id  # fmt: skip

    def new_batch(
        self,
        run_id: int,
        plan_name: str,
        data_set: str,
        strategy: str,
        id_schemes: dict[str, str],
        payload: list[dict[str, Any]],
        target_id: int = LEGACY_TARGET,
        packed: Packed | None = None,
    ) -> BatchRow:
        """``add_batch``, returning the row (as ``batch(id)`` would read it); ``packed`` is the
        payload already packed (``Packed.of(payload)``, e.g. by the outbox)."""
        with self._db.tx() as db:
            return _insert(db, run_id, plan_name, data_set, strategy, id_schemes, payload,
                           target_id, packed=packed)  # fmt: skip

    def batch(self, batch_id: int) -> BatchRow | None:
        row = self._db.one(f"SELECT {_COLUMNS} FROM {_BATCHES} WHERE id = ?", (batch_id,))
        return None if row is None else _batch(row)

    def due_batches(self, plan_name: str, target_id: int = LEGACY_TARGET) -> list[BatchRow]:
        """Batches not yet settled (pending after a crash, failed in an outage or with an
        answer that proved nothing), in the order their values were first journalled."""
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM {_BATCHES} WHERE plan_name = ? AND target_id = ? "
            "AND status IN ('pending', 'failed') ORDER BY coalesce(origin_id, id), id",
            (plan_name, target_id),
        )
        return [_batch(r) for r in rows]

    def parked_batches(
        self, plan_name: str | None = None, target_id: int | None = None
    ) -> list[BatchRow]:
        sql = f"SELECT {_COLUMNS} FROM {_BATCHES} WHERE status = 'parked'"
        args: list[Any] = []
        if plan_name is not None:
            sql += " AND plan_name = ?"
            args.append(plan_name)
        if target_id is not None:
            sql += " AND target_id = ?"
            args.append(target_id)
        return [_batch(r) for r in self._db.rows(sql + " ORDER BY id", args)]

    def waiting(self) -> list[tuple[str, int, str, int]]:
        """(plan, target id, status, batches) of every batch still due or parked."""
        rows = self._db.rows(
            "SELECT plan_name, target_id, status, count(*) FROM batches WHERE status IN "
            "('pending', 'failed', 'parked') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        return [(str(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]

    def batches(self, run_id: int | None = None) -> list[BatchRow]:
        if run_id is None:
            rows = self._db.rows(f"SELECT {_COLUMNS} FROM {_BATCHES} ORDER BY id")
        else:
            rows = self._db.rows(
                f"SELECT {_COLUMNS} FROM {_BATCHES} WHERE run_id = ? OR sent_run_id = ? "
                "ORDER BY id",
                (run_id, run_id),
            )
        return [_batch(r) for r in rows]

    def batch_seconds(self, run_id: int) -> float:
        row = self._db.one(
            "SELECT coalesce(sum(seconds), 0) FROM batches WHERE sent_run_id = ?", (run_id,)
        )
        return float(row[0]) if row else 0.0

    def batch_attempt(self, batch_id: int) -> None:
        """Count an attempt before sending (so a crash mid-request is visible in the journal)."""
        with self._db.tx() as db:
            db.run("UPDATE batches SET attempts = attempts + 1 WHERE id = ?", (batch_id,))

    def split_batch(
        self, row: BatchRow, size: int, run_id: int, *, keep_failures: bool = True
    ) -> list[BatchRow]:
        """Re-batch ``row`` into children of at most ``size`` values (the row becomes
        ``split``); they keep its lineage, and its failure count unless ``keep_failures`` is
        False (a 413 halving is progress, not another failure)."""
        parts = [row.payload[i : i + size] for i in range(0, len(row.payload), size)]
        with self._db.tx() as db:
            children = [_insert(db, run_id, row.plan_name, row.data_set, row.strategy,
                                row.id_schemes, part, row.target_id, parent=row,
                                failures=(row.failures, row.failure_kind) if keep_failures
                                else None, status=row.status if keep_failures else "pending",
                                error=row.error if keep_failures else None)
                        for part in parts]  # fmt: skip
            first, last = children[0].id, children[-1].id
            db.run(
                "UPDATE batches SET status = 'split', note = ? WHERE id = ?",
                (f"split into batches {first}-{last} of at most {size} values", row.id),
            )
        return children

    def batch_failed(
        self,
        row: BatchRow,
        run_id: int,
        http_status: int | None,
        error: str,
        *,
        kind: str | None = None,
        park_after: int | None = None,
    ) -> str:
        """The batch stays due (``failed``) with the reason; a failure of ``kind`` (None: an
        outage, which is not the batch's doing and is not counted) repeated ``park_after``
        times in a row parks it. Returns the new status."""
        failures, status, note = row.failures, "failed", None
        if kind is not None:
            failures = failures + 1 if row.failure_kind == kind else 1
            if park_after is not None and failures >= park_after:
                status = "parked"
                note = f"parked after failing {failures} times in a row: {error}"
        with self._db.tx() as db:
            db.run(
                "UPDATE batches SET status = ?, http_status = ?, error = ?, sent_run_id = ?, "
                "failures = ?, failure_kind = coalesce(?, failure_kind), note = ? WHERE id = ?",
                (status, http_status, error, run_id, failures, kind, note, row.id),
            )
        return status

    def batch_settled(self, row: BatchRow, run_id: int, outcome: Settlement) -> None:
        """Record what DHIS2 proved for an answered batch and, in the same transaction, the
        cells it now holds (or no longer holds: DELETE). Values it proved nothing about
        (``outcome.remaining``) go on in a child batch that stays due (failed)."""
        imported, updated, ignored, deleted = outcome.counts
        status = "split" if outcome.remaining else "sent"
        held = _held_columns(row, outcome.held)
        ids = self._names.ids(self._db, chain(*held[:5], *held[6:]))
        scope = self._names.scope(self._db, row.plan_name, row.target_id)
        with self._db.tx() as db:
            db.run(
                "UPDATE batches SET status = ?, http_status = ?, imported = ?, updated = ?, "
                "ignored = ?, deleted = ?, error = NULL, sent_at = ?, sent_run_id = ?, "
                "seconds = seconds + ?, note = ? WHERE id = ?",
                (status, outcome.http_status, imported, updated, ignored, deleted, now(), run_id,
                 outcome.seconds, _note(outcome), row.id),
            )  # fmt: skip
            db.many(
                "INSERT INTO conflicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(k.batch_id, run_id, k.idx, k.store, k.item, k.indicator, k.origin, k.code,
                  k.message) for k in outcome.conflicts],
            )  # fmt: skip
            _record_cells(db, row, held, ids, scope)
            if outcome.remaining:
                rest = [row.payload[i] for i in sorted(outcome.remaining)]
                _insert(db, run_id, row.plan_name, row.data_set, row.strategy, row.id_schemes,
                        rest, row.target_id, parent=row, failures=(row.failures, row.failure_kind),
                        status="failed", error=outcome.reason)  # fmt: skip

    def unpark(self, batch_id: int | None = None) -> int:
        """Make parked batches (one, or all) due again, their failure count reset; how many."""
        sql = "UPDATE batches SET status = 'failed', failures = 0, failure_kind = NULL, note = ? "
        sql += "WHERE status = 'parked'"
        args: list[Any] = [f"retry requested {now()}"]
        if batch_id is not None:
            sql += " AND id = ?"
            args.append(batch_id)
        with self._db.tx() as db:
            return int(db.run(sql, args).rowcount)

    def drop_parked(self, batch_id: int) -> bool:
        """Give up a parked batch (an operator's decision, recorded); False if not parked."""
        with self._db.tx() as db:
            cur = db.run(
                "UPDATE batches SET status = 'dropped', note = coalesce(note, '') || ? "
                "WHERE id = ? AND status = 'parked'",
                (f" — dropped {now()}", batch_id),
            )
            return bool(cur.rowcount)

    def fresh_indexes(self, row: BatchRow) -> list[int]:
        """The positions of ``row``'s values DHIS2 still needs: not superseded by a value of
        the same cell confirmed from a batch journalled after this one (a parked batch retried
        late must not overwrite a newer value)."""
        found = self._db.rows(
            "SELECT CAST(j.key AS INTEGER) FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM "
            "cell_values c WHERE c.plan_name = ? AND c.target_id = ? AND c.batch_id > ? "
            "AND c.data_element = json_extract(j.value, '$.dataElement') "
            "AND c.period = json_extract(j.value, '$.period') "
            "AND c.org_unit = json_extract(j.value, '$.orgUnit') "
            "AND c.coc = coalesce(json_extract(j.value, '$.categoryOptionCombo'), '') "
            "AND c.aoc = coalesce(json_extract(j.value, '$.attributeOptionCombo'), '')) "
            "ORDER BY 1",
            (json.dumps(row.payload), row.plan_name, row.target_id, row.origin_id or row.id),
        )
        return [int(r[0]) for r in found]

    def prune(self, before: datetime, plan_name: str | None = None) -> int:
        """Empty the payloads of batches DHIS2 accepted (or that were split or dropped) before
        ``before`` — of one plan, or all; rows, digests, counts and conflicts stay, due and
        parked batches are never touched — and give the space back to the file system.
        Returns how many.

        A payload is a row of its own table: deleting it frees the pages it filled alone, which
        go back to the file system at once (``auto_vacuum`` is incremental); see ``_reclaim``
        for the bytes of small payloads that shared their pages with payloads kept."""
        where = (
            "WHERE status IN ('sent', 'split', 'dropped') AND coalesce(sent_at, created_at) < ? "
            "AND pruned_at IS NULL AND size > 0"
        )
        args: list[Any] = [iso(before)]
        if plan_name is not None:
            where += " AND plan_name = ?"
            args.append(plan_name)
        with self._db.tx() as db:
            found = db.one(f"SELECT count(*), coalesce(sum(length(blob)), 0) FROM {_BATCHES} "
                           f"{where}", args)  # fmt: skip
            n, emptied = (int(found[0]), int(found[1])) if found else (0, 0)
            if n:
                db.run(f"DELETE FROM payloads WHERE batch_id IN (SELECT id FROM batches {where})",
                       args)  # fmt: skip
                db.run(f"UPDATE batches SET pruned_at = ? {where}", [now(), *args])
        if n:
            self._reclaim(emptied)
        return n

    def _reclaim(self, emptied: int) -> None:
        """Give the freed pages back to the file system; then rewrite the file (``VACUUM``) when
        that earns its cost: once the file has grown by ``REWRITE_GROWTH`` since its last
        rewrite (SQLite splits the pages of a table ``WITHOUT ROWID`` in halves, so pages cells
        are appended to stay ~7/8 full, measured, in any insert order; a rewrite fills them), or
        once the bytes emptied that were not given back (small payloads share pages with
        payloads kept), counted across prunes, reach ``REWRITE_SHARE`` of the file."""
        before = self._pages()
        self._db.script("PRAGMA incremental_vacuum;")
        pages = self._pages()
        size = self._db.one("PRAGMA page_size")
        page = int(size[0]) if size else 4096
        with self._db.tx() as db:
            db.run(
                "INSERT INTO meta(key, value) VALUES ('emptied_bytes', ?) ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                (max(0, emptied - (before - pages) * page),),
            )
            found = db.one(
                "SELECT coalesce(max(CASE key WHEN 'emptied_bytes' THEN CAST(value AS INTEGER) "
                "END), 0), coalesce(max(CASE key WHEN 'rewritten_pages' THEN CAST(value AS "
                "INTEGER) END), 0) FROM meta"
            )
        left, rewritten = (int(found[0]), int(found[1])) if found else (0, 0)
        if left >= REWRITE_SHARE * pages * page or pages >= REWRITE_GROWTH * rewritten:
            self._db.script(
                "VACUUM; DELETE FROM meta WHERE key = 'emptied_bytes'; INSERT OR REPLACE INTO "
                "meta(key, value) SELECT 'rewritten_pages', page_count FROM pragma_page_count();"
            )
        self._db.script("PRAGMA wal_checkpoint(TRUNCATE);")  # the file shrinks at the checkpoint

    def _pages(self) -> int:
        found = self._db.one("PRAGMA page_count")
        return int(found[0]) if found else 0


def _note(outcome: Settlement) -> str | None:
    if outcome.remaining:
        return f"{len(outcome.remaining)} values due again: {outcome.reason}"
    return None


def _insert(
    db: Store,
    run_id: int,
    plan_name: str,
    data_set: str,
    strategy: str,
    id_schemes: dict[str, str],
    payload: Sequence[dict[str, Any]],
    target_id: int,
    *,
    parent: BatchRow | None = None,
    failures: tuple[int, str | None] | None = None,
    status: str = "pending",
    error: str | None = None,
    packed: Packed | None = None,
) -> BatchRow:
    """Insert a batch; the row as stored (built here, not read back and unpacked)."""
    count, kind = failures or (0, None)
    stamp = now()
    packed = packed or Packed.of(payload)
    fingerprint = packed.digest
    origin = None if parent is None else (parent.origin_id or parent.id)
    parent_id = None if parent is None else parent.id
    cur = db.run(
        "INSERT INTO batches(run_id, plan_name, data_set, strategy, id_schemes, digest, "
        "size, created_at, target_id, origin_id, parent_id, failures, failure_kind, status, "
        "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, plan_name, data_set, strategy, json.dumps(id_schemes, sort_keys=True),
         fingerprint, len(payload), stamp,
         target_id, origin, parent_id, count, kind, status, error),
    )  # fmt: skip
    batch_id = cur.lastrowid
    assert batch_id is not None
    if payload:  # an empty payload is no row (as a pruned one)
        db.run("INSERT INTO payloads(batch_id, blob) VALUES (?, ?)",
               (batch_id, packed.blob))  # fmt: skip
    if parent is None:
        origin = batch_id
        db.run("UPDATE batches SET origin_id = id WHERE id = ?", (batch_id,))
    return BatchRow(
        id=batch_id, run_id=run_id, plan_name=plan_name, data_set=data_set, strategy=strategy,
        id_schemes=dict(id_schemes), payload=list(payload), digest=fingerprint,
        status=status, http_status=None, imported=0, updated=0, ignored=0, deleted=0,
        attempts=0, error=error, size=len(payload), target_id=target_id, origin_id=origin,
        parent_id=parent_id, failures=count, failure_kind=kind, note=None, created_at=stamp,
    )  # fmt: skip


def _held_columns(batch: BatchRow, held: frozenset[int]) -> list[list[str]]:
    """Data elements, periods, org units, cocs, aocs, values, steps, stores and items of the
    held values, in payload order (lists, not a tuple per value: built at C speed)."""
    values = [batch.payload[i] for i in sorted(held)]
    return [
        [v["dataElement"] for v in values],
        [v["period"] for v in values],
        [v["orgUnit"] for v in values],
        [v.get("categoryOptionCombo") or "" for v in values],
        [v.get("attributeOptionCombo") or "" for v in values],
        [v["value"] for v in values],
        [v.get("step", "") for v in values],
        [v.get("store", "") for v in values],
        [v.get("item", "") for v in values],
    ]


def _record_cells(
    db: Store, batch: BatchRow, held: list[list[str]], ids: dict[str, int], scope: int
) -> None:
    """The cells DHIS2 now holds after an answered batch: upserted, or forgotten (DELETE), by
    the numbers of their (plan, target) and names (numbered in the order a run first produces
    them, so a batch's keys mostly ascend and its rows land on the table's last pages)."""
    de, pe, ou, coc, aoc, value, step, store, item = held
    number = ids.__getitem__
    keys = zip(repeat(scope), map(number, pe), map(number, ou), map(number, de),
               map(number, coc), map(number, aoc))  # fmt: skip
    if batch.strategy == "DELETE":
        db.many(
            "DELETE FROM cells WHERE scope = ? AND period = ? AND org_unit = ? "
            "AND data_element = ? AND coc = ? AND aoc = ?",
            list(keys),
        )
        return
    rest = zip(map(stored_value, value), map(number, step), map(number, store),
               map(number, item), repeat(batch.origin_id or batch.id))  # fmt: skip
    # in key order (stable: of two values of one cell the later still wins): the rows of a
    # batch land together, on the table's last pages for new cells
    rows = sorted(map(add, keys, rest), key=_CELL_KEY)
    db.many(
        "INSERT OR REPLACE INTO cells(scope, period, org_unit, data_element, coc, aoc, value, "
        f"step, store, item, batch_id) VALUES ({', '.join('?' * 11)})",
        rows,
    )


def _batch(r: tuple[Any, ...]) -> BatchRow:
    (id_, run_id, plan, data_set, strategy, schemes, payload, digest, size, status, http, imp,
     upd, ign, dele, attempts, error, target, origin, parent, failures, kind, note,
     created) = r  # fmt: skip
    return BatchRow(
        id=id_, run_id=run_id, plan_name=plan, data_set=data_set, strategy=strategy,
        id_schemes=json.loads(schemes), payload=unpack(payload), digest=digest, size=size,
        status=status, http_status=http, imported=imp, updated=upd, ignored=ign, deleted=dele,
        attempts=attempts, error=error, target_id=target, origin_id=origin, parent_id=parent,
        failures=failures, failure_kind=kind, note=note, created_at=created,
    )  # fmt: skip
