"""Vanished cells under each policy, the canary secret audit, and the one-command demo."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo import metadata as sd
from tests.e2e.conftest import CANARY
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import compile_spec
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import plan_file
from tests.e2e.conftest import stored

MAY = ("202405", date(2024, 5, 1), date(2024, 5, 31))


def _left_scope(cell: tuple[str, ...]) -> bool:
    """Kiribati cells of items that are not on master list "DHIS2" (they leave the scope)."""
    return any(
        cell[0] == sd.kiribati_element_uid(i)
        for i in range(1, dc.DEMO_ITEMS + 1)
        if not dc.item_in_dhis2_master_list(i)
    )


@pytest.mark.parametrize("policy", ["keep", "zero", "delete"])
def test_vanished_cells_follow_the_policy(
    policy: str, country: Country, sandbox: Any, tmp_path: Path
) -> None:
    expected = expected_cells("kiribati", country.db, *MAY)
    first = plan_file("kiribati", sandbox.url, country.db, tmp_path)
    state = ["--state", str(tmp_path / "state.sqlite")]
    cli(["push", str(first), "--period", "202405", *state], country.db)
    assert stored(sandbox) == expected

    narrowed = compile_spec("kiribati")["source"]
    narrowed["items"] = [*narrowed["items"], {"kind": "master_list", "name": "DHIS2"}]
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = plan_file("kiribati", sandbox.url, country.db, second_dir, vanished=policy,
                       source={**narrowed, "database": {"env": "OMSUPPLY_DB"}})  # fmt: skip
    gone = {c for c in expected if _left_scope(c)}
    assert gone and len(gone) < len(expected)

    preview = json.loads(cli(["plan", str(second), "--period", "202405", *state, "--json"],
                             country.db).output)  # fmt: skip
    assert len(preview["vanished"]) == len(gone)
    assert {v["action"] for v in preview["vanished"]} == {policy}
    text = cli(["plan", str(second), "--period", "202405", *state], country.db).output
    assert f"vanished (policy {policy}" in text

    summary = json.loads(cli(["push", str(second), "--period", "202405", *state, "--json"],
                             country.db).output)  # fmt: skip
    assert summary["vanished"] == len(gone) and summary["unchanged"] == len(expected) - len(gone)
    if policy == "keep":
        assert stored(sandbox) == expected and summary["sent"] == 0
    elif policy == "zero":
        assert stored(sandbox) == (expected - gone) | {(*c[:4], "0") for c in gone}
    else:
        assert stored(sandbox) == expected - gone and summary["deleted"] == len(gone)
    # a third push finds nothing more to do about them
    again = json.loads(cli(["push", str(second), "--period", "202405", *state, "--json"],
                           country.db).output)  # fmt: skip
    assert again["sent"] == 0


def _text(result: Result) -> str:
    parts = [result.output]
    try:
        parts.append(result.stderr)
    except ValueError:
        pass
    return "\n".join(parts)


def test_canary_secret_never_appears_anywhere(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    outputs: list[str] = []
    state = tmp_path / "state.sqlite"
    st = ["--state", str(state)]
    plans = {s: plan_file(s, sandbox.url, country.db, tmp_path) for s in ("kiribati", "tonga",
                                                                          "vanuatu")}  # fmt: skip
    periods = {"kiribati": "202405", "tonga": "202405", "vanuatu": "20240531"}
    for spec, plan in plans.items():
        outputs.append(_text(cli(["plan", str(plan), "--period", periods[spec], *st], country.db)))
        outputs.append(_text(cli(["push", str(plan), "--period", periods[spec], *st],
                                 country.db)))  # fmt: skip
    # failure paths too: expired credentials, an outage, a dry run
    sandbox.set_faults(expire_credentials=True)
    outputs.append(_text(cli(["push", str(plans["tonga"]), "--period", "202406", *st],
                             country.db, code=1)))  # fmt: skip
    sandbox.set_faults(status=500, count=100)
    outputs.append(_text(cli(["push", str(plans["kiribati"]), "--period", "202406", *st,
                              "--retry-delay", "0"], country.db, code=1)))  # fmt: skip
    sandbox.clear_faults()
    outputs.append(_text(cli(["push", str(plans["vanuatu"]), "--at", "2024-06-01", "--dry-run",
                              *st], country.db, code=None)))  # fmt: skip
    outputs.append(_text(cli(["run", "--once", *map(str, plans.values()), *st, "--now",
                              "2024-06-01T06:00:00+12:00"], country.db, code=None)))  # fmt: skip
    outputs.append(_text(cli(["preflight", str(plans["kiribati"]), "--source", str(country.db),
                              "--period", "202405"], country.db)))  # fmt: skip
    outputs.append(_text(cli(["log", *st], country.db)))
    outputs.append(_text(cli(["log", "--json", *st], country.db)))
    reports = []
    for fmt in ("html", "md"):
        out = tmp_path / f"report.{fmt}"
        outputs.append(_text(cli(["report", "last", "-o", str(out), *st], country.db)))
        reports.append(out.read_text(encoding="utf-8"))
    outputs.append(_text(cli(["report", "1", *st], country.db)))
    with sqlite3.connect(state) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = [repr(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables]
    assert sum(len(d) for d in dump) > 1000  # the journal really holds runs and batches
    plan_texts = [p.read_text(encoding="utf-8") for p in plans.values()]
    caches = [p.read_text(encoding="utf-8") for p in (tmp_path / "metadata").glob("*.json")]
    assert len(caches) == 3  # the metadata each plan's values were checked against
    everything = [*outputs, *reports, *dump, *plan_texts, *caches]
    assert all(CANARY not in text for text in everything)
    assert any("401" in o or "credentials" in o.lower() for o in outputs)  # failures were seen


def test_demo_command_runs_end_to_end(tmp_path: Path, country: Country) -> None:
    result = cli(["demo", "--dir", str(tmp_path / "demo")], country.db)
    assert "where to look" in result.output and "status" in result.output
    values = json.loads((tmp_path / "demo" / "sandbox-values.json").read_text(encoding="utf-8"))
    assert len(values) > 500
    assert (
        (tmp_path / "demo" / "report-1.html")
        .read_text(encoding="utf-8")
        .startswith("<!doctype html>")
    )
    log = json.loads(cli(["log", "--json", "--state", str(tmp_path / "demo" / "state.sqlite")],
                         country.db).output)  # fmt: skip
    assert log[0]["summary"]["sent"] == len(values)
