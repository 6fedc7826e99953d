"""Indicators at country scale: all 13 indicators for one reference date, against one scan.

Generates a synthetic country (default 200 stores x 300 items x 12 months, > 3 million movement
lines, open mSupply's real layout) in SQLite and in a throwaway PostgreSQL cluster, then times,
in the same process and on the same data, interleaved run by run: (a) the baseline, one query
that scans every movement row once (sum of units per store and item), and (b) `compute()` of all
13 indicators for every store x item at one reference date. Prints the medians, their ratio
(target <= 1.5), a digest of every value (to check that a change of the engine changes no
value) and the peak Python heap while computing (tracemalloc; bounded by a chunk of stores).

    .venv/bin/python benchmarks/indicators.py [--stores 200 --items 300 --months 12]
        [--skip-postgres] [--postgres-url URL] [--runs 5] [--keep DIR]

``--keep DIR`` keeps the generated SQLite file and PostgreSQL database name there and reuses
them on the next run (``DIR/country.sqlite``; the cluster is still a throwaway one unless
``--postgres-url`` names a database, which is filled when empty and reused when not).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from datetime import datetime
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.pgserver

from dhispatch.runtime.demo.generator import generate_demo  # noqa: E402
from dhispatch.runtime.indicators import INDICATORS  # noqa: E402
from dhispatch.runtime.indicators import IndicatorRequest  # noqa: E402
from dhispatch.runtime.indicators import compute  # noqa: E402
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import open_source  # noqa: E402

BASELINE = (
    "SELECT i.store_id, k.item_id, SUM(l.number_of_packs * l.pack_size) "
    "FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id "
    "JOIN item_link k ON k.id = l.item_link_id GROUP BY i.store_id, k.item_id"
)
END = date(2026, 10, 31)
TZ = "Pacific/Tarawa"


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(database: str, label: str, runs: int) -> dict[str, float]:
    reference = datetime.combine(END, clock.max, tzinfo=ZoneInfo(TZ))
    requests = [IndicatorRequest(n, n, {}, END.replace(day=1), reference) for n in INDICATORS]
    with open_source(database) as source:
        rows = source.rows("SELECT count(*) FROM invoice_line")[0][0]
        scope = source.scope(ScopeRules())

        def baseline() -> int:
            return sum(1 for _ in source.stream(BASELINE))

        def indicators() -> int:
            return sum(1 for _ in compute(source, scope, requests, tz=TZ))

        # every value, in an order that does not depend on the engine's (also warms the cache)
        lines = sorted(
            f"{v.key}|{v.store_id}|{v.item_id}|{v.value!r}"
            for v in compute(source, scope, requests, tz=TZ)
        )
        digest = hashlib.sha256("\n".join(lines).encode())
        values = len(lines)
        del lines
        baseline()
        # interleaved, so that load from other work on the machine hits both alike
        pairs = [(_timed(baseline), _timed(indicators)) for _ in range(runs)]
        t_base = statistics.median(p[0] for p in pairs)
        t_ind = statistics.median(p[1] for p in pairs)
        ratio = statistics.median(p[1] / p[0] for p in pairs)
        tracemalloc.start()
        indicators()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(
        f"{label:<10} lines={rows:,} pairs={len(scope.stores) * len(scope.items):,} "
        f"values={values:,} digest={digest.hexdigest()[:16]}\n"
        f"{'':<10} baseline scan {t_base:7.2f} s | all 13 indicators {t_ind:7.2f} s | "
        f"ratio of medians {t_ind / t_base:5.2f}, median of ratios {ratio:5.2f} "
        f"(target <= 1.5; {runs} interleaved runs)\n"
        f"{'':<10} runs: "
        + "  ".join(f"{b:.2f}/{i:.2f}" for b, i in pairs)
        + f"\n{'':<10} peak Python heap while computing {peak / 2**20:7.1f} MiB",
        flush=True,
    )
    return {"lines": rows, "baseline": t_base, "indicators": t_ind, "peak": peak}


def _sqlite(args: argparse.Namespace, folder: Path, size: dict[str, Any]) -> str:
    path = folder / "country.sqlite"
    if not path.exists():
        start = time.perf_counter()
        generate_demo(str(path), **size)
        print(f"generated SQLite country in {time.perf_counter() - start:.0f} s", flush=True)
    return str(path)


def _postgres(url: str, size: dict[str, Any]) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        filled = conn.execute("SELECT to_regclass('invoice') IS NOT NULL").fetchone()
    if filled and filled[0]:
        return
    start = time.perf_counter()
    generate_demo(url, **size)
    print(f"generated PostgreSQL country in {time.perf_counter() - start:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--postgres-url", help="a database to fill (when empty) and use")
    parser.add_argument("--keep", help="a folder to keep (and reuse) the SQLite country in")
    args = parser.parse_args()
    size = dict(stores=args.stores, items=args.items, months=args.months, seed=1, end=END)
    with tempfile.TemporaryDirectory(prefix="dhispatch-bench-") as scratch:
        folder = Path(args.keep or scratch)
        if not args.skip_sqlite:
            measure(_sqlite(args, folder, size), "sqlite", args.runs)
    if args.skip_postgres:
        return
    server = None
    url = args.postgres_url
    if url is None:
        import psycopg

        from tests.pgserver import PostgresServer

        server = PostgresServer.start()
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        url = server.url.rpartition("/")[0] + "/bench"
    try:
        _postgres(url, size)
        measure(url, "postgresql", args.runs)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
