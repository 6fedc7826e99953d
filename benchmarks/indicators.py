"""Indicators at country scale: all 13 indicators for one reference date, against one scan.

Generates a synthetic country (default 200 stores x 300 items x 12 months, > 2 million movement
lines) in SQLite and in a throwaway PostgreSQL cluster, then times, in the same process and on
the same data: (a) the baseline, one query that scans every movement row once (sum of units per
store and item), and (b) `compute()` of all 13 indicators for every store x item at one
reference date. Prints both, their ratio (target <= 3) and the peak Python heap while computing
(tracemalloc; target: proportional to the number of values, not to the number of movements).

    .venv/bin/python benchmarks/indicators.py [--stores 200 --items 300 --months 12]
        [--skip-postgres] [--postgres-url URL] [--runs 3]
"""

from __future__ import annotations

import argparse
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


def _median_time(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(database: str, label: str, runs: int) -> dict[str, float]:
    reference = datetime.combine(END, clock.max, tzinfo=ZoneInfo(TZ))
    requests = [IndicatorRequest(n, n, {}, END.replace(day=1), reference) for n in INDICATORS]
    with open_source(database) as source:
        lines = source.rows("SELECT count(*) FROM invoice_line")[0][0]
        scope = source.scope(ScopeRules())

        def baseline() -> int:
            return sum(1 for _ in source.stream(BASELINE))

        def indicators() -> int:
            return sum(1 for _ in compute(source, scope, requests, tz=TZ))

        baseline()  # warm the page cache for both, so neither pays for first reads
        values = indicators()
        t_base = _median_time(baseline, runs)
        t_ind = _median_time(indicators, runs)
        tracemalloc.start()
        indicators()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(
        f"{label:<10} lines={lines:,} pairs={len(scope.stores) * len(scope.items):,} "
        f"values={values:,}\n"
        f"{'':<10} baseline scan {t_base:7.2f} s | all 13 indicators {t_ind:7.2f} s | "
        f"ratio {t_ind / t_base:5.2f} (target <= 3)\n"
        f"{'':<10} peak Python heap while computing {peak / 2**20:7.1f} MiB "
        f"= {peak / values:,.0f} bytes per value",
        flush=True,
    )
    return {"lines": lines, "baseline": t_base, "indicators": t_ind, "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres-url", help="an empty database to use instead of a cluster")
    args = parser.parse_args()
    size = dict(stores=args.stores, items=args.items, months=args.months, seed=1, end=END)
    with tempfile.TemporaryDirectory(prefix="dhispatch-bench-") as folder:
        path = str(Path(folder) / "country.sqlite")
        start = time.perf_counter()
        generate_demo(path, **size)
        print(f"generated SQLite country in {time.perf_counter() - start:.0f} s", flush=True)
        measure(path, "sqlite", args.runs)
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
        start = time.perf_counter()
        generate_demo(url, **size)
        print(f"generated PostgreSQL country in {time.perf_counter() - start:.0f} s", flush=True)
        measure(url, "postgresql", args.runs)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
