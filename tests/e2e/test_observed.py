"""Every case issue 12 lists as observed, replayed through the CLI against the sandbox (behind the
fault proxy where the fault is in transit): each failed on the code before issue 12.

The tests speak only the CLI and the sandbox, never the journal's tables, so they read the same
against the code before and after; which test replays which case is said in each docstring."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo import metadata as sd
from tests.e2e.conftest import END
from tests.e2e.conftest import MAY
from tests.e2e.conftest import PASSWORD
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import env_for
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import plan_file
from tests.e2e.conftest import stored
from tests.faults.proxy import FaultProxy

NOW = "2024-06-01T06:00:00+12:00"  # a due instant of Kiribati's monthly pushes (May)


@contextmanager
def stack(
    version: str = "2.40", today: date | None = END, metadata: dict[str, Any] | None = None
) -> Iterator[tuple[Any, FaultProxy]]:
    """A sandbox of ``version`` behind a fault proxy."""
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    export = metadata or sd.demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS)
    users = {dc.ADMIN_USER: PASSWORD}
    config = SandboxConfig(metadata=export, version=version, users=users, today=today)
    with start_sandbox(config) as sandbox:
        proxy = FaultProxy(sandbox.url).start()
        try:
            yield sandbox, proxy
        finally:
            proxy.stop()


def push(plan: Path, state: Path, db: Path, *more: str, code: int | None = None) -> dict[str, Any]:
    args = ["push", str(plan), "--period", "202405", "--state", str(state), "--json",
            "--retry-delay", "0", *more]  # fmt: skip
    out = cli(args, db, code=code).output
    summary, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])  # diagnostics may follow
    return dict(summary)


@pytest.mark.parametrize(
    ("fault", "version"),
    [("stray-conflict", "2.36"), ("index-out-of-range", "2.40"), ("error-counts", "2.40"),
     ("zero-counts", "2.43")],
)  # fmt: skip
def test_values_are_never_recorded_on_a_reply_that_does_not_prove_them(
    fault: str, version: str, small_country: Country, tmp_path: Path
) -> None:
    """Point 2: "100/100 values missing in DHIS2 for good" — a reply whose conflicts name nothing
    sent, or whose counts do not add up, was recorded as accepted; the next push said
    "unchanged". ``error-counts`` also printed "refused 100" while the journal said accepted."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", db, *MAY)
    with stack(version) as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        proxy.inject(fault)
        first = push(plan, state, db, "--batch-size", "1000")
        assert stored(sandbox) == set() and first["refused"] == 0
        push(plan, state, db)
        assert stored(sandbox) == expected


