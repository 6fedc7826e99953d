"""The admission stage against sandboxes logged in as the non-superuser export account: the cells
DHIS2 would refuse are withheld (per cause, in the version's order), everything else is stored,
and DHIS2 refuses nothing; withheld cells keep their slots due until DHIS2 would take them; the
metadata is cached beside the journal and refetched when older than the setting."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import kiribati_element_uid
from dhispatch.runtime.dhis2 import NetworkError
from dhispatch.runtime.dhis2.metadata import Snapshot
from dhispatch.runtime.journal import WITHHELD
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import load_plan
from dhispatch.runtime.run.metadata_cache import MetadataCache
from dhispatch.runtime.run.metadata_cache import cached_metadata
from dhispatch.runtime.runner import Runner
from dhispatch.runtime.runner import RunnerOptions
from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.access.conftest import approve
from tests.access.conftest import cli
from tests.access.conftest import env_for
from tests.access.conftest import plan_file
from tests.access.conftest import unapprove

Cell = tuple[str, str, str, str]  # data element UID, period, org unit UID, COC UID
AMC = dc.KIRIBATI_COCS["average_monthly_consumption"]
PERIODS = ("202403", "202404", "202405")


def uid_cells(changes: Iterator[tuple[str, str, str, str]]) -> set[Cell]:
    """Preview cells (codes, as Kiribati names them) as the sandbox stores them (UIDs)."""
    out = set()
    for de, period, ou, coc in changes:
        out.add((kiribati_element_uid(int(de[2:])), period, dc.org_unit_uid(int(ou[1:])), coc))
    return out


def every_cell(plan: Path, state: Path, env: dict[str, str]) -> set[Cell]:
    """What the plan computes for the three months (a preview: nothing withheld or sent)."""
    with Runner(state, lock=False, options=RunnerOptions(env=env)) as runner:
        keys = [
            (c.cell.key.data_element, c.cell.key.period, c.cell.key.org_unit, c.cell.key.coc)
            for p in PERIODS
            for c in runner.preview(load_plan(plan), period=p).changes
        ]
    return uid_cells(iter(keys))


def why(cell: Cell, minor: int) -> str | None:
    """The rule DHIS2 refuses ``cell`` by, in the version's order (written from the restricted
    export's description, not from the rules' code)."""
    _, period, ou, coc = cell
    rules = [
        ("option-sharing", coc == AMC),
        ("hierarchy", ou == dc.org_unit_uid(2)),
        ("input-period", period == "202403"),
        ("approved", minor < 43 and (ou, period) == (dc.org_unit_uid(4), "202404")),
        ("closed", minor >= 43 and ou == dc.org_unit_uid(3) and period != "202403"),
    ]
    if minor >= 43:  # user access (hierarchy, then options), key consistency, timeliness
        order = ["hierarchy", "option-sharing", "closed", "input-period"]
    else:  # option combos, hierarchy, then timeliness (approval before input periods)
        order = ["option-sharing", "hierarchy", "approved", "input-period"]
    hits = dict(rules)
    return next((rule for rule in order if hits.get(rule)), None)


def stored(sb: RunningSandbox) -> set[Cell]:
    return {(v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"])
            for v in sb.values()}  # fmt: skip


def test_withheld_cells_are_exactly_the_refused_ones(
    country: Path, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    minor = int(str(sandbox._app.version).split(".")[1])
    approve(sandbox, "202404", dc.org_unit_uid(4))
    plan = plan_file("kiribati", sandbox.url, tmp_path)
    state = tmp_path / "state.sqlite"
    cells = every_cell(plan, tmp_path / "preview.sqlite", env_for(country))
    result = cli(["backfill", str(plan), "--from", "202403", "--to", "202405", "--state",
                  str(state), "--json"], env_for(country), code=1)  # fmt: skip
    runs = [json.loads(chunk) for chunk in _json_objects(result.stdout)]
    assert [r["refused"] for r in runs] == [0, 0, 0]  # DHIS2 refused nothing that was sent
    expected = Counter(r for c in cells if (r := why(c, minor)) is not None)
    last = "closed" if minor >= 43 else "approved"
    assert len(cells) > 500 and set(expected) == {"option-sharing", "hierarchy", "input-period",
                                                  last}  # fmt: skip
    withheld = Counter()
    for run in runs:
        withheld.update(run["withheld_causes"])
    assert withheld == expected and sum(r["withheld"] for r in runs) == sum(expected.values())
    assert stored(sandbox) == {c for c in cells if why(c, minor) is None}
    with Journal.open(state) as journal:
        rows = [c for r in journal.runs() for c in journal.conflicts(r.id)]
    assert len(rows) == sum(expected.values()) and {c.batch_id for c in rows} == {WITHHELD}
    assert all(c.message.startswith("not sent: ") and c.origin for c in rows)


def _json_objects(text: str) -> list[str]:
    """The summaries ``--json`` prints one after the other."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        obj, end = decoder.raw_decode(text, i)
        out.append(json.dumps(obj))
        i = end
    return out


