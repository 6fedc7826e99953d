"""The fault-injection suite's stack: a small generated country, one sandbox per DHIS2 version
(started once, values reset per test) behind a fault proxy, the Kiribati plan aimed at the proxy,
and the two views every test compares — what DHIS2 holds, and what the journal says it holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run import RunResult
from tests.faults.proxy import FaultProxy
from tests.run.conftest import kiribati

END = date(2024, 6, 20)
PASSWORD = "faults-pw"
PERIOD = "202405"
BATCH = 10
VERSIONS = ("2.36", "2.37", "2.40", "2.43")
Value = tuple[str, str, str, str, str, str]  # de, period, ou, coc, aoc (UIDs), value


@pytest.fixture(scope="session")
def fault_country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dhispatch.runtime.demo.generator import generate_demo

    db = tmp_path_factory.mktemp("fault-country") / "omsupply.sqlite"
    generate_demo(str(db), stores=4, items=8, months=3, seed=12, end=END)
    return db


@dataclass
class Stack:
    """A sandbox of one version behind its fault proxy."""

    version: str
    sandbox: Any
    proxy: FaultProxy
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> code -> uid

    def reset(self) -> None:
        self.proxy.clear()
        self.proxy.seen.clear()
        self.sandbox.clear_faults()
        httpx.delete(f"{self.sandbox.url}/api/__sandbox/values", timeout=30).raise_for_status()

    def dhis2(self) -> set[Value]:
        """What DHIS2 holds (soft-deleted rows are not held)."""
        return {(v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"],
                 v["attributeOptionCombo"], v["value"]) for v in self.sandbox.values()}  # fmt: skip

    def uid(self, kind: str, code: str) -> str:
        return self.ids[kind].get(code, code)


@pytest.fixture(scope="session")
def stacks() -> Iterator[dict[str, Stack]]:
    """One running stack per version, started on first use."""
    from dhispatch.runtime.demo.metadata import demo_metadata
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    metadata = demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS)
    ids = {
        "de": {e["code"]: e["id"] for e in metadata["dataElements"] if e.get("code")},
        "ou": {o["code"]: o["id"] for o in metadata["organisationUnits"] if o.get("code")},
    }
    opened: list[Any] = []

    class Lazy(dict[str, Stack]):
        def __missing__(self, version: str) -> Stack:
            config = SandboxConfig(metadata=metadata, version=version,
                                   users={dc.ADMIN_USER: PASSWORD}, today=END)  # fmt: skip
            cm = start_sandbox(config)
            sandbox = cm.__enter__()
            opened.append(cm)
            stack = Stack(version, sandbox, FaultProxy(sandbox.url).start(), ids)
            self[version] = stack
            return stack

    lazy = Lazy()
    yield lazy
    for stack in lazy.values():
        stack.proxy.stop()
    for cm in opened:
        cm.__exit__(None, None, None)


@pytest.fixture(params=VERSIONS)
def stack(request: pytest.FixtureRequest, stacks: dict[str, Stack]) -> Iterator[Stack]:
    chosen = stacks[request.param]
    chosen.reset()
    yield chosen
    chosen.reset()


def plan_for(stack: Stack) -> Plan:
    return kiribati(stack.proxy.url)


def env_for(db: Path) -> dict[str, str]:
    return {"OMSUPPLY_DB": str(db), "DHIS2_USER": dc.ADMIN_USER, "DHIS2_PASSWORD": PASSWORD}


def push(plan: Plan, state: Path, db: Path, **options: Any) -> RunResult:
    """One manual push of the period through the runner (as ``dhispatch push`` does)."""
    from dhispatch.runtime.runner import Runner
    from dhispatch.runtime.runner import RunnerOptions

    settings = {"batch_size": BATCH, "retry_delay": 0.0, **options}
    with Runner(state, options=RunnerOptions(env=env_for(db), **settings)) as runner:
        return runner.push(plan, period=PERIOD)


def journal_view(state: Path, stack: Stack) -> set[Value]:
    """What the journal says DHIS2 holds, in DHIS2's identifiers."""
    with Journal.open(state, readonly=True) as journal:
        (target,) = journal.targets() or {1: None}
        cells = journal.cells("kiribati-national", target_id=target)
    default = dc.DEFAULT_COC
    return {
        (stack.uid("de", k.data_element), k.period, stack.uid("ou", k.org_unit), k.coc or default,
         k.aoc or default, r.value)
        for k, r in cells.items()
    }  # fmt: skip


@pytest.fixture(scope="session")
def expected(fault_country: Path, stacks: dict[str, Stack], tmp_path_factory: pytest.TempPathFactory
             ) -> set[Value]:  # fmt: skip
    """What a clean push leaves in DHIS2 (one clean run on 2.40, no fault)."""
    stack = stacks["2.40"]
    stack.reset()
    state = tmp_path_factory.mktemp("expected") / "state.sqlite"
    result = push(plan_for(stack), state, fault_country)
    assert result.status == "ok" and result.summary.counts.sent > 3 * BATCH
    values = stack.dhis2()
    assert values == journal_view(state, stack)
    stack.reset()
    return values


def summary_of(state: Path, run_id: int) -> dict[str, Any]:
    with Journal.open(state, readonly=True) as journal:
        row = journal.run(run_id)
    assert row is not None
    return dict(json.loads(json.dumps(row.summary)))
