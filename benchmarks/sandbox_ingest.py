"""Values per second the sandbox ingests as its store fills: pre-filled ÷ empty, in one run.

Two sandboxes (``dhispatch sandbox`` subprocesses) serve the demo country's export: one stays
empty, the other is filled (straight into its SQLite file) to 100k, 300k, 600k and 1M stored
values, spread over the same data elements, org units and option combos as the measured posts
(older months). At each size both ingest the same pre-built posts of 1,000 values, in
alternating order round after round; the measured rows are removed after each round, so the
sizes stay put. Pre-filled ÷ empty says whether ingest stays flat as the store grows (1.0 =
flat). ``--baseline PATH`` also runs the sandbox of another checkout (e.g. the main branch) on
an empty store, interleaved with the others at every size: this code's empty rate ÷ its.

Run: .venv/bin/python benchmarks/sandbox_ingest.py [--rounds 7] [--posts 10] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sandbox_process import PASSWORD
from sandbox_process import SandboxProcess

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import demo_metadata

PERIOD = "202405"  # measured posts; the pre-filled values use months before 2024
SIZES = (0, 100_000, 300_000, 600_000, 1_000_000)
BATCH = 1000


def cells(meta: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(data element, org unit, category option combo) of the Kiribati data set."""
    kiribati = next(d for d in meta["dataSets"] if d["id"] == dc.KIRIBATI_DATA_SET)
    elements = [e["dataElement"]["id"] for e in kiribati["dataSetElements"]]
    units = [o["id"] for o in kiribati["organisationUnits"] if o["id"] != dc.ROOT_ORG_UNIT]
    cocs = list(dc.KIRIBATI_COCS.values())
    return [(de, ou, coc) for ou in units for de in elements for coc in cocs]


def months_before_2024() -> Iterator[str]:
    year, month = 2023, 12
    while True:
        yield f"{year}{month:02d}"
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)


def fill(path: Path, grid: list[tuple[str, str, str]], upto: int, have: int) -> int:
    """Insert values directly into the sandbox's file until ``upto`` are stored."""
    stamp = "2024-01-01T00:00:00.000"
    rows = []
    months = months_before_2024()
    count = 0
    for period in months:
        for de, ou, coc in grid:
            if count >= have:
                rows.append(
                    (de, period, ou, coc, dc.DEFAULT_COC, "1", None, 0, 0, "bench", stamp, stamp)
                )
            count += 1
            if count >= upto:
                break
        if count >= upto:
            break
    tidy(path, "INSERT INTO datavalue VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    return upto


def bodies(grid: list[tuple[str, str, str]], posts: int) -> list[bytes]:
    values = [
        {"dataElement": de, "period": PERIOD, "orgUnit": ou, "categoryOptionCombo": coc,
         "value": str(k % 97)}
        for k, (de, ou, coc) in enumerate(grid)
    ][: posts * BATCH]  # fmt: skip
    return [
        json.dumps({"dataSet": dc.KIRIBATI_DATA_SET, "dataValues": values[i : i + BATCH]}).encode()
        for i in range(0, len(values), BATCH)
    ]


def ingest(sb: SandboxProcess, posts: list[bytes]) -> float:
    """Values per second over the posts, then the measured rows removed again."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    sent = sum(p.count(b'"dataElement"') for p in posts)
    with httpx.Client(base_url=sb.url, auth=(dc.ADMIN_USER, PASSWORD), timeout=300) as http:
        started = time.perf_counter()
        for body in posts:
            answer = http.post("/api/dataValueSets", content=body, headers=headers)
            assert answer.status_code == 200, answer.text[:300]
        rate = sent / (time.perf_counter() - started)
    assert sb.data is not None
    tidy(sb.data, "DELETE FROM datavalue WHERE period = ?", [(PERIOD,)])
    return rate


def tidy(path: Path, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Change the file beside the running sandbox, then checkpoint the WAL, so the next
    measurement does not pay for this setup's pages."""
    conn = sqlite3.connect(path, timeout=60)
    with conn:
        conn.executemany(sql, rows)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def measure(
    sandboxes: dict[str, SandboxProcess], posts: list[bytes], rounds: int
) -> dict[str, list[float]]:
    """Each sandbox's rate per round, the order rotating from round to round."""
    rates: dict[str, list[float]] = {name: [] for name in sandboxes}
    names = list(sandboxes)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            rates[name].append(ingest(sandboxes[name], posts))
    return rates


def ratio(top: list[float], bottom: list[float]) -> float:
    """The median of per-round ratios: each pair was measured back to back, so the machine's
    load (other work on a shared box) cancels out better than in a ratio of medians."""
    return statistics.median(t / b for t, b in zip(top, bottom, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="2.40", help="sandbox DHIS2 version")
    parser.add_argument("--rounds", type=int, default=7, help="measurements per size (median)")
    parser.add_argument("--posts", type=int, default=10, help="posts of 1,000 values each")
    parser.add_argument("--stores", type=int, default=60, help="demo country stores")
    parser.add_argument("--items", type=int, default=100, help="demo country items")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare (empty store)")
    args = parser.parse_args()
    meta = demo_metadata(args.stores, args.items)
    grid = cells(meta)
    if len(grid) < args.posts * BATCH:
        raise SystemExit(f"{len(grid)} cells per period: raise --stores/--items or lower --posts")
    posts = bodies(grid, args.posts)
    work = Path(tempfile.mkdtemp(prefix="dhispatch-ingest-"))
    export = work / "export.json"
    export.write_text(json.dumps(meta), encoding="utf-8")
    print(
        f"sandbox DHIS2 {args.version}, demo export {args.stores} stores × {args.items} items;"
        f" {args.posts} posts of {BATCH} values per measurement, median of {args.rounds}"
    )
    sandboxes = {
        "empty": SandboxProcess(export, work / "empty.sqlite", version=args.version),
        "filled": SandboxProcess(export, work / "filled.sqlite", version=args.version),
    }
    if args.baseline:
        base = SandboxProcess(export, work / "base.sqlite", args.baseline, args.version)
        sandboxes["baseline"] = base
    head = f"{'stored':>10} {'empty v/s':>10} {'filled v/s':>11} {'filled ÷ empty':>15}"
    print(head + (f" {'baseline v/s':>13} {'empty ÷ baseline':>17}" if args.baseline else ""))
    try:
        have = 0
        for size in SIZES:
            have = fill(work / "filled.sqlite", grid, size, have) if size > have else have
            rates = measure(sandboxes, posts, args.rounds)
            e, f = statistics.median(rates["empty"]), statistics.median(rates["filled"])
            gain = ratio(rates["filled"], rates["empty"])
            line = f"{size:>10,} {e:>10,.0f} {f:>11,.0f} {gain:>15.2f}"
            if "baseline" in rates:
                b = statistics.median(rates["baseline"])
                line += f" {b:>13,.0f} {ratio(rates['empty'], rates['baseline']):>17.2f}"
            print(line, flush=True)
    finally:
        for sb in sandboxes.values():
            sb.stop()
        shutil.rmtree(work, ignore_errors=True)  # ~200 MB of pre-filled stores


if __name__ == "__main__":
    main()
