"""The set-based SQL: one movement pass (pair sums, batch sums after R, day buckets) per pass.

The movement pass reads each store's lines since that store's own earliest cut (the start of the
longest window any of its values looks at) and returns per (store, item) the conditional sums
callers registered by name; rows moved after the earliest reference instant that needs batch
balances are also split by stock line, and rows inside a days-out-of-stock window by local day,
so one scan answers balances, flows, batch balances and day buckets. Stock lines are read per
chunk of stores (``stock_sql``), their batch sums as they stand today, in SQL; the few batches
that moved after R are corrected in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.runtime.indicators.definitions import EPSILON
from dhispatch.runtime.indicators.timeframe import MICRO
from dhispatch.runtime.indicators.timeframe import OffsetSegment

if TYPE_CHECKING:
    from dhispatch.runtime.sources import Source

ISSUE_KINDS = ("OUTBOUND_SHIPMENT", "PRESCRIPTION")
RECEIPT_KINDS = ("INBOUND_SHIPMENT",)


def adjustment_kinds(source: Source) -> tuple[str, ...]:
    """Inventory adjustments and returns (the returns' names changed in 2.3.0)."""
    caps = source.caps
    return ("INVENTORY_ADDITION", "INVENTORY_REDUCTION", caps.customer_return, caps.supplier_return)


def effective_sql(source: Source) -> str:
    """The effective timestamp of a movement by invoice type (reference §1.4 ``stock_movement``)."""
    caps = source.caps
    return (
        f"CASE WHEN i.type IN ('OUTBOUND_SHIPMENT', '{caps.supplier_return}', 'PRESCRIPTION') "
        "THEN i.picked_datetime "
        f"WHEN i.type IN ('INBOUND_SHIPMENT', '{caps.customer_return}') "
        f"THEN i.{caps.received_column} "
        "WHEN i.type IN ('INVENTORY_ADDITION', 'INVENTORY_REDUCTION', 'REPACK') "
        "THEN i.verified_datetime END"
    )


def moves_stock_sql(source: Source, line: str = "l") -> str:
    """Conditions on an invoice line that moves stock: a stock line type, packs > 0, and
    (2.17+) not a PENDING line, which open mSupply saves without a stock line
    (``stock_in_line/insert/generate.rs``); REJECTED lines became UNALLOCATED_STOCK."""
    return f"{line}.type IN ('STOCK_IN', 'STOCK_OUT') AND {line}.number_of_packs > 0" + (
        f" AND {not_pending_sql(source, line)}" if source.caps.line_status else ""
    )


def not_pending_sql(source: Source, line: str = "l") -> str:
    """Not a PENDING line (2.17+; before, every line is true)."""
    if not source.caps.line_status:
        return "1 = 1"
    return f"({line}.status IS NULL OR {line}.status <> 'PENDING')"


UNITS_SQL = (
    "(CASE WHEN l.type = 'STOCK_IN' THEN l.number_of_packs ELSE -l.number_of_packs END) "
    "* l.pack_size"
)


def _prefilter(source: Source, param: str) -> str:
    """An index-friendly superset test (any status timestamp after ``param``) before the CASE."""
    cols = [
        f"i.{c} > {param}"
        for c in ("picked_datetime", "received_datetime", "delivered_datetime", "verified_datetime")
        if source.caps.has("invoice", c)
    ]
    return "(" + " OR ".join(cols) + ")"


@dataclass
class DayKeys:
    """Day buckets of the pass: rows effective in (first, last] get their local day number
    (and, when a reference instant falls inside a day, which side of it: ``splits``)."""

    first: datetime
    last: datetime
    segments: Sequence[OffsetSegment]
    splits: list[tuple[datetime, datetime]] = field(default_factory=list)  # (R, end of R's day)


class MovementPass:
    """Per (store, item): conditional sums of signed units; batch and day keys on demand."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.params: dict[str, Any] = {}
        self._cols: dict[tuple[Any, ...], int] = {}
        self._exprs: list[tuple[str, ...]] = []
        self.batch_from: datetime | None = None  # rows after this get their stock line id
        self.days: DayKeys | None = None
        self.all: int | None = None  # column of every row's net units (for day buckets)

    def _param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def _column(self, key: tuple[Any, ...]) -> int:
        if key not in self._cols:
            self._cols[key] = len(self._cols)
        return self._cols[key]

    def after(self, cut: datetime) -> int:
        """Column: Σ signed units of movements with effective time > ``cut``."""
        return self._column(("after", cut))

    def flow(self, kinds: Sequence[str], lo: datetime, hi: datetime) -> int:
        """Column: Σ signed units of ``kinds`` with ``lo < effective time <= hi``."""
        return self._column(("flow", tuple(kinds), lo, hi))

    def outflow(self, lo: datetime, hi: datetime) -> int:
        """Column: Σ units of the outgoing movements with ``lo < effective time <= hi``."""
        return self._column(("outflow", lo, hi))

    def moves(self, lo: datetime, hi: datetime) -> int:
        """Column: how many movements have ``lo < effective time <= hi``."""
        return self._column(("moves", lo, hi))

    def every_row(self) -> int:
        """Column: Σ signed units of every row (a day bucket's net movement)."""
        self.all = self._column(("all",))
        return self.all

    def batches_after(self, cut: datetime) -> int:
        """Split rows after ``cut`` by stock line; the column of units moved after it."""
        self.batch_from = cut if self.batch_from is None else min(self.batch_from, cut)
        return self.after(cut)

    @property
    def width(self) -> int:
        return len(self._cols)

    def sql(self, groups: Sequence[tuple[list[str], datetime]], ordered: bool) -> str:
        """The statement for ``groups`` of (store ids, cut): each store's rows after its cut.

        Three levels: the lines with their effective instant (``at``); then ``b``, how many of
        the pass's cut instants lie before ``at``, and ``c``, the class of the invoice type; then
        the sums, each of which tests ``b`` and ``c`` (small integers) instead of comparing
        timestamps (text on SQLite) once per sum.
        """
        self.params = {}
        src, p = self.source, self._param
        cuts = self._instants(groups)
        where = {cut: n for n, cut in enumerate(cuts)}  # at > cut  <=>  b > where[cut]
        classes = self._classes()
        sums = self._sums(where, classes)
        # each store's own cut (NULL for a store outside the pass, whose lines then never pass)
        stores = [p(ids) for ids, _ in groups]
        cut = "CASE " + " ".join(f"WHEN i.store_id IN {s} THEN {p(src.ts(c))}" for s, (_, c)
                                 in zip(stores, groups, strict=True)) + " END"  # fmt: skip
        grp = "0"
        if len(groups) > 1:
            grp = "CASE " + " ".join(f"WHEN i.store_id IN {s} THEN {n}" for n, s in
                                     enumerate(stores)) + " END"  # fmt: skip
        bucket = "CASE " + " ".join(f"WHEN r.at > {p(src.ts(c))} THEN {n + 1}" for n, c in
                                    reversed(list(enumerate(cuts)))) + " ELSE 0 END"  # fmt: skip
        by_kind = self._kind_classes(classes)
        kind = ("CASE r.kind " + " ".join(f"WHEN '{k}' THEN {n}" for k, n in by_kind.items())
                + " ELSE 0 END") if by_kind else "0"  # fmt: skip
        sl = (
            f"CASE WHEN m.b > {where[self.batch_from]} THEN m.sl END" if self.batch_from else "NULL"
        )
        day, part = self._day_keys(where)
        # the line status is the last column of a long record: decoded only for the lines
        # that pass their store's cut, not for every line of the table
        status = "l.status" if src.caps.line_status else "NULL"
        earliest = p(src.ts(min(c for _, c in groups)))
        if src.dialect == "sqlite":
            # open mSupply's SQLite invoice_line has no index on invoice_id: scan the lines
            # once, looking each invoice up by its primary key (CROSS JOIN fixes that order);
            # the cheap time test comes first, the stores are tested by their cuts after it
            joins = "invoice_line l CROSS JOIN invoice i"
            on, fence = "i.id = l.invoice_id AND ", "LIMIT -1 OFFSET 0"
        else:
            # the chunk's invoices by store (index), then their lines (index on invoice_id)
            joins = "invoice_line l JOIN invoice i ON i.id = l.invoice_id"
            all_stores = p([s for ids, _ in groups for s in ids])
            on, fence = f"i.store_id IN {all_stores} AND ", "OFFSET 0"
        # group and order by the same output columns (by position), so SQLite emits its groups
        # in order instead of sorting them a second time
        # (days before stock lines: a pair's day buckets come in order)
        keys = ", ".join(["1", "2", "3", *(str(n) for n, k in ((5, day), (6, part), (4, sl))
                                           if k not in ("NULL", "0"))])  # fmt: skip
        # each fence keeps its subquery a row source, so every expression is computed once per
        # line that passes its store's cut rather than once per sum that uses it
        return f"""
SELECT m.grp, m.store_id, m.item_id, {sl} AS sl, {day} AS d, {part} AS part,
       {", ".join(sums) or "0"}
FROM (
  SELECT r.grp AS grp, r.store_id AS store_id, r.item_id AS item_id, r.sl AS sl, r.units AS units,
         r.at AS at, {bucket} AS b, {kind} AS c
  FROM (
    SELECT i.store_id AS store_id, l.item_link_id AS item_id, l.stock_line_id AS sl, i.type AS kind,
           {UNITS_SQL} AS units, {effective_sql(src)} AS at, {grp} AS grp, {status} AS status
    FROM {joins}
    WHERE {on}l.type IN ('STOCK_IN', 'STOCK_OUT') AND l.number_of_packs > 0
      AND {_prefilter(src, earliest)} AND {effective_sql(src)} > {cut}
    {fence}
  ) r
  WHERE {not_pending_sql(src, "r")}
  {fence}
) m
GROUP BY {keys}
{"ORDER BY " + keys if ordered else ""}
"""

    def _sums(self, where: dict[datetime, int], classes: dict[tuple[str, ...], int]) -> list[str]:
        """One SUM per registered column, in column order, testing ``b`` and ``c`` only."""
        sums = []
        for key in self._cols:
            if key[0] == "all":
                sums.append("SUM(m.units)")
            elif key[0] == "moves":
                lo, hi = where[key[1]], where[key[2]]
                sums.append(f"SUM(CASE WHEN m.b > {lo} AND m.b <= {hi} THEN 1 ELSE 0 END)")
            elif key[0] == "outflow":
                lo, hi = where[key[1]], where[key[2]]
                sums.append(f"SUM(CASE WHEN m.b > {lo} AND m.b <= {hi} AND m.units < 0 "
                            "THEN m.units ELSE 0 END)")  # fmt: skip
            elif key[0] == "after":
                sums.append(f"SUM(CASE WHEN m.b > {where[key[1]]} THEN m.units ELSE 0 END)")
            else:
                lo, hi, cls = where[key[2]], where[key[3]], classes[key[1]]
                sums.append(f"SUM(CASE WHEN m.b > {lo} AND m.b <= {hi} AND m.c = {cls} "
                            "THEN m.units ELSE 0 END)")  # fmt: skip
        return sums

    def _instants(self, groups: Sequence[tuple[list[str], datetime]]) -> list[datetime]:
        """Every instant a sum, a key or a store's cut compares ``at`` with, in order."""
        found = {c for _, c in groups}
        for key in self._cols:
            found.update(k for k in key[1:] if isinstance(k, datetime))
        if self.batch_from is not None:
            found.add(self.batch_from)
        if self.days is not None:
            found.update((self.days.first, self.days.last))
        return sorted(found)

    def _classes(self) -> dict[tuple[str, ...], int]:
        """A class number per kind set the flows use (1, 2, …; 0 = every other type)."""
        sets = sorted({key[1] for key in self._cols if key[0] == "flow"})
        return {kinds: n for n, kinds in enumerate(sets, start=1)}

    @staticmethod
    def _kind_classes(classes: dict[tuple[str, ...], int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for kinds, n in classes.items():
            for k in kinds:
                if k in out and out[k] != n:
                    raise AssertionError(f"invoice type {k} in two flow classes")
                out[k] = n
        # the most frequent type first: the CASE stops at its first match
        return dict(sorted(out.items(), key=lambda kv: kv[0] != "PRESCRIPTION"))

    def _day_keys(self, where: dict[datetime, int]) -> tuple[str, str]:
        keys = self.days
        if keys is None:
            return "NULL", "0"
        src, p = self.source, self._param
        offset = str(keys.segments[0].seconds)
        if len(keys.segments) > 1:
            branches = []
            for prev, seg in zip(keys.segments, keys.segments[1:], strict=False):
                # a timestamp before this segment's start belongs to the previous offset
                starts = seg.starts - MICRO if seg.starts else None
                branches.append(f"WHEN m.at <= {p(src.ts(starts) if starts else None)} "
                                f"THEN {prev.seconds}")  # fmt: skip
            offset = f"(CASE {' '.join(branches)} ELSE {keys.segments[-1].seconds} END)"
        window = f"m.b > {where[keys.first]} AND m.b <= {where[keys.last]}"
        day = f"CASE WHEN {window} THEN ({src.epoch_sql('m.at')} + {offset}) / 86400 END"
        parts = [
            f"CASE WHEN m.at > {p(src.ts(r))} AND m.at <= {p(src.ts(e))} THEN 1 ELSE 0 END"
            for r, e in keys.splits
        ]
        return day, " + ".join(parts) if parts else "0"


@dataclass(frozen=True, slots=True)
class BatchSum:
    """A sum over a pair's batches with stock at R: expiring in (lo, hi], expired by ``hi``
    (lo None), or valued at cost (``value``)."""

    cut: datetime
    kind: str  # expiring | expired | value
    lo: date | None = None
    hi: date | None = None

    def contribution(self, units: float, expiry: Any, pack: float, cost: float) -> float:
        """One batch's part of the sum, holding ``units`` at the cut (the SQL below in Python)."""
        if self.kind == "value":
            return units / pack * cost if pack > 0 else 0.0
        if units <= EPSILON or expiry is None:
            return 0.0
        day = expiry if isinstance(expiry, date) else date.fromisoformat(str(expiry)[:10])
        if self.kind == "expired":
            return units if self.hi is not None and day <= self.hi else 0.0
        return (
            units
            if self.lo is not None and self.hi is not None and self.lo < day <= self.hi
            else 0.0
        )


def stock_sql(source: Source, sums: Sequence[BatchSum], params: dict[str, Any]) -> str:
    """Per (store, item link) of a chunk: units in stock and available now, and each batch sum
    as if no batch had moved after its cut (the caller corrects those that did), over the
    stock lines that hold stock (empty ones add nothing; open mSupply keeps them for ever).
    Item links are resolved to items by the caller, which knows the few links of merged
    items."""
    cols = []
    for n, s in enumerate(sums):
        units = "s.total_number_of_packs * s.pack_size"
        if s.kind == "value":
            cols.append("SUM(CASE WHEN s.pack_size > 0 THEN s.total_number_of_packs * "
                        "COALESCE(s.cost_price_per_pack, 0) ELSE 0 END)")  # fmt: skip
            continue
        params[f"hi{n}"] = source.day(s.hi) if s.hi else None
        test = f"s.expiry_date <= :hi{n}"
        if s.kind == "expiring":
            params[f"lo{n}"] = source.day(s.lo) if s.lo else None
            test = f"s.expiry_date > :lo{n} AND {test}"
        cols.append(f"SUM(CASE WHEN {units} > {EPSILON} AND {test} THEN {units} ELSE 0 END)")
    extra = "".join(f", {c}" for c in cols)
    return (
        "SELECT s.store_id, s.item_link_id, SUM(s.total_number_of_packs * s.pack_size), "
        f"SUM(s.available_number_of_packs * s.pack_size){extra} "
        "FROM stock_line s WHERE s.store_id IN :stores "
        "AND (s.total_number_of_packs <> 0 OR s.available_number_of_packs <> 0) "
        "GROUP BY s.store_id, s.item_link_id"
    )


def batch_details_sql() -> str:
    """Stock lines by id, of the chunk's stores: (id, store, item link, units now, expiry, pack
    size, cost per pack)."""
    return (
        "SELECT s.id, s.store_id, s.item_link_id, s.total_number_of_packs * s.pack_size, "
        "s.expiry_date, s.pack_size, COALESCE(s.cost_price_per_pack, 0) FROM stock_line s "
        "WHERE s.id IN :ids AND s.store_id IN :stores"
    )
