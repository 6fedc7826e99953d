"""``dhispatch explain``: one cell's values, rules and ledger lines, on both dialects."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from dhispatch.runtime.cli.main import cli
from dhispatch.runtime.indicators import INDICATORS
from dhispatch.runtime.indicators import IndicatorRequest
from dhispatch.runtime.indicators.explain import explain
from dhispatch.runtime.indicators.span import NOT_IN_RANGE
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import SourceError
from dhispatch.runtime.sources import open_source
from dhispatch.runtime.sources.schema import CURRENT
from tests.sources.conftest import MakeDb
from tests.sources.test_handworked import JAN
from tests.sources.test_handworked import TZ
from tests.sources.test_handworked import build
from tests.sources.test_handworked import end_of
from tests.sources.test_situations import pending_ledger

SPEC = ScopeRules()


def _requests() -> list[IndicatorRequest]:
    at = end_of(date(2024, 1, 31))
    return [IndicatorRequest(n, n, {}, date(2024, 1, 1), at) for n in INDICATORS]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_explain_states_every_value_with_its_numbers(dialect: str, make_db: MakeDb) -> None:
    with open_source(make_db(build(), dialect, CURRENT)) as source:
        found = explain(source, SPEC, "S1", "AMOX", _requests(), tz=TZ)
    values = {v.indicator: v for v in found.values}
    for name, want in JAN[("sA", "amox")].items():  # the engine's numbers, as a push sends them
        have = values[name].value
        assert (have is None and want is None) or abs((have or 0) - float(want or 0)) < 1e-6
    rules = {v.indicator: v.rule for v in values.values()}
    assert rules["stock_on_hand"] == "200 in stock now − (-60 moved after R) = 260"
    assert rules["stock_beginning_of_month"] == (
        "200 in stock now − (30 moved since 2024-01-01 began) = 170"
    )
    assert rules["issued"] == "Σ OUTBOUND_SHIPMENT, PRESCRIPTION lines effective in P = 7"
    assert rules["average_monthly_consumption"] == (
        "C = 87 units issued 2023-11-02..2024-01-31 (91 days), L = 3 months: C / L = 29"
    )
    assert rules["stocked_out"].endswith("> 0 → 0")
    assert found.stock_now == 200 and found.in_range
    # the ledger: the delivered-but-not-received shipment, the unallocated line and the 0-pack
    # line are shown and left out, with why; counted lines carry the balance worked back
    notes = [(x.invoice_type, x.line_type, x.counted, x.note) for x in found.lines]
    assert (
        "INBOUND_SHIPMENT",
        "STOCK_IN",
        False,
        "left out: not received yet (invoice VERIFIED): no stock moved yet",
    ) in notes
    assert (
        "OUTBOUND_SHIPMENT",
        "UNALLOCATED_STOCK",
        False,
        "left out: UNALLOCATED_STOCK (placeholder) moves no stock",
    ) in notes
    assert ("OUTBOUND_SHIPMENT", "STOCK_OUT", False, "left out: 0 packs") in notes  # fmt: skip
    counted = [x for x in found.lines if x.counted]
    assert counted[-1].balance == 200 and counted[-1].note.startswith("after R")
    jan31 = [x for x in counted if x.day == date(2024, 1, 31)]
    assert jan31[-1].balance == 260  # close(31 Jan), as stock_on_hand says


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_explain_a_pending_line_and_a_pair_without_value(dialect: str, make_db: MakeDb) -> None:
    at = end_of(date(2024, 1, 31))
    reqs = [IndicatorRequest(n, n, {}, date(2024, 1, 1), at) for n in ("received", "stocked_out")]
    with open_source(make_db(pending_ledger(), dialect, CURRENT)) as source:
        found = explain(source, SPEC, "S1", "AMOX", reqs, tz="UTC")
    assert [(v.indicator, v.value) for v in found.values] == [("received", 20), ("stocked_out", 0)]
    by_status = {x.line_status: (x.counted, x.note, x.units) for x in found.lines}
    assert by_status["PENDING"] == (
        False,
        "left out: PENDING line (not authorised): no stock line, no stock moved",
        40.0,
    )
    assert by_status["PASSED"] == (True, "in P: received", 20.0)
    assert by_status["REJECTED"][:2] == (
        False,
        "left out: UNALLOCATED_STOCK (rejected line) moves no stock",
    )
    with open_source(make_db(build(), dialect, CURRENT)) as source:
        para = explain(source, SPEC, "S2", "PARA", reqs, tz=TZ)
        assert [v.rule for v in para.values] == [NOT_IN_RANGE, NOT_IN_RANGE]
        assert not para.in_range and para.lines == ()
        with pytest.raises(SourceError, match="no store with code 'NOPE'"):
            explain(source, SPEC, "NOPE", "PARA", reqs, tz=TZ)


def test_explain_command_table_and_json(make_db: MakeDb) -> None:
    database = make_db(build(), "sqlite", CURRENT)
    args = ["explain", "--source", database, "--store", "S1", "--item", "AMOX", "--at",
            "2024-01-31", "--tz", TZ]  # fmt: skip
    table = CliRunner().invoke(cli, [*args, "--indicator", "stock_on_hand"])
    assert table.exit_code == 0, table.output
    assert "200 in stock now − (-60 moved after R) = 260" in table.output
    assert "PENDING" not in table.output and "ledger lines" in table.output
    assert "after R" in table.output
    out = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["store"] == "S1" and data["version"] == "2.19.0"
    assert {v["indicator"] for v in data["values"]} == set(INDICATORS)
    assert all({"invoice", "day", "units", "balance", "note"} <= set(x) for x in data["lines"])
    future = CliRunner().invoke(cli, [*args[:-4], "--at", "2024-02-10", "--tz", TZ])
    assert future.exit_code == 1
    assert "reference date 2024-02-10 is after the data" in future.output
