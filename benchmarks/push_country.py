"""A whole push of the 200-store × 300-item demo country, all 13 indicators, one month.

Prints total time, the share spent in indicators / payload building / HTTP, and peak memory
(tracemalloc) — at two country sizes and two batch sizes, to show what memory is bounded by.
The sandbox runs in its own process (``dhispatch sandbox``) so its memory is not counted.

Baselines, measured in the same process: one aggregate scan of the movement table (the least an
indicator computation must read) and raw posts of the push's own request bodies to a twin
sandbox (the least a push must send): each batch the push sends is also posted, as the same
bytes with a bare httpx client, to a second sandbox with the same export, alternately before
and after the push's own request, so both stores grow alike and both rates are measured against
the same store sizes at the same moments. The executor's own pipeline (cells, journal diff,
batches, HTTP) is also run on a synthetic stream of values so its memory can be seen apart from
the indicator engine's.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sandbox_process import PASSWORD
from sandbox_process import SandboxProcess

from dhispatch.compiler import compile_source
from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.generator import generate_demo
from dhispatch.runtime.demo.metadata import demo_metadata
from dhispatch.runtime.indicators.compute import STORES_PER_PASS
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import parse_plan
from dhispatch.runtime.run import RunMode
from dhispatch.runtime.run import RunOptions
from dhispatch.runtime.run import execute
from dhispatch.runtime.slots import manual_slots
from dhispatch.runtime.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
INDICATORS = (
    "stock_on_hand", "stock_expiring", "value_of_stock_on_hand", "average_monthly_consumption",
    "days_out_of_stock", "stock_beginning_of_month", "stock_end_of_month", "months_of_stock",
    "received", "issued", "adjustments", "stock_expired", "stocked_out",
)  # fmt: skip
EXTRA_COCS = {
    ind: f"bnCoc{n:06d}" for n, ind in enumerate(INDICATORS) if ind not in dc.KIRIBATI_COCS
}
COCS = {**dc.KIRIBATI_COCS, **EXTRA_COCS}
END = date(2024, 6, 20)
PERIOD = "202405"


def metadata(stores: int, items: int) -> dict[str, Any]:
    """The demo export with one category option combo per indicator in Kiribati's combo."""
    meta = demo_metadata(stores, items)
    for ind, uid in EXTRA_COCS.items():
        meta["categoryOptionCombos"].append(
            {"id": uid, "name": ind, "categoryCombo": {"id": dc.KIRIBATI_CATEGORY_COMBO}}
        )
    for combo in meta["categoryCombos"]:
        if combo["id"] == dc.KIRIBATI_CATEGORY_COMBO:
            combo["categoryOptionCombos"] += [{"id": uid} for uid in EXTRA_COCS.values()]
    return meta


def plan_for(url: str) -> Plan:
    text = (ROOT / "specs" / "kiribati.push").read_text(encoding="utf-8")
    plan = compile_source(text, "specs/kiribati.push").plan
    assert plan is not None
    template = plan["steps"][0]
    plan["steps"] = [
        {**template, "id": ind, "indicator": ind, "params": {}, "category_option_combo": COCS[ind]}
        for ind in INDICATORS
    ]
    plan["target"] = {**plan["target"], "url": url}
    return parse_plan(plan)