@pytest.mark.parametrize("fault", ["webmessage-404", "webmessage-409", "webmessage-403"])
def test_a_refusal_without_an_import_summary_keeps_the_slot_due(
    fault: str, small_country: Country, tmp_path: Path
) -> None:
    """Point 3: "3/3 cases, 100 values each" — one 4xx WebMessage (a proxy's 404 during a
    restart, a transient 409 or 403) completed the slot; the next run said "nothing due"."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        run = ["run", "--once", str(plan), "--state", str(state), "--retry-delay", "0"]
        proxy.inject(fault)
        cli([*run, "--now", NOW], db, code=1)
        assert stored(sandbox) == set()
        again = cli([*run, "--now", "2024-06-01T07:00:00+12:00"], db)
        assert "nothing due" not in again.output
        assert stored(sandbox) == expected_cells("kiribati", db, *MAY)


def test_a_body_size_limit_halves_the_batch_and_says_what_it_is(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 4: a reverse proxy's 413 body limit stopped every run ("5/5 runs, 0/643 values ever
    delivered") and was reported as "Authentication failed … a login page?"."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        proxy.body_limit = 3000  # bytes: about 20 values fit
        result = cli(["push", str(plan), "--period", "202405", "--state", str(state),
                      "--batch-size", "1000", "--retry-delay", "0"], db)  # fmt: skip
        assert "Authentication failed" not in result.output
        assert stored(sandbox) == expected_cells("kiribati", db, *MAY)
        taken = [n for n, fault in zip(proxy.sizes, proxy.seen, strict=True) if fault == "pass"]
        assert proxy.seen[0] == "too-large" and max(taken) < proxy.sizes[0]  # halved until it fit


def test_one_batch_failing_for_ever_is_parked_and_the_rest_flows(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 4: a batch DHIS2 keeps refusing (a deterministic 5xx) was resent first by every
    later run and stopped it: 5/5 runs, nothing delivered. Now the rest flows at once, the batch
    is parked after three failures, ``log`` shows it with the reason, and ``--retry-parked``
    sends it once DHIS2 takes it."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", db, *MAY)
    st = ["--state", str(state)]
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        proxy.poison = b'"orgUnit":"S001"'  # every import holding a value of store S001
        for _ in range(5):
            push(plan, state, db, "--batch-size", "20")
        poisoned = {c for c in expected if c[2] == dc.org_unit_uid(1)}
        held = stored(sandbox)  # all but the (one or two) batches holding a value of S001
        assert held <= expected and len(held) >= len(expected) - 40 and not held & poisoned
        log = cli(["log", *st], db).output
        assert "parked batches (" in log and "java.lang.NullPointerException" in log
        proxy.poison = None
        cli(["log", "--retry-parked", *st], db)
        push(plan, state, db)
        assert stored(sandbox) == expected
        assert "parked batches" not in cli(["log", *st], db).output


def test_queued_batches_are_resent_at_the_current_batch_size(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 4: "--batch-size does not help because queued batches keep their old size"."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        proxy.inject(*["html-502"] * 5)  # the first import fails every attempt: an outage
        push(plan, state, db, "--batch-size", "1000", code=1)
        before = len(proxy.sizes)
        push(plan, state, db, "--batch-size", "15")
        assert max(proxy.sizes[before:]) <= 15
        assert stored(sandbox) == expected_cells("kiribati", db, *MAY)


def test_a_clock_three_months_fast_hides_no_slot(small_country: Country, tmp_path: Path) -> None:
    """Point 6: a clock three months fast completed three future slots DHIS2 refused; once the
    clock was right, ``run --once`` said "nothing due" 4/4 times and 3 × 643 values were never
    pushed."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    with stack(today=date(2024, 7, 2)) as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        run = ["run", "--once", str(plan), "--state", str(state), "--retry-delay", "0", "--now"]
        cli([*run, "2024-07-01T06:00:00+12:00"], db)  # June, on time
        fast = cli([*run, "2024-10-01T06:00:00+12:00"], db, code=None)  # the clock is wrong
        months = [("202407", date(2024, 7, 1), date(2024, 7, 31), "2024-08-01"),
                  ("202408", date(2024, 8, 1), date(2024, 8, 31), "2024-09-01"),
                  ("202409", date(2024, 9, 1), date(2024, 9, 30), "2024-10-01")]  # fmt: skip
        for month, first, last, due in months:
            sandbox.set_today(date.fromisoformat(due).replace(day=2))  # time goes by
            result = cli([*run, f"{due}T06:00:00+12:00"], db, code=None)  # the clock is right
            assert "nothing due" not in result.output, month
            assert expected_cells("kiribati", db, month, first, last) <= stored(sandbox), month
    assert "ahead of DHIS2" in fast.output  # and the wrong clock was reported


def test_unknown_codes_do_not_block_the_valid_values(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 7: on 2.43+ DHIS2 rejects the whole request for one unknown code: 3 unknown codes
    blocked all 643 values (563 valid)."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", db, *MAY)
    metadata = copy.deepcopy(sd.demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS))
    unknown = sorted({c[0] for c in expected})[:3]  # three data elements DHIS2 does not know
    metadata["dataElements"] = [e for e in metadata["dataElements"] if e["id"] not in unknown]
    for data_set in metadata["dataSets"]:
        data_set["dataSetElements"] = [d for d in data_set["dataSetElements"]
                                       if d["dataElement"]["id"] not in unknown]  # fmt: skip
    with stack("2.43", metadata=metadata) as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        summary = push(plan, state, db, "--batch-size", "1000", code=1)
        valid = {c for c in expected if c[0] not in unknown}
        assert stored(sandbox) == valid and summary["refused"] == len(expected) - len(valid) > 0
        assert summary["status"] == "conflicts"


def test_a_group_refusal_naming_only_uids_does_not_block_the_rest(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 7, by key: on 2.43+ one org unit not assigned to the data set fails the whole group
    (E8022), naming its UID while the values went by code; halving finds its values."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", db, *MAY)
    metadata = copy.deepcopy(sd.demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS))
    (kiribati,) = [d for d in metadata["dataSets"] if d["id"] == dc.KIRIBATI_DATA_SET]
    outside = dc.org_unit_uid(2)
    kiribati["organisationUnits"] = [o for o in kiribati["organisationUnits"]
                                     if o["id"] != outside]  # fmt: skip
    with stack("2.43", metadata=metadata) as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        summary = push(plan, state, db, "--batch-size", "1000", code=1)
        theirs = {c for c in expected if c[2] == outside}
        assert theirs and stored(sandbox) == expected - theirs
        assert summary["refused"] == len(theirs) and summary["status"] == "conflicts"


