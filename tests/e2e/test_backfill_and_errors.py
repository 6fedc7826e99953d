"""Backfill over a period range, the report formats, and one clear line for every bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import journal_runs
from tests.e2e.conftest import plan_file
from tests.e2e.conftest import stored


def test_backfill_pushes_each_period_with_its_own_values(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path)
    st = ["--state", str(tmp_path / "state.sqlite")]
    cli(["backfill", str(plan), "--from", "202403", "--to", "202405", *st], country.db)
    want = (
        expected_cells("kiribati", country.db, "202403", date(2024, 3, 1), date(2024, 3, 31))
        | expected_cells("kiribati", country.db, "202404", date(2024, 4, 1), date(2024, 4, 30))
        | expected_cells("kiribati", country.db, "202405", date(2024, 5, 1), date(2024, 5, 31))
    )
    assert stored(sandbox) == want
    runs = list(reversed(journal_runs(tmp_path / "state.sqlite", country.db)))
    assert [r["trigger"] for r in runs] == ["backfill 202403", "backfill 202404", "backfill 202405"]

    md = cli(["report", str(runs[0]["id"]), *st], country.db).output
    assert md.startswith("# dhispatch run 1") and "| S001 |" in md and "## Conflicts" in md
    html = tmp_path / "r.html"
    cli(["report", "last", "-o", str(html), *st], country.db)
    page = html.read_text(encoding="utf-8")
    assert "<td>S001</td>" in page and "202405" in page


def test_values_dhis2_would_refuse_are_withheld_at_the_spec_line(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    # the data set has no open future periods: DHIS2 (whose date is 2024-06-20) would refuse the
    # running month's values, so the admission stage withholds them, by cause, and sends
    # nothing; next month's are not even computed, its period has not started there
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path)
    st = ["--state", str(tmp_path / "state.sqlite")]
    later = cli(["push", str(plan), "--period", "202407", *st], country.db, code=1)
    assert "has not started on DHIS2's clock" in later.output and stored(sandbox) == set()
    result = cli(["push", str(plan), "--period", "202406", *st, "--json"], country.db, code=None)
    summary = json.loads(result.stdout)
    assert summary["withheld"] == summary["values"] > 0 and summary["refused"] == 0
    assert summary["withheld_causes"] == {"future": summary["values"]}
    # issue 13: the push DHIS2 takes instead (the last month open on its date)
    assert summary["instead"] == ["dhispatch push specs/kiribati.push --period 202405"]
    assert summary["batches"] == 0 and len(summary["conflicts"]) == summary["values"]
    assert result.exit_code == 1 and summary["status"] == "conflicts"
    assert "specs/kiribati.push:33:1: error[E7641]" in result.stderr
    assert "not sent (DHIS2 would refuse them): period 202406 is not open yet" in result.stderr
    assert stored(sandbox) == set()
    md = cli(["report", "last", *st], country.db).output
    assert "specs/kiribati.push:" in md and "not sent" in md


def test_bad_inputs_give_one_clear_line(country: Country, tmp_path: Path) -> None:
    from dhispatch.runtime.cli.main import cli as group

    plan = plan_file("kiribati", "http://127.0.0.1:9", country.db, tmp_path)
    st = ["--state", str(tmp_path / "state.sqlite")]
    runner = CliRunner()
    cases = [
        (["push", str(plan), "--period", "2024W99", *st], 2, "2024W99"),
        (["push", str(plan), "--at", "yesterday", *st], 2, "not a date"),
        (["push", str(plan), "--at", "2024-05-01", "--period", "202405", *st], 2, "either"),
        (["backfill", str(plan), "--from", "202405", "--to", "202403", *st], 2, "after"),
        (["report", "42", *st], 1, "no journal at"),  # read-only: a journal is never created
        (["report", "abc", *st], 2, "run number"),
        (["push", str(tmp_path / "missing.json"), *st], 1, "cannot read plan"),
    ]
    for args, code, text in cases:
        result = runner.invoke(group, args, env={"OMSUPPLY_DB": str(country.db)})
        assert result.exit_code == code, (args, result.output)
        assert text in result.output and "Traceback" not in result.output
    # an unset secret is named, never guessed at
    result = runner.invoke(group, ["push", str(plan), "--period", "202405", *st],
                           env={"OMSUPPLY_DB": str(country.db), "DHIS2_PASSWORD": ""})  # fmt: skip
    assert result.exit_code == 1 and "DHIS2_" in result.output
    result = runner.invoke(group, ["plan", str(plan), "--period", "202405", *st],
                           env={"OMSUPPLY_DB": ""})  # fmt: skip
    assert result.exit_code == 1 and "OMSUPPLY_DB is not set" in result.output


def test_two_steps_writing_one_cell_are_refused(country: Country, tmp_path: Path) -> None:
    from tests.e2e.conftest import compile_spec

    steps = compile_spec("kiribati")["steps"]
    steps[1]["category_option_combo"] = steps[0]["category_option_combo"]
    plan = plan_file("kiribati", "http://127.0.0.1:9", country.db, tmp_path, steps=steps)
    result = cli(["push", str(plan), "--period", "202405", "--state",
                  str(tmp_path / "s.sqlite")], country.db, code=1)  # fmt: skip
    assert "two pushes write the same DHIS2 cell" in result.output
