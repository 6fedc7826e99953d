"""End-to-end fixtures: a generated demo country, a sandbox per test, plans aimed at it, the CLI.

Expected cells are computed independently of the executor: indicator values straight from
``runtime.indicators.compute``, mapped to DHIS2 cells by hand-written rules from
``runtime/demo/identifiers.py`` (which stores/items are in scope, which UIDs they have), and
formatted by the client's own ``dhis2_value`` (not the executor's formatter).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from decimal import ROUND_HALF_UP
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from click.testing import Result

from dhispatch.runtime.demo import identifiers as dc

# Every credential of the e2e tests contains this canary; it must never appear anywhere.
CANARY = "CANARY7f3a"
PASSWORD = f"pw-{CANARY}-admin"
PAT = f"d2pat_{CANARY}0123456789abcdef"
CLIENT_SECRET = f"sec-{CANARY}-client"
END = date(2024, 6, 20)  # the demo ledger runs Jan..Jun 2024 up to this day
MAY = ("202405", date(2024, 5, 1), date(2024, 5, 31))  # the period most tests push
SEED = 11

Cell = tuple[str, str, str, str, str]  # data element UID, period, org unit UID, COC UID, value


@dataclass(frozen=True)
class Country:
    db: Path


@pytest.fixture(scope="session")
def country(tmp_path_factory: pytest.TempPathFactory) -> Country:
    from dhispatch.runtime.demo.generator import generate_demo

    db = tmp_path_factory.mktemp("country") / "omsupply.sqlite"
    generate_demo(
        str(db), stores=dc.DEMO_STORES, items=dc.DEMO_ITEMS, months=dc.DEMO_MONTHS, seed=SEED,
        end=END,
    )  # fmt: skip
    return Country(db)


@pytest.fixture(scope="session")
def small_country(tmp_path_factory: pytest.TempPathFactory) -> Country:
    """4 stores × 8 items: enough cells for several batches, cheap to push many times."""
    from dhispatch.runtime.demo.generator import generate_demo

    db = tmp_path_factory.mktemp("small-country") / "omsupply.sqlite"
    generate_demo(str(db), stores=4, items=8, months=3, seed=SEED, end=END)
    return Country(db)


def _sandbox(today: date | None) -> Iterator[Any]:
    from dhispatch.runtime.demo.metadata import demo_metadata
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    config = SandboxConfig(
        metadata=demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS),
        users={dc.ADMIN_USER: PASSWORD},
        tokens={PAT: dc.ADMIN_USER},
        oauth_clients={"msupply": CLIENT_SECRET},
        today=today,
    )
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A sandbox whose "today" is pinned to the end of the demo ledger."""
    yield from _sandbox(END)


@pytest.fixture
def live_sandbox() -> Iterator[Any]:
    """A sandbox on the real clock: ``serve`` runs at the real now, and a slot whose period has
    not started on DHIS2's clock is not run."""
    yield from _sandbox(None)


def env_for(db: str | Path) -> dict[str, str]:
    return {
        "OMSUPPLY_DB": str(db),
        "DHIS2_USER": dc.ADMIN_USER,
        "DHIS2_PASSWORD": PASSWORD,
        "DHIS2_PAT": PAT,
        "DHIS2_SECRET": CLIENT_SECRET,
    }


def compile_spec(name: str) -> dict[str, Any]:
    from dhispatch.compiler import compile_source

    root = Path(__file__).resolve().parents[2]
    path = f"specs/{name}.push"
    result = compile_source((root / path).read_text(encoding="utf-8"), path)
    assert result.plan is not None, result.diagnostics
    plan: dict[str, Any] = result.plan
    return plan


def plan_file(name: str, url: str, db: str | Path, tmp: Path, **overrides: Any) -> Path:
    """The compiled example spec aimed at the sandbox and the test's database, as a plan file."""
    from dhispatch.runtime.plan import validate_plan

    plan = compile_spec(name)
    plan["target"] = {**plan["target"], "url": url}
    plan["source"] = {**plan["source"], "database": {"env": "OMSUPPLY_DB"}}
    plan.update(overrides)
    validate_plan(plan)
    out = tmp / f"{name}.plan.json"
    out.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return out


def cli(args: list[str], db: str | Path, *, code: int | None = 0) -> Result:
    """Run the dhispatch CLI in-process (the HTTP to the sandbox is still real)."""
    from dhispatch.runtime.cli.main import cli as group

    result = CliRunner().invoke(group, args, env=env_for(db), catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def end_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(tz))


def _dhis2(value: float, rounding: int | None) -> str:
    from dhispatch.runtime.dhis2 import dhis2_value

    if rounding is None:
        return dhis2_value(value)
    q = Decimal(repr(value)).quantize(Decimal(1).scaleb(-rounding), rounding=ROUND_HALF_UP)
    return dhis2_value(q)


def expected_cells(
    spec: str, db: str | Path, period: str, period_start: date, period_end: date
) -> set[Cell]:
    """The cells a push of ``spec`` for ``period`` must leave in DHIS2 (hand-written rules)."""
    from dhispatch.runtime.demo import metadata as sd
    from dhispatch.runtime.indicators import IndicatorRequest
    from dhispatch.runtime.indicators import compute
    from dhispatch.runtime.plan import ScopeRules
    from dhispatch.runtime.sources import open_source

    plan = compile_spec(spec)
    tz = plan["target"]["timezone"]
    rounding = plan["target"]["rounding"]
    steps = [s for s in plan["steps"] if not s["paused"]]
    with open_source(str(db)) as source:
        scope = source.scope(ScopeRules.from_json(plan["source"]))
        requests = [
            IndicatorRequest(s["id"], s["indicator"], dict(s["params"]), period_start,
                             end_of(period_end, tz))
            for s in steps
        ]  # fmt: skip
        values = list(compute(source, scope, requests, tz=tz))
        store_no = {s.id: int(s.code[1:]) for s in scope.stores}
        item_no = {i.id: int(i.code[1:]) for i in scope.items}
    indicator = {s["id"]: s["indicator"] for s in steps}
    cells: set[Cell] = set()
    for v in values:
        j, i = store_no[v.store_id], item_no[v.item_id]
        if v.value is None:
            continue
        ind = indicator[v.key]
        if spec == "kiribati":
            if not dc.store_has_dhis2_code(j) or dc.item_universal_code(i) is None:
                continue
            de, coc = sd.kiribati_element_uid(i), dc.KIRIBATI_COCS[ind]
        elif spec == "tonga":
            if not dc.item_in_dhis2_master_list(i):
                continue
            de = dc.item_user_field_1(i) if ind == "stock_on_hand" else dc.item_user_field_2(i)
            coc = dc.DEFAULT_COC
        else:
            if not dc.store_has_dhis2_code(j):
                continue
            if ind == "stock_on_hand":
                if dc.item_user_field_6(i) is None:
                    continue
                de = sd.vanuatu_soh_uid(i)
            else:
                de = sd.vanuatu_value_uid(i)
            coc = dc.DEFAULT_COC
        cells.add((de, period, dc.org_unit_uid(j), coc, _dhis2(v.value, rounding)))
    return cells


def stored(sandbox: Any) -> set[Cell]:
    return {
        (v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"], v["value"])
        for v in sandbox.values()
    }


def journal_runs(state: Path, db: str | Path) -> list[dict[str, Any]]:
    out = cli(["log", "--json", "--state", str(state)], db).output
    runs: list[dict[str, Any]] = json.loads(out)
    return runs