def _edit(db: Path, tmp: Path, *statements: str) -> Path:
    copy_path = tmp / "edited.sqlite"
    shutil.copy(db, copy_path)
    with sqlite3.connect(copy_path) as conn:
        for sql in statements:
            conn.execute(sql)
    return copy_path


def test_an_emptied_source_does_not_overwrite_dhis2_with_zeros(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 8: a source emptied of invoices and stock lines (a site being re-initialised)
    overwrote 379 real values in DHIS2 with 0, exit 0. Since issue 10 a store without any
    transaction has no values at all (no data is not a stock-out): nothing is sent, DHIS2 keeps
    its values and the run reports them vanished (policy keep)."""
    state = tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", small_country.db, *MAY)
    emptied = _edit(small_country.db, tmp_path, "DELETE FROM invoice_line",
                    "DELETE FROM stock_line", "DELETE FROM invoice")  # fmt: skip
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, small_country.db, tmp_path)
        push(plan, state, small_country.db)
        assert stored(sandbox) == expected
        after = push(plan, state, emptied)
        assert after["values"] == after["sent"] == after["to_zero"] == 0
        assert after["vanished"] == len(expected)
        assert stored(sandbox) == expected


def test_a_source_whose_quantities_all_read_zero_is_stopped_before_sending(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 8, the drop guard itself: a source whose lines are all still there but read 0 (a
    site re-initialised with its ledger zeroed) would turn DHIS2's values to 0; the run stops
    before sending and says how to go on; --accept-drop sends the zeros."""
    state = tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", small_country.db, *MAY)
    zeroed = _edit(
        small_country.db, tmp_path, "UPDATE invoice_line SET number_of_packs = 0",
        "UPDATE stock_line SET total_number_of_packs = 0, available_number_of_packs = 0",
    )  # fmt: skip
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, small_country.db, tmp_path)
        push(plan, state, small_country.db)
        assert stored(sandbox) == expected
        blocked = push(plan, state, zeroed, code=1)
        assert blocked["status"] == "blocked" and "--accept-drop" in blocked["blocked"]
        assert blocked["sent"] == 0 and blocked["to_zero"] > 0 and stored(sandbox) == expected
        push(plan, state, zeroed, "--accept-drop")  # the operator says it is real
        soh = dc.KIRIBATI_COCS["stock_on_hand"]
        assert {c[4] for c in stored(sandbox) if c[3] == soh} == {"0"}


def test_no_store_mapped_is_a_failure(small_country: Country, tmp_path: Path) -> None:
    """Point 8: a run that maps 0 stores to org units (a column gone, every code removed) was
    ``ok``, exit 0, 0 values — forever."""
    # (the demo keeps some stores' codes in name properties, open mSupply's own place for them)
    unmapped = _edit(
        small_country.db, tmp_path, "UPDATE name SET custom_data = NULL, properties = NULL"
    )
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, unmapped, tmp_path)
        result = cli(["push", str(plan), "--period", "202405", "--state",
                      str(tmp_path / "state.sqlite")], unmapped, code=1)  # fmt: skip
        assert "0 of the" in result.output and "map to a DHIS2 org unit" in result.output


