"""Conflicts by cause: a wrong category option combo on one push makes DHIS2 refuse every value
of it with one E7613; the CLI, ``log`` and the report show one line with the count, the stores
and items summarised and preflight's "did you mean"; ``--json`` and the journal keep them all."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import compile_spec
from tests.e2e.conftest import plan_file

WRONG = "h9mSLj2ZYcX"  # stock on hand's combo is h9mSLj2ZYcK


def test_one_wrong_combo_is_one_line_with_a_count_and_a_hint(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    steps = compile_spec("kiribati")["steps"]
    steps[0] = {**steps[0], "category_option_combo": WRONG}
    plan = plan_file("kiribati", sandbox.url, country.db, tmp_path, steps=steps)
    st = ["--state", str(tmp_path / "state.sqlite")]
    shown = cli(["push", str(plan), "--period", "202405", *st], country.db, code=1)
    lines = [line for line in shown.stderr.splitlines() if "error[" in line]
    assert len(lines) == 1, shown.stderr
    pattern = (
        r"specs/kiribati\.push:33:1: error\[E7613\]: (\d+) values refused by DHIS2: Category "
        rf"option combo not found or not accessible for writing data: `{WRONG}` — (\d+) stores "
        r"\(S001, S002, S003 and \d+ more\); (\d+) items"
    )
    match = re.match(pattern, lines[0])
    assert match, lines[0]
    count = int(match[1])
    assert count > 100 and "hint: did you mean 'h9mSLj2ZYcK'?" in shown.stderr

    as_json = cli(["push", str(plan), "--period", "202405", *st, "--json"], country.db, code=1)
    body = json.loads(as_json.stdout)
    (cause,) = body["causes"]
    assert cause["count"] == count == len(body["conflicts"]) and cause["code"] == "E7613"
    assert cause["hint"] == "did you mean 'h9mSLj2ZYcK'?" and not cause["withheld"]
    assert len(cause["stores"]) == int(match[2]) and len(cause["items"]) == int(match[3])
    assert {c["code"] for c in body["conflicts"]} == {"E7613"}

    log = cli(["log", *st], country.db).stdout
    assert f"[E7613] {count} values refused by DHIS2: Category option combo not found" in log
    logged = json.loads(cli(["log", "--json", *st], country.db).stdout)
    assert [len(r["conflicts"]) for r in logged] == [count, count]
    page = tmp_path / "report.html"
    cli(["report", "last", "-o", str(page), *st], country.db)
    html = page.read_text(encoding="utf-8")
    assert f'<td class="n">{count}</td><td>refused by DHIS2</td><td>E7613</td>' in html
    assert f"<summary>Every value ({count})</summary>" in html
