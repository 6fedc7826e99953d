"""Preflight's write rules (E914–E922, W923/W924) against a sandbox logged in as the non-superuser
export account ``ops`` (2.40 and 2.43), and against the export file for the user the spec's
credentials name, ``--as-user``, or none (token auth)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.access.conftest import END
from tests.access.conftest import ITEMS
from tests.access.conftest import STORES
from tests.access.conftest import approve
from tests.access.conftest import cli
from tests.access.conftest import env_for
from tests.access.conftest import plan_file
from tests.access.restricted import restricted_metadata

NOW = f"{END.isoformat()}T12:00:00+00:00"  # the sandbox's "today", for export-file checks
BACKFILL = ["--from", "202403", "--to", "202405"]
SOURCE, SOH, AMC, DOS = 23, 33, 34, 35  # lines of specs/kiribati.push


def findings(stderr: str) -> set[tuple[str, int]]:
    """(code, spec line) of every diagnostic printed."""
    pattern = r"^specs/\w+\.push:(\d+):\d+: (?:error|warning)\[(\w+)\]"
    return {(m[2], int(m[1])) for m in re.finditer(pattern, stderr, re.MULTILINE)}


def version(sb: RunningSandbox) -> int:
    return int(str(sb._app.version).split(".")[1])


def test_live_preflight_reports_each_rule_at_its_line(
    country: Path, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    approve(sandbox, "202404", dc.org_unit_uid(4))
    plan = plan_file("kiribati", sandbox.url, tmp_path)
    result = cli(["preflight", str(plan), "--source", str(country), *BACKFILL],
                 env_for(country), code=1)  # fmt: skip
    got = findings(result.stderr)
    expected = {("E916", SOURCE), ("E915", AMC)} | {("E919", line) for line in (SOH, AMC, DOS)}
    if version(sandbox) >= 43:
        # S003 closed on 2024-03-31: 202404 and 202405 start after it; approval is not checked
        # for values that name no attribute option combo
        expected |= {("E921", line) for line in (SOH, AMC, DOS)}
    else:
        expected |= {("E920", line) for line in (SOH, AMC, DOS)}
    assert got == expected
    text = result.stderr
    assert "org unit ou000000002 'Store S002' of store S002 is outside the data capture org " \
           "units of user ops" in text  # fmt: skip
    assert "category option coAMC000001 'AMC' without data write for user ops" in text
    assert "period 202403 is outside the data set's data input periods" in text
    if version(sandbox) >= 43:
        assert "org unit ou000000003 'Store S003' is not open on 2024-04-01" in text
        assert "(DHIS2: E8031)" in text and "(DHIS2: E8012)" in text
    else:
        assert "org unit ou000000004 'Store S004' is approved for 202404 (APPROVED_HERE" in text
        assert "(DHIS2: E7642)" in text and "(DHIS2: E7613)" in text


def test_live_preflight_sharing_expiry_and_future_periods(
    country: Path, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    tonga = plan_file("tonga", sandbox.url, tmp_path)
    result = cli(["preflight", str(tonga), "--period", "202405"], env_for(country), code=1)
    # expiry locks ops out on every version (it lacks F_EDIT_EXPIRED): E7640, 2.43 E8030
    assert findings(result.stderr) == {("E914", 14), ("E917", 28), ("E917", 29)}
    assert (
        "data set Tq1HzbQG3cY 'Tonga stock per item' is not shared with user ops" in result.stderr
    )
    assert "period 202405 was locked for data entry after 2024-06-10 (expiryDays 10)" in (
        result.stderr
    )
    kiribati = plan_file("kiribati", sandbox.url, tmp_path)
    ahead = cli(["preflight", str(kiribati), "--at", "2024-06-30"], env_for(country), code=1)
    if version(sandbox) >= 43:  # explicit input periods replace the future-period rule
        assert {("E919", line) for line in (SOH, AMC, DOS)} <= findings(ahead.stderr)
        assert "period 202406 is outside the data set's data input periods" in ahead.stderr
    else:
        assert {("E918", line) for line in (SOH, AMC, DOS)} <= findings(ahead.stderr)
        assert "period 202406 is not open yet: the latest open period is 202405" in ahead.stderr


def test_a_superuser_passes_what_ops_may_not(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", sandbox_240.url, tmp_path)
    result = cli(["preflight", str(plan), "--period", "202405"], env_for(country, "admin"))
    assert "preflight passed: the spec fits the metadata of" in result.stdout
    assert "for user admin, periods 202405" in result.stdout


def test_an_export_file_gives_the_same_findings_for_the_spec_s_user(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path
) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps(restricted_metadata(STORES, ITEMS)), encoding="utf-8")
    plan = plan_file("kiribati", sandbox_240.url, tmp_path)
    args = ["preflight", str(plan), "--source", str(country), *BACKFILL]
    live = findings(cli(args, env_for(country), code=1).stderr)
    offline = cli([*args, "--metadata", str(export), "--now", NOW], env_for(country), code=1)
    # no approvals in an export: W924 says they were not asked; everything else is the same
    assert findings(offline.stderr) == live | {("W924", 15)}
    assert "approval workflow wfKiribati1 was not asked" in offline.stderr
    as_user = cli([*args, "--metadata", str(export), "--now", NOW, "--as-user", "ops"],
                  {**env_for(country), "DHIS2_USER": "admin"}, code=1)  # fmt: skip
    assert findings(as_user.stderr) == findings(offline.stderr)


def test_what_cannot_be_checked_is_said(
    country: Path, sandbox_240: RunningSandbox, tmp_path: Path
) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps(restricted_metadata(STORES, ITEMS)), encoding="utf-8")
    vanuatu = plan_file("vanuatu", sandbox_240.url, tmp_path, basic=False)  # token auth
    base = ["preflight", str(vanuatu), "--metadata", str(export), "--now", NOW]
    token = cli(base, env_for(country))
    assert "warning[W923]: sharing and the user's org units were not checked: token auth names " \
           "no user (give --as-user NAME)" in token.stderr  # fmt: skip
    assert cli([*base, "--as-user", "ops"], env_for(country)).stdout.count("for user ops") == 1
    kiribati = plan_file("kiribati", sandbox_240.url, tmp_path)
    typo = cli(
        ["preflight", str(kiribati), "--metadata", str(export), "--now", NOW, "--period", "202405"],
        {**env_for(country), "DHIS2_USER": "opz"},
    )
    assert "user 'opz' is not in" in typo.stderr and "did you mean 'ops'?" in typo.stderr
    unknown = cli([*base, "--as-user", "nobody"], env_for(country), code=2)
    assert "--as-user nobody: no such user in" in unknown.output
    live = cli(["preflight", str(kiribati), "--as-user", "ops"], env_for(country), code=2)
    assert "--as-user goes with --metadata" in live.output


@pytest.mark.parametrize(
    "args", [["--from", "202405"], ["--at", "2024-05-01", "--period", "202405"]]
)
def test_period_options_are_checked(country: Path, tmp_path: Path, args: list[str]) -> None:
    plan = plan_file("kiribati", "http://127.0.0.1:9", tmp_path)
    result = cli(["preflight", str(plan), "--metadata", str(tmp_path / "x.json"), *args],
                 env_for(country), code=2)  # fmt: skip
    assert "give" in result.output