def test_one_value_that_cannot_be_formatted_does_not_stop_the_country(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 8: one cell that cannot be formatted (``inf`` from a corrupt stock line) stopped
    the whole country."""
    expected = expected_cells("kiribati", small_country.db, *MAY)
    in_scope = [dc.item_code(i) for i in range(1, 9) if dc.item_universal_code(i)]
    with sqlite3.connect(small_country.db) as conn:
        (line, item) = conn.execute(
            "SELECT sl.id, i.code FROM stock_line sl JOIN item_link il ON il.id = sl.item_link_id "
            "JOIN item i ON i.id = il.item_id JOIN store s ON s.id = sl.store_id WHERE "
            f"s.code = 'S001' AND sl.total_number_of_packs > 0 AND i.code IN "
            f"({', '.join(repr(c) for c in in_scope)}) ORDER BY i.code LIMIT 1"
        ).fetchone()
    element = sd.kiribati_element_uid(int(item[1:]))
    corrupt = _edit(small_country.db, tmp_path,
                    f"UPDATE stock_line SET pack_size = 1e308, total_number_of_packs = 1e10 "
                    f"WHERE id = '{line}'")  # fmt: skip
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, corrupt, tmp_path)
        result = cli(["push", str(plan), "--period", "202405", "--state",
                      str(tmp_path / "state.sqlite")], corrupt, code=1)  # fmt: skip
        assert "cannot be sent" in result.output and f"item {item}" in result.output
        # that store and item's stock on hand is skipped; everything else of the country lands
        # (its days out of stock follow the corrupt balance, so they are not compared)
        theirs = {c for c in expected if c[0] == element and c[2] == dc.org_unit_uid(1)}
        held = stored(sandbox)
        assert expected - theirs <= held and len(held) == len(expected) - 1
        soh = dc.KIRIBATI_COCS["stock_on_hand"]
        assert not {c for c in held if c[0] == element and c[2] == dc.org_unit_uid(1)
                    and c[3] == soh}  # fmt: skip


def test_a_copy_of_the_spec_aimed_at_another_server_pushes_there(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 5: copying a spec and changing only the DHIS2 URL (staging → production) and
    pushing said "1,054 unchanged, ok, exit 0"; the new server got 0 requests."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    expected = expected_cells("kiribati", db, *MAY)
    text = (Path(__file__).parents[2] / "specs" / "kiribati.push").read_text(encoding="utf-8")
    with stack() as (staging, _), stack() as (production, _):
        specs = {}
        for name, server in (("staging", staging), ("production", production)):
            spec = tmp_path / name / "kiribati.push"
            spec.parent.mkdir()
            spec.write_text(text.replace("https://hmis.health.gov.ki", server.url), "utf-8")
            specs[name] = spec
        for name in ("staging", "production"):
            cli(["push", str(specs[name]), "--period", "202405", "--state", str(state)], db)
        assert stored(staging) == expected == stored(production)


def test_two_runners_cannot_share_a_journal_through_a_symlink(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 10: the runner lock was on the path string: a symlinked path let two runners push
    (every cell sent twice)."""
    db = small_country.db
    real, link = tmp_path / "state.sqlite", tmp_path / "link" / "state.sqlite"
    link.parent.mkdir()
    link.symlink_to(real)
    with stack() as (sandbox, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        sandbox.set_faults(latency_ms=400, count=0)
        slow = subprocess.Popen(
            [sys.executable, "-m", "dhispatch.runtime.cli.main", "push", str(plan), "--period",
             "202405", "--state", str(real), "--batch-size", "5"],
            env={**os.environ, **env_for(db)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while proxy.imports == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            other = cli(["push", str(plan), "--period", "202405", "--state", str(link)], db,
                        code=None)  # fmt: skip
        finally:
            slow.send_signal(signal.SIGKILL)
            slow.wait()
        assert other.exit_code == 1 and "another dhispatch runner" in other.output


def test_a_corrupt_journal_is_noticed_before_it_is_used(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 10: a randomly corrupted journal was used without noticing."""
    db, state = small_country.db, tmp_path / "state.sqlite"
    with stack() as (_, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        push(plan, state, db)
        size = state.stat().st_size
        with state.open("r+b") as f:  # a torn page in the middle of the file
            f.seek(size // 2 - (size // 2) % 4096)
            f.write(os.urandom(4096))
        for args in (["log"], ["push", str(plan), "--period", "202405"]):
            result = cli([*args, "--state", str(state)], db, code=1)
            assert "is corrupt" in result.output and "internal error" not in result.output


def test_a_full_disk_is_named_in_one_line_with_exit_1(
    small_country: Country, tmp_path: Path
) -> None:
    """Point 10: a full disk ended in "internal error: OperationalError … exit 3"."""
    import resource

    db, state = small_country.db, tmp_path / "state.sqlite"
    with stack() as (_, proxy):
        plan = plan_file("kiribati", proxy.url, db, tmp_path)
        push(plan, state, db)
        # no write beyond a third of the journal's size: the disk is full for every page the
        # push must write past it (its log frames, new pages). A limit at the size plus 16 kB let
        # a packed journal's push of one small month through: it needs only ~10 kB more; half the
        # size did too once schema 7 added two tables (four more pages in this small journal).
        limit = state.stat().st_size // 3

        def no_room() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        done = subprocess.run(
            [sys.executable, "-m", "dhispatch.runtime.cli.main", "push", str(plan), "--period",
             "202404", "--state", str(state), "--force"],
            env={**os.environ, **env_for(db)}, capture_output=True, text=True,
            preexec_fn=no_room, timeout=120,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "the disk failed a write" in done.stderr or "disk holding it is full" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