def test_withheld_cells_keep_their_slots_due_until_dhis2_would_take_them(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path
) -> None:
    # the superuser: sharing and org units pass, approval does not (E7642 without force)
    approve(sandbox_240, "202405", dc.org_unit_uid(4))
    plan = load_plan(plan_file("kiribati", sandbox_240.url, tmp_path))
    now = datetime(2024, 6, 1, 6, tzinfo=UTC)  # 202405 is due (Pacific/Tarawa midnight)
    options = RunnerOptions(env=env_for(country, "admin"))
    with Runner(tmp_path / "state.sqlite", options=options) as runner:
        (first,) = runner.run_once([plan], now)
        assert first.summary.withheld_causes == {"approved": first.summary.counts.withheld} != {}
        assert runner.journal.slots(plan.name) == []  # S004's cells keep every slot due
        store4 = {c for c in stored(sandbox_240) if c[2] == dc.org_unit_uid(4)}
        assert store4 == set()
        unapprove(sandbox_240, "202405", dc.org_unit_uid(4))
        (second,) = runner.run_once([plan], now)
        assert second.summary.counts.withheld == 0
        assert second.summary.counts.sent == first.summary.counts.withheld  # only S004's
        assert len(runner.journal.slots(plan.name)) == len(plan.steps)
    assert {c for c in stored(sandbox_240) if c[2] == dc.org_unit_uid(4)} != set()


class _ApprovalsForbidden(httpx.BaseTransport):
    """The way to the sandbox, except that reading approvals is forbidden (an account without
    the authority to see them), as DHIS2 answers it."""

    def __init__(self) -> None:
        self._http = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/dataApprovals"):
            body = {"httpStatus": "Forbidden", "httpStatusCode": 403, "status": "ERROR",
                    "message": "Not authorized to read approvals"}  # fmt: skip
            return httpx.Response(403, json=body)
        return self._http.handle_request(request)

    def close(self) -> None:
        self._http.close()


def test_approvals_that_cannot_be_read_leave_the_decision_to_dhis2(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path
) -> None:
    approve(sandbox_240, "202405", dc.org_unit_uid(4))
    plan = load_plan(plan_file("kiribati", sandbox_240.url, tmp_path))
    now = datetime(2024, 6, 1, 6, tzinfo=UTC)
    options = RunnerOptions(env=env_for(country, "admin"), transport=_ApprovalsForbidden())
    with Runner(tmp_path / "state.sqlite", options=options) as runner:
        (result,) = runner.run_once([plan], now)
    summary = result.summary
    assert summary.counts.withheld == 0 and summary.admission is not None
    assert "approvals not checked: " in summary.admission and "403" in summary.admission
    assert summary.counts.refused > 0  # S004's values, refused by DHIS2 itself (E7642)
    assert {c.code for c in result.conflicts} == {"E7642"}


