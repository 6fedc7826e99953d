"""Fixtures of the run-stage tests: a small generated country, a real journal, a real sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import parse_plan

ROOT = Path(__file__).resolve().parents[2]
END = date(2024, 6, 20)  # the ledger runs up to this day; the sandbox's "today"
PASSWORD = "run-stages-pw"
STORES = 8  # store 7 has no Dhis2Code: skipped


@pytest.fixture(scope="session")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dhispatch.runtime.demo.generator import generate_demo

    db = tmp_path_factory.mktemp("run-country") / "omsupply.sqlite"
    generate_demo(str(db), stores=STORES, items=10, months=3, seed=5, end=END)
    return db


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "state.sqlite") as opened:
        yield opened


def _sandbox(today: date | None) -> Iterator[Any]:
    from dhispatch.runtime.demo.metadata import demo_metadata
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    config = SandboxConfig(
        metadata=demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS),
        users={dc.ADMIN_USER: PASSWORD},
        today=today,
    )
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A sandbox whose "today" is the end of the ledger."""
    yield from _sandbox(END)


@pytest.fixture
def live_sandbox() -> Iterator[Any]:
    """A sandbox on the real clock (serve runs at the real now)."""
    yield from _sandbox(None)


def env_for(db: Path) -> dict[str, str]:
    return {"OMSUPPLY_DB": str(db), "DHIS2_USER": dc.ADMIN_USER, "DHIS2_PASSWORD": PASSWORD}


def kiribati(url: str = "https://hmis.example.org", **changes: Any) -> Plan:
    """The Kiribati example spec's plan, aimed at ``url`` (``changes`` replace top-level keys)."""
    from dhispatch.compiler import compile_source

    path = "specs/kiribati.push"
    result = compile_source((ROOT / path).read_text(encoding="utf-8"), path)
    assert result.plan is not None, result.diagnostics
    doc = {**result.plan, "target": {**result.plan["target"], "url": url}, **changes}
    return parse_plan(doc)
