"""Vanished cells under each policy, the canary secret audit, and the one-command demo."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo import metadata as sd
from dhispatch.runtime.journal import Journal
from tests.e2e.conftest import CANARY
from tests.e2e.conftest import MAY
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import compile_spec
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import plan_file
from tests.e2e.conftest import stored
from tests.hostile_dhis2 import EVIL
from tests.hostile_dhis2 import FORGED
from tests.hostile_dhis2 import hostile_dhis2
from tests.hostile_dhis2 import url_of
from tests.slow_server import slow_server


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

    push = ["push", str(second), "--period", "202405", *state, "--json"]
    if policy != "keep":  # a third of the values DHIS2 holds would go: the drop guard stops it
        blocked = json.loads(cli(push, country.db, code=1).output)
        assert blocked["status"] == "blocked" and "--accept-drop" in blocked["blocked"]
        assert blocked["batches"] == 0 and stored(sandbox) == expected
        push.append("--accept-drop")
    summary = json.loads(cli(push, country.db).output)
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
    completing = json.loads(plans["kiribati"].read_text(encoding="utf-8"))
    completing["target"]["complete_registration"] = True  # registrations: log, report, journal
    plans["kiribati"].write_text(json.dumps(completing), encoding="utf-8")
    # plan refuses a journal that does not exist (it never creates one)
    outputs.append(_text(cli(["plan", str(plans["tonga"]), *st], country.db, code=1)))
    for spec, plan in plans.items():
        outputs.append(_text(cli(["push", str(plan), "--period", periods[spec], *st],
                                 country.db)))  # fmt: skip
        outputs.append(_text(cli(["plan", str(plan), "--period", periods[spec], *st], country.db)))
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
    # a batch parked behind a proxy that fails every import, listed by log, then retried
    from tests.faults.proxy import fault_proxy

    with fault_proxy(sandbox.url) as proxy:
        proxy.poison = b'"dataValues"'
        (tmp_path / "parked").mkdir()
        parked = plan_file("kiribati", proxy.url, country.db, tmp_path / "parked")
        outputs.append(_text(cli(["push", str(parked), "--period", "202404", *st, "--park-after",
                                  "1", "--retry-delay", "0"], country.db, code=1)))  # fmt: skip
    outputs.append(_text(cli(["log", *st], country.db)))
    assert "parked batches (" in outputs[-1]
    outputs.append(_text(cli(["log", "--retry-parked", *st], country.db)))
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
    with Journal.open(state, readonly=True) as journal:  # payloads are packed: read unpacked too
        dump.append(repr(journal.dump()))
    assert sum(len(d) for d in dump) > 1000  # the journal really holds runs and batches
    plan_texts = [p.read_text(encoding="utf-8") for p in plans.values()]
    caches = [p.read_text(encoding="utf-8") for p in (tmp_path / "metadata").glob("*.json")]
    # the metadata each plan's values were checked against (and Kiribati's behind the proxy)
    assert len(caches) == 4
    everything = [*outputs, *reports, *dump, *plan_texts, *caches]
    assert all(CANARY not in text for text in everything)
    assert any("401" in o or "credentials" in o.lower() for o in outputs)  # failures were seen
    assert any("registered complete" in o for o in outputs)  # and registrations listed


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


def test_a_plain_http_plan_is_refused_before_any_credential_leaves(
    country: Country, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plan JSON edited (or generated elsewhere) to a plain-http remote URL, without
    # ``insecure``: the compiler never sees it, so the client must refuse it. Any request would
    # reach the recording proxy.
    outputs = []
    state = ["--state", str(tmp_path / "state.sqlite")]
    with slow_server("bad_gateway") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        for url in ("http://dhis2.example.org", "http://127.example.org"):
            plan = plan_file("kiribati", url, country.db, tmp_path)
            outputs.append(_text(cli(["push", str(plan), "--period", "202405", *state,
                                      "--retry-delay", "0"], country.db, code=1)))  # fmt: skip
            outputs.append(_text(cli(["test-connection", str(plan), *state], country.db, code=2)))
        sent = list(proxy.requests)
    assert sent == []
    assert all("refusing plain http to" in o for o in outputs), outputs
    assert all(CANARY not in o for o in outputs)


def test_a_plan_with_a_literal_password_is_refused_without_printing_it(
    country: Country, sandbox: Any, tmp_path: Path
) -> None:
    plan = json.loads(plan_file("kiribati", sandbox.url, country.db, tmp_path).read_text("utf-8"))
    plan["target"]["auth"]["password"] = {"value": f"pw-{CANARY}-literal"}
    path = tmp_path / "literal.plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    state = ["--state", str(tmp_path / "state.sqlite")]
    outputs = [
        _text(cli([command, str(path), "--period", "202405", *state], country.db, code=1))
        for command in ("push", "plan")
    ] + [_text(cli(["test-connection", str(path), *state], country.db, code=1))]
    assert all("$.target.auth.password: a secret must be an environment reference" in o
               for o in outputs)  # fmt: skip
    assert all(CANARY not in o for o in outputs)
    # the same in the second of several targets
    second = {**plan["target"], "name": "staging"}
    plan["targets"] = [{**second, "name": "production", "auth": {
        "kind": "basic", "user": {"env": "DHIS2_USER"}, "password": {"env": "DHIS2_PASSWORD"}}},
        second]  # fmt: skip
    del plan["target"]
    path.write_text(json.dumps(plan), encoding="utf-8")
    out = _text(cli(["push", str(path), "--target", "production", *state], country.db, code=1))
    assert "$.targets[1].auth.password: a secret must be" in out and CANARY not in out
    assert sandbox.request_count() == 0


def test_hostile_names_and_dhis2_messages_never_drive_the_terminal(
    country: Country, tmp_path: Path
) -> None:
    # Store and item codes from the stock database, and every text DHIS2 sends back, carry
    # OSC/CSI sequences, \r\n and a forged "dhispatch: all values accepted" line.
    db = tmp_path / "hostile.sqlite"
    shutil.copy(country.db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE store SET code = code || ?", (EVIL,))
        conn.execute("UPDATE item SET code = code || ?", (EVIL,))
    st = ["--state", str(tmp_path / "state.sqlite")]
    with hostile_dhis2() as server:
        plan = str(plan_file("kiribati", url_of(server), db, tmp_path))
        results = [  # plan reads the journal the push wrote (it never creates one)
            cli(["push", plan, "--period", "202405", *st], db, code=1),
            cli(["plan", plan, "--period", "202405", *st], db),
            cli(["test-connection", plan, *st], db),
            cli(["log", *st], db),
            cli(["report", "last", "--format", "md", *st], db),
            cli(["report", "last", *st], db),
        ]
        server.failing = True
        results.append(cli(["push", plan, "--period", "202406", *st, "--retry-delay", "0"], db,
                           code=1))  # fmt: skip
    outputs = [_text(r) for r in results]
    assert "refused by DHIS2" in outputs[0] and "DHIS2 unreachable or refusing" in outputs[-1]
    assert "version: 2.40.0" in outputs[2] and "S001" in outputs[1]
    for text in outputs:
        assert re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", text) is None, text
        assert not any(line.startswith(FORGED) for line in text.splitlines())
        assert CANARY not in text
    assert "<img src=x" not in outputs[4] and "&lt;img src=x onerror=alert(1)&gt;" in outputs[4]


def test_a_database_password_never_reaches_the_output(sandbox: Any, tmp_path: Path) -> None:
    # OMSUPPLY_DB holds the password; one with "@" in it, and a libpq keyword string
    state = tmp_path / "state.sqlite"
    outputs = []
    for database in (f"postgresql://omsupply:pw@{CANARY}@127.0.0.1:1/om",
                     f"host=127.0.0.1 port=1 dbname=om password='{CANARY} x'"):  # fmt: skip
        plan = str(plan_file("kiribati", sandbox.url, database, tmp_path))
        for args in (["push", plan, "--period", "202405"], ["plan", plan, "--period", "202405"],
                     ["run", "--once", plan]):  # fmt: skip
            outputs.append(_text(cli([*args, "--state", str(state)], database, code=1)))
    assert all(o.startswith("dhispatch: ") or "dhispatch: " in o for o in outputs), outputs
    assert all(CANARY not in o for o in outputs)
    with sqlite3.connect(state) as conn:
        dump = [repr(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for (t,) in
                conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]  # fmt: skip
    assert all(CANARY not in d for d in dump)
