"""Fixtures of the write-rule tests: a small demo country and sandboxes loaded with the restricted
export (``tests/access/restricted.py``), "today" pinned to the end of the country's ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.access.restricted import OPS
from tests.access.restricted import OPS_PASSWORD
from tests.access.restricted import restricted_metadata

END = date(2024, 6, 20)  # the ledger's last day and the sandboxes' "today"
ADMIN_PASSWORD = "admin-Access-1"
STORES, ITEMS = 12, 10


@pytest.fixture(scope="session")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dhispatch.runtime.demo.generator import generate_demo

    db = tmp_path_factory.mktemp("access-country") / "omsupply.sqlite"
    generate_demo(str(db), stores=STORES, items=ITEMS, months=4, seed=3, end=END)
    return db


def restricted_sandbox(version: str) -> Iterator[RunningSandbox]:
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    config = SandboxConfig(
        metadata=restricted_metadata(STORES, ITEMS), version=version,
        users={"admin": ADMIN_PASSWORD, OPS: OPS_PASSWORD}, today=END,
    )  # fmt: skip
    with start_sandbox(config) as running:
        yield running


@pytest.fixture(params=("2.40", "2.43"))
def sandbox(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    yield from restricted_sandbox(request.param)


@pytest.fixture
def sandbox_240() -> Iterator[RunningSandbox]:
    yield from restricted_sandbox("2.40")


def env_for(db: Path, user: str = OPS) -> dict[str, str]:
    password = OPS_PASSWORD if user == OPS else ADMIN_PASSWORD
    return {"OMSUPPLY_DB": str(db), "DHIS2_USER": user, "DHIS2_PASSWORD": password}


def plan_file(name: str, url: str, tmp: Path, *, basic: bool = True) -> Path:
    """An example spec compiled and aimed at the sandbox (basic auth unless told otherwise)."""
    from dhispatch.compiler import compile_source

    root = Path(__file__).resolve().parents[2]
    path = f"specs/{name}.push"
    plan: dict[str, Any] = compile_source((root / path).read_text(encoding="utf-8"), path).plan
    plan["target"]["url"] = url
    plan["source"]["database"] = {"env": "OMSUPPLY_DB"}
    if basic:
        plan["target"]["auth"] = {"kind": "basic", "user": {"env": "DHIS2_USER"},
                                  "password": {"env": "DHIS2_PASSWORD"}}  # fmt: skip
    out = tmp / f"{name}.plan.json"
    out.write_text(json.dumps(plan), encoding="utf-8")
    return out


def cli(args: list[str], env: dict[str, str], code: int | None = 0) -> Result:
    from dhispatch.runtime.cli.main import cli as group

    result = CliRunner().invoke(group, args, env=env, catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def approve(sb: RunningSandbox, period: str, org_unit: str) -> None:
    import httpx

    from tests.access.restricted import WORKFLOW

    answer = httpx.post(f"{sb.url}/api/dataApprovals", auth=("admin", ADMIN_PASSWORD),
                        params={"wf": WORKFLOW, "pe": period, "ou": org_unit},
                        headers={"X-Requested-With": "XMLHttpRequest"})  # fmt: skip
    assert answer.status_code == 204, answer.text


def unapprove(sb: RunningSandbox, period: str, org_unit: str) -> None:
    import httpx

    from tests.access.restricted import WORKFLOW

    answer = httpx.delete(f"{sb.url}/api/dataApprovals", auth=("admin", ADMIN_PASSWORD),
                          params={"wf": WORKFLOW, "pe": period, "ou": org_unit},
                          headers={"X-Requested-With": "XMLHttpRequest"})  # fmt: skip
    assert answer.status_code == 204, answer.text