class ReplayTransport(httpx.BaseTransport):
    """Forwards the push to its sandbox and posts every data value set, as the same bytes with
    a bare client, to a twin sandbox too: first the twin on even batches, last on odd ones.
    ``replayed`` is the time the twin's posts took (inside the push's HTTP stage)."""

    def __init__(self, twin_url: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.twin = httpx.Client(base_url=twin_url, auth=("admin", PASSWORD), timeout=600)
        self.replayed = 0.0
        self.values = 0
        self.posts = 0

    def _replay(self, request: httpx.Request, body: bytes) -> None:
        started = time.perf_counter()
        answer = self.twin.post(
            request.url.raw_path.decode(),
            content=body,
            headers={"Content-Type": request.headers.get("content-type", "application/json")},
        )
        assert answer.status_code in (200, 409), answer.status_code
        self.replayed += time.perf_counter() - started
        self.values += body.count(b'"dataElement"')

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/dataValueSets"):
            return self.inner.handle_request(request)
        body = request.read()
        self.posts += 1
        if self.posts % 2:
            self._replay(request, body)
            return self.inner.handle_request(request)
        response = self.inner.handle_request(request)
        response.read()
        self._replay(request, body)
        return response

    def close(self) -> None:
        self.twin.close()
        self.inner.close()


def sink() -> httpx.MockTransport:
    """A DHIS2 that accepts everything instantly (2.40 answer shape), for the memory runs."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/system/info"):  # every run asks first: version, clock
            return httpx.Response(200, json={"version": "2.40.4", "serverTimeZoneId": "Etc/UTC"})
        n = request.content.count(b'"dataElement"')
        summary = {
            "responseType": "ImportSummary",
            "status": "SUCCESS",
            "conflicts": [],
            "importCount": {"imported": n, "updated": 0, "ignored": 0, "deleted": 0},
        }
        return httpx.Response(
            200,
            json={"httpStatus": "OK", "httpStatusCode": 200, "status": "OK", "response": summary},
        )

    return httpx.MockTransport(answer)  # fmt: skip


def push(
    plan: Plan, db: Path, state: Path, batch: int, *, trace: bool, transport: Any = None
) -> dict[str, Any]:
    env = {"OMSUPPLY_DB": str(db), "DHIS2_USER": "admin", "DHIS2_PASSWORD": PASSWORD}
    for suffix in ("", "-wal", "-shm"):
        Path(str(state) + suffix).unlink(missing_ok=True)
    with Journal.open(state) as journal:
        slots = manual_slots(plan, period=PERIOD)
        options = RunOptions(batch_size=batch, env=env, transport=transport)
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        result = execute(plan, journal, slots, mode=RunMode.PUSH, trigger="bench", options=options)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
    assert result.status == "ok", result.summary
    return {"summary": result.summary.as_json(), "elapsed": elapsed, "peak": peak}


def journal_bytes(state: Path) -> int:
    """The journal's size on disk: its file plus its write-ahead log, if any."""
    return sum(
        Path(str(state) + suffix).stat().st_size
        for suffix in ("", "-wal")
        if Path(str(state) + suffix).exists()
    )


def journal_figures(state: Path, values: int) -> None:
    """Bytes per value pushed: as the push left the journal, then with every payload pruned."""
    pushed = journal_bytes(state)
    with Journal.open(state) as journal:
        started = time.perf_counter()
        pruned = journal.prune(datetime.now(UTC) + timedelta(days=1))
        took = time.perf_counter() - started
    after = journal_bytes(state)
    say(
        f"  journal: {pushed:,} bytes after the push = {pushed / values:.1f} B a value; "
        f"{pruned} payloads pruned in {took:.1f} s → {after:,} bytes = {after / values:.1f} B "
        "a value retained"
    )


def scan_baseline(db: Path) -> float:
    with open_source(str(db)) as source:
        started = time.perf_counter()
        source.rows(
            "SELECT il.item_link_id, i.store_id, count(*), sum(il.number_of_packs * il.pack_size) "
            "FROM invoice_line il JOIN invoice i ON i.id = il.invoice_id "
            "GROUP BY il.item_link_id, i.store_id"
        )
        return time.perf_counter() - started


def synthetic(batch_plan: Plan, db: Path, state: Path, batch: int) -> int:
    """Peak memory of the executor's own pipeline on a streamed, synthetic indicator output."""
    import dhispatch.runtime.indicators as indicators

    real = indicators.compute

    def streamed(source: Any, scope: Any, requests: Any, *, tz: str) -> Iterator[Any]:
        from dhispatch.runtime.indicators import IndicatorValue

        for store in scope.stores:
            for item in scope.items:
                for req in requests:
                    yield IndicatorValue(req.key, store.id, item.id, float(len(item.code)))

    indicators.compute = streamed  # type: ignore[assignment]
    try:
        return int(push(batch_plan, db, state, batch, trace=True, transport=sink())["peak"])
    finally:
        indicators.compute = real  # type: ignore[assignment]


def say(text: str) -> None:
    print(text, flush=True)


def main() -> None:
    # BENCH_WORK=DIR keeps the generated countries in DIR and reuses them on the next run
    kept = os.environ.get("BENCH_WORK")
    work = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="dhispatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    big, small = (200, 300), (50, 300)
    dbs = {}
    for stores, items in (big, small):
        db = dbs[(stores, items)] = work / f"country-{stores}x{items}.sqlite"
        if db.exists():
            continue
        t0 = time.perf_counter()
        generate_demo(str(db), stores=stores, items=items, months=4, seed=3, end=END)
        say(f"generated the {stores}×{items} country in {time.perf_counter() - t0:.1f} s")
    state = work / "state.sqlite"
    meta = work / f"meta-{big[0]}x{big[1]}.json"
    meta.write_text(json.dumps(metadata(*big)), encoding="utf-8")
    for stored in ("pushed.sqlite", "twin.sqlite"):  # both sandboxes start empty
        for suffix in ("", "-wal", "-shm"):
            (work / (stored + suffix)).unlink(missing_ok=True)
    sandbox = SandboxProcess(meta, work / "pushed.sqlite")
    twin = SandboxProcess(meta, work / "twin.sqlite")
    replay = ReplayTransport(twin.url)
    try:
        plan = plan_for(sandbox.url)
        run = push(plan, dbs[big], state, 1000, trace=False, transport=replay)
        s = run["summary"]
        # the twin's posts are the baseline, not part of the push: take them out of its times
        t = {**s["timings"], "http": s["timings"]["http"] - replay.replayed}
        total = run["elapsed"] - replay.replayed
        say(
            f"\npush to the sandbox: {big[0]} stores × {big[1]} items × {len(INDICATORS)} "
            f"indicators, period {PERIOD}: {s['sent']:,} values in {s['batches']} batches"
        )
        say(f"  total            {total:7.2f} s   ({s['sent'] / total:,.0f} values/s)")
        for stage in ("indicators", "payload", "journal", "http"):
            say(f"  {stage:<16} {t[stage]:7.2f} s   {100 * t[stage] / total:5.1f} %")
        other = total - sum(t[k] for k in ("indicators", "payload", "journal", "http"))
        say(f"  other            {other:7.2f} s   {100 * other / total:5.1f} %")
        journal_figures(state, s["sent"])
        scan = scan_baseline(dbs[big])
        say(
            f"  baseline: one aggregate scan of the movement table {scan:.3f} s → indicators "
            f"= {t['indicators'] / scan:.1f}× that scan"
        )
        raw = replay.values / replay.replayed
        pushed = s["sent"] / t["http"]
        say(
            f"  baseline: a twin sandbox ingested the push's own request bodies, posted raw"
            f" between the push's requests (same store sizes, interleaved), at {raw:,.0f}"
            f" values/s; the push's HTTP stage ran at {pushed:,.0f} values/s (×{pushed / raw:.2f})"
        )
        sending = s["sent"] / (t["http"] + t["journal"])
        say(
            f"  sending (journal + HTTP, what the push does around the same bodies): "
            f"{sending:,.0f} values/s (×{sending / raw:.2f} the raw posts)"
        )
        # the whole push but the indicator engine (measured against its own baseline above):
        # cells, diff, admission, outbox, journal, request bodies and HTTP, per value pushed
        whole = s["sent"] / (total - t["indicators"])
        own = 1e6 / whole - 1e6 / raw
        say(
            f"  whole push less the indicator engine: {whole:,.0f} values/s (×{whole / raw:.2f} "
            f"the raw posts): dhispatch's own {own:.0f} µs a value beside the raw post's "
            f"{1e6 / raw:.0f} µs"
        )
    finally:
        replay.close()
        sandbox.stop()
        twin.stop()
    if "--no-memory" not in sys.argv:
        memory(dbs, state, big, small)
    if not os.environ.get("KEEP_BENCH") and not kept:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def memory(dbs: dict[tuple[int, int], Path], state: Path, big: Any, small: Any) -> None:
    """Peak memory at two batch sizes and two country sizes."""
    say("\npeak memory (tracemalloc) against an instant in-process DHIS2 (MockTransport):")
    say(f"  {'country':<9} {'batch':>6} {'whole push':>11} {'executor pipeline':>18}")
    plan = plan_for("http://127.0.0.1:9")
    rows = []
    for size, batch in ((big, 250), (big, 2000), (small, 250)):
        whole = push(plan, dbs[size], state, batch, trace=True, transport=sink())["peak"]
        pipe = synthetic(plan, dbs[size], state, batch)
        rows.append((whole, pipe))
        say(
            f"  {size[0]}×{size[1]:<5} {batch:>6} {whole / 2**20:>8.1f} MiB "
            f"{pipe / 2**20:>15.1f} MiB"
        )
    (w250, p250), (w2000, p2000), (wsmall, psmall) = rows
    say(
        f"  executor pipeline: ×{p2000 / p250:.2f} for 8× the batch size, ×{p250 / psmall:.2f} "
        "for 4× the country → bounded by the batch size"
    )
    say(
        f"  whole push: ×{w2000 / w250:.2f} for 8× the batch size, ×{w250 / wsmall:.2f} for 4× "
        f"the country (the indicator engine keeps one row of sums per store × item of a pass "
        f"of {STORES_PER_PASS} stores)"
    )


if __name__ == "__main__":
    main()
