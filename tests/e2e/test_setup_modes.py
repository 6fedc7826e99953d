"""One end-to-end push per setup mode over real HTTP: exact cells, then an idempotent re-push."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import journal_runs
from tests.e2e.conftest import plan_file
from tests.e2e.conftest import stored

CASES = [
    # spec, --period, first and last day of the period
    ("kiribati", "202405", date(2024, 5, 1), date(2024, 5, 31)),  # category option combo
    ("tonga", "202405", date(2024, 5, 1), date(2024, 5, 31)),  # data element per item
    ("vanuatu", "20240531", date(2024, 5, 31), date(2024, 5, 31)),  # single element + template
]


@pytest.mark.parametrize(("spec", "period", "first", "last"), CASES)
def test_push_leaves_exact_cells_and_second_push_changes_nothing(
    spec: str, period: str, first: date, last: date, country: Country, sandbox: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    plan = plan_file(spec, sandbox.url, country.db, tmp_path)
    state = tmp_path / "state.sqlite"
    expected = expected_cells(spec, country.db, period, first, last)
    assert len(expected) > 50  # the scenario is not vacuous

    first_run = cli(["push", str(plan), "--period", period, "--state", str(state), "--json"],
                    country.db)  # fmt: skip
    summary = json.loads(first_run.output)
    assert stored(sandbox) == expected
    assert summary["new"] == summary["sent"] == summary["imported"] == len(expected)
    assert summary["skipped"]["stores_without_org_unit"] == (0 if spec == "tonga" else 1)

    requests = sandbox.request_count()
    second = json.loads(
        cli(["push", str(plan), "--period", period, "--state", str(state), "--json"],
            country.db).output
    )  # fmt: skip
    assert stored(sandbox) == expected
    # nothing was sent: the only requests are /api/system/info (and Tonga's OAuth2 token)
    assert sandbox.request_count() - requests == (2 if spec == "tonga" else 1)
    assert (second["unchanged"], second["sent"], second["new"], second["changed"]) == (
        len(expected), 0, 0, 0,
    )  # fmt: skip
    runs = journal_runs(state, country.db)
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert runs[0]["summary"]["unchanged"] == len(expected) and runs[0]["summary"]["batches"] == 0

    # plan shows the same: every cell unchanged against the journal
    preview = json.loads(
        cli(["plan", str(plan), "--period", period, "--state", str(state), "--json"],
            country.db).output
    )  # fmt: skip
    assert {v["change"] for v in preview["values"]} == {"unchanged"}
    assert len(preview["values"]) == len(expected)