def test_the_metadata_is_cached_beside_the_journal_and_refetched_when_old(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", sandbox_240.url, tmp_path)
    st = ["--state", str(tmp_path / "state.sqlite")]
    cli(["push", str(plan), "--period", "202405", *st], env_for(country), code=1)
    (cached,) = (tmp_path / "metadata").glob("*.json")
    first = json.loads(cached.read_text(encoding="utf-8"))
    assert first["me"]["username"] == "ops" and first["export"]["dataSets"][0]["workflow"]
    assert "ops-Push" not in cached.read_text(encoding="utf-8")  # no credential is cached
    cli(["push", str(plan), "--period", "202405", *st, "--force"], env_for(country), code=1)
    assert json.loads(cached.read_text())["fetched_at"] == first["fetched_at"]
    cli(["push", str(plan), "--period", "202405", *st, "--force", "--metadata-max-age", "0"],
        env_for(country), code=1)  # fmt: skip
    assert json.loads(cached.read_text())["fetched_at"] > first["fetched_at"]


def test_a_run_that_found_dhis2_unreachable_checks_against_its_cache_only(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path
) -> None:
    """DHIS2 answers 503 to everything: the run asks /api/system/info (with its retries) and
    nothing else — the admission stage does not wait on the outage a second time, even with its
    copy past --metadata-max-age — withholds by the cached copy, and queues the rest."""
    plan = plan_file("kiribati", sandbox_240.url, tmp_path)
    st = ["--state", str(tmp_path / "state.sqlite"), "--retry-delay", "0"]
    env = env_for(country)
    cli(["push", str(plan), "--period", "202405", *st], env, code=1)  # caches the metadata
    sandbox_240.set_faults(status=503, count=1_000_000)
    before = sandbox_240.request_count()
    result = cli(["push", str(plan), "--period", "202404", *st, "--json",
                  "--metadata-max-age", "0"], env, code=1)  # fmt: skip
    assert result.stdout.startswith("{"), result.output
    summary = json.loads(result.stdout)
    attempts = re.search(r"GET /api/system/info .*gave up after (\d+) attempts", summary["error"])
    assert attempts is not None and int(attempts[1]) > 1, summary["error"]
    assert sandbox_240.request_count() - before == int(attempts[1])  # nothing else was asked
    assert summary["status"] == "failed" and summary["queued"] > 0 and summary["sent"] == 0
    assert summary["withheld"] > 0 and "stale: DHIS2 unreachable" in summary["admission"]
    assert summary["withheld"] + summary["queued"] == summary["values"]


def test_a_stale_copy_is_used_when_dhis2_cannot_be_asked(tmp_path: Path) -> None:
    cache = MetadataCache(tmp_path)
    now = datetime(2024, 6, 20, 12, tzinfo=UTC)
    old = Snapshot({"dataSets": []}, {"username": "ops"}, now - timedelta(days=2))

    def down() -> Snapshot:
        raise NetworkError("cannot reach DHIS2")

    none = cached_metadata(cache, "k", max_age=timedelta(hours=6), now=now, fetch=down,
                           failure=NetworkError)  # fmt: skip
    assert none.snapshot is None and none.note.startswith("not checked against DHIS2")
    cache.save("k", old)
    stale = cached_metadata(cache, "k", max_age=timedelta(hours=6), now=now, fetch=down,
                            failure=NetworkError)  # fmt: skip
    assert stale.snapshot == old and ", stale: cannot reach DHIS2" in stale.note
    fresh = Snapshot({"dataSets": []}, {"username": "ops"}, now)
    renewed = cached_metadata(cache, "k", max_age=timedelta(hours=6), now=now,
                              fetch=lambda: fresh, failure=NetworkError)  # fmt: skip
    assert renewed.snapshot == fresh and cache.load("k") == fresh


@pytest.mark.parametrize("mode", ["plan", "disabled"])
def test_previews_and_disabled_targets_ask_dhis2_nothing(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    plan = plan_file("kiribati", sandbox_240.url, tmp_path)
    if mode == "disabled":
        body = json.loads(plan.read_text())
        body["target"]["enabled"] = False
        plan.write_text(json.dumps(body))
    state = tmp_path / "s.sqlite"
    command = "plan" if mode == "plan" else "push"
    if command == "plan":  # plan reads a journal, never creates one
        from dhispatch.runtime.journal import Journal

        Journal.open(state).close()
    before = sandbox_240.request_count()
    cli([command, str(plan), "--period", "202405", "--state", str(state)],
        env_for(country))  # fmt: skip
    assert sandbox_240.request_count() == before
    assert not (tmp_path / "metadata").exists()
