"""The write rules against the sandbox, cell by cell: for every version generation, every kind of
user of the contract export and a grid of cells that only issue 11's rules can refuse (sharing,
hierarchy, expiry, future periods, input periods, approval, closed org units, attribute option
dates and org units), ``WriteRules`` refuses exactly the values the sandbox refuses, with the
code the sandbox answers (2.36 has none)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any

import httpx
import pytest

from dhispatch.runtime.access import WriteRules
from dhispatch.runtime.access import read_access_metadata
from dhispatch.runtime.access import writer_from_export
from dhispatch.runtime.dhis2 import BasicAuth
from dhispatch.runtime.dhis2 import Dhis2Client
from dhispatch.runtime.dhis2 import Secret
from dhispatch.runtime.dhis2.metadata import ApprovalLookup
from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox import helpers as h

Cell = tuple[str, str, str, str, str | None, str | None]  # ds, de, period, ou, coc, aoc
USERS = ("admin", "clerk", "local", "grouped", "named")


def grid() -> list[Cell]:
    cells: list[Cell] = []
    for period in ("202503", "202504", h.PAST, h.CURRENT):
        for ou in (h.OU_IN, h.OU_IN_B, h.OU_CLOSED):
            cells.append((h.DS, h.DE_NUM, period, ou, None, None))
            cells.append((h.DS, h.DE_NUM, period, ou, None, h.DEFAULT_COC))
        for coc in (h.COC_FEMALE, h.COC_MALE):
            cells.append((h.DS, h.DE_SEX, period, h.OU_IN, coc, None))
        cells.append((h.DS_WINDOW, h.DE_WIN, period, h.OU_IN, None, None))
        cells.append((h.DS_EXPIRY, h.DE_EXP, period, h.OU_IN, None, None))
        for aoc in (h.AOC_FUND, h.AOC_SHUT):
            for ou in (h.OU_IN, h.OU_IN_B):
                cells.append((h.DS_FUND, h.DE_FUND, period, ou, None, aoc))
    for ds, de in ((h.DS_LOCKED, h.DE_LOCKED), (h.DS_NOSHARE, h.DE_NOSHARE),
                   (h.DS_SHARED, h.DE_SHARED), (h.DS_LEGACY, h.DE_LEGACY)):  # fmt: skip
        cells.append((ds, de, h.PAST, h.OU_IN, None, None))
    return cells


@pytest.fixture(scope="module", params=("2.36", "2.40", "2.43"))
def running(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with h.sandbox(request.param) as sb:
        h.approve(sb, h.PAST, h.OU_IN)
        h.approve(sb, h.PAST, h.OU_IN, aoc=h.DEFAULT_COC)  # the same row: aoc defaults to it
        yield sb


def sandbox_verdict(http: httpx.Client, cell: Cell) -> tuple[bool, str | None]:
    """(refused, DHIS2's code) of one value posted with dryRun."""
    ds, de, period, ou, coc, aoc = cell
    value: dict[str, Any] = {"dataElement": de, "period": period, "orgUnit": ou, "value": "1"}
    if coc:
        value["categoryOptionCombo"] = coc
    if aoc:
        value["attributeOptionCombo"] = aoc
    answer = http.post("/api/dataValueSets", params={"dryRun": "true"},
                       json={"dataSet": ds, "dataValues": [value]})  # fmt: skip
    summary = h.summary_of(answer.json())
    counts = summary.get("importCount", {})
    refused = counts.get("imported", 0) + counts.get("updated", 0) == 0
    conflicts = summary.get("conflicts") or [{}]
    return refused, conflicts[0].get("errorCode")


def rules_verdict(rules: WriteRules, cell: Cell) -> tuple[bool, str | None]:
    _, _, period, ou, coc, _ = cell
    found = rules.data_set() or rules.cell(period, ou, coc)
    return found is not None, found.code if found else None


@pytest.mark.parametrize("user", USERS)
def test_the_rules_refuse_what_the_sandbox_refuses(running: RunningSandbox, user: str) -> None:
    version = str(running._app.version)
    minor = int(version.split(".")[1])
    now = datetime.combine(h.TODAY, datetime.now(UTC).time())
    writer = writer_from_export(h.contract_metadata(), user)
    assert writer is not None
    auth = BasicAuth("admin", Secret(h.PASSWORDS["admin"]))
    export = h.contract_metadata()
    mismatches = []
    with Dhis2Client(running.url, auth) as client, h.client(running, user) as http:
        lookups = {aoc: ApprovalLookup(client, h.WF, aoc) for aoc in (None, h.DEFAULT_COC)}
        for cell in grid():
            ds, aoc = cell[0], cell[5]
            meta = read_access_metadata(export, ds)
            lookup = lookups.get(aoc) if meta.data_set.workflow else None
            rules = WriteRules(meta, writer, minor=minor, now=now, aoc=aoc, approvals=lookup)
            expected = sandbox_verdict(http, cell)
            got = rules_verdict(rules, cell)
            if got != expected:
                mismatches.append((cell, "sandbox", expected, "rules", got))
    assert mismatches == []


def test_the_grid_meets_every_rule() -> None:
    """The grid is not vacuous: across users and versions it hits each rule at least once."""
    now = datetime.combine(h.TODAY, datetime.min.time())
    hit = set()
    for minor in (36, 40, 43):
        for user in USERS:
            writer = writer_from_export(h.contract_metadata(), user)
            for cell in grid():
                meta = read_access_metadata(h.contract_metadata(), cell[0])
                rules = WriteRules(meta, writer, minor=minor, now=now, aoc=cell[5],
                                   approvals=lambda pe, ou: "APPROVED_HERE")  # fmt: skip
                found = rules.data_set() or rules.cell(cell[2], cell[3], cell[4])
                if found is not None:
                    hit.add(found.rule)
    assert hit == {
        "data-set-sharing", "option-sharing", "attribute-sharing", "hierarchy", "closed",
        "expired", "future", "input-period", "approved", "attribute-dates", "attribute-units",
    }  # fmt: skip
