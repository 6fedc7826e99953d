"""``dhispatch init``: a spec skeleton from a data set's metadata — read live from the sandbox
(the demo export and a hand-made one) or from an export file — that ``check`` accepts as written
and ``fmt`` leaves alone; Kiribati's skeleton is a golden file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result

from dhispatch.compiler.skeleton import guess_indicator
from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import DEMO_METADATA_PATH
from dhispatch.runtime.sandbox.server import RunningSandbox
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox
from tests.golden.test_golden import _compare

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "init"
PASSWORD = "init-Admin-1"
PAT = "d2p_inittoken000000000000000000000000000000000"
DATA_SETS = (dc.KIRIBATI_DATA_SET, dc.TONGA_DATA_SET, dc.VANUATU_DATA_SET)


def hand_made() -> dict[str, Any]:
    """A weekly data set with one element per indicator (default combo, some unclear names,
    integer types) and org units without codes; another disaggregated by a combo whose option
    combos name indicators, one of them unclearly."""
    default_cc, default_coc = dc.DEFAULT_CATEGORY_COMBO, dc.DEFAULT_COC

    def de(uid: str, name: str, value_type: str = "NUMBER", cc: str = default_cc) -> dict[str, Any]:
        return {"id": uid, "name": name, "code": uid.upper(), "valueType": value_type,
                "aggregationType": "SUM", "categoryCombo": {"id": cc}}  # fmt: skip

    elements = [
        de("deOpening01", "Opening balance", "INTEGER_ZERO_OR_POSITIVE"),
        de("deReceived1", "Quantity received"), de("deIssued001", "Quantity dispensed"),
        de("deLoss00001", "Losses and adjustments"), de("deClosing01", "Closing balance"),
        de("deStockout1", "Days stocked out"), de("deMystery01", "Form B column 7"),
        de("deArv000001", "ARV stock", cc="ccArvKind01"),
    ]  # fmt: skip
    units = [{"id": "ouHand00001", "name": "Hand clinic"}, {"id": "ouHand00002", "name": "Depot"}]
    return {
        "system": {"version": "2.41.1"},
        "categoryCombos": [
            {"id": default_cc, "name": "default", "categoryOptionCombos": [{"id": default_coc}]},
            {"id": "ccArvKind01", "name": "ARV figures",
             "categoryOptionCombos": [{"id": "cocArvSoh01"}, {"id": "cocArvOdd01"}]},
        ],
        "categoryOptionCombos": [
            {"id": default_coc, "name": "default", "categoryCombo": {"id": default_cc}},
            {"id": "cocArvSoh01", "name": "Stock on hand", "categoryCombo": {"id": "ccArvKind01"}},
            {"id": "cocArvOdd01", "name": "Adult", "categoryCombo": {"id": "ccArvKind01"}},
        ],
        "dataElements": elements,
        "dataSets": [
            {"id": "dsWeekly001", "name": "Weekly LMIS", "periodType": "WeeklyWednesday",
             "categoryCombo": {"id": default_cc}, "publicAccess": "rwrw----",
             "dataSetElements": [{"dataElement": {"id": e["id"]}} for e in elements[:-1]],
             "organisationUnits": [{"id": u["id"]} for u in units]},
            {"id": "dsArv000001", "name": "ARV stock", "periodType": "Quarterly",
             "categoryCombo": {"id": default_cc}, "publicAccess": "rwrw----",
             "dataSetElements": [{"dataElement": {"id": "deArv000001"}}],
             "organisationUnits": [{"id": u["id"]} for u in units]},
        ],
        "organisationUnits": units,
    }  # fmt: skip


def _serve(metadata: dict[str, Any]) -> Iterator[RunningSandbox]:
    config = SandboxConfig(metadata=metadata, users={"admin": PASSWORD}, tokens={PAT: "admin"})
    with start_sandbox(config) as running:
        yield running


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningSandbox]:
    yield from _serve(json.loads(DEMO_METADATA_PATH.read_text()))


@pytest.fixture(scope="module")
def hand() -> Iterator[RunningSandbox]:
    yield from _serve(hand_made())


def init(args: list[str], env: dict[str, str] | None = None, code: int = 0) -> Result:
    from dhispatch.runtime.cli.main import cli

    result = CliRunner().invoke(cli, ["init", *args], env=env or {}, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def check(path: Path) -> Result:
    from dhispatch.runtime.cli.main import cli

    return CliRunner().invoke(cli, ["check", str(path)], catch_exceptions=False)


@pytest.mark.parametrize("kind", ["demo", "hand"])
def test_skeletons_read_live_pass_check_and_fmt(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from dhispatch.runtime.cli.main import cli

    sandbox: RunningSandbox = request.getfixturevalue(kind)
    data_sets = DATA_SETS if kind == "demo" else ("dsWeekly001", "dsArv000001")
    env = {"DHIS2_USER": "admin", "DHIS2_PASSWORD": PASSWORD}
    for ds in data_sets:
        out = tmp_path / f"{ds}.push"
        init(["--url", sandbox.url, "--data-set", ds, "-o", str(out)], env)
        assert check(out).exit_code == 0, check(out).output
        formatted = CliRunner().invoke(cli, ["fmt", "--check", str(out)])
        assert formatted.exit_code == 0, formatted.output
        text = out.read_text(encoding="utf-8")
        assert f'data_set           "{ds}"' in text and "auth               basic(" in text
        if kind == "demo":  # the same skeleton from the export file the sandbox serves
            offline = init(["--metadata", str(DEMO_METADATA_PATH), "--data-set", ds, "--url",
                            sandbox.url])  # fmt: skip
            assert offline.stdout == text


def test_a_hand_made_data_set_gets_its_guesses_and_todos(hand: RunningSandbox) -> None:
    sandbox = hand
    weekly = init(["--url", sandbox.url, "--data-set", "dsWeekly001"], {"DHIS2_PAT": PAT}).stdout
    assert 'auth               token(env("DHIS2_PAT"))' in weekly
    assert "setup single_data_element" in weekly and "round  #" in weekly
    assert "period_format      \"YYYY'WedW'w\"" in weekly
    assert "interval weekly on wednesday basis previous_period" in weekly
    assert "org_unit_id_scheme uid" in weekly and 'org_unit store.custom("Dhis2Code")' in weekly
    guessed = (
        ("stock_beginning_of_month", "DEOPENING01"), ("received", "DERECEIVED1"),
        ("issued", "DEISSUED001"), ("adjustments", "DELOSS00001"),
        ("stock_end_of_month", "DECLOSING01"), ("days_out_of_stock", "DESTOCKOUT1"),
    )  # fmt: skip
    for indicator, element in guessed:
        assert f'push {indicator} {{ data_element "{element}" ' in weekly
    assert "# TODO: which indicator? element deMystery01 'Form B column 7'" in weekly
    assert 'data_element "DEMYSTERY01" interval weekly on wednesday basis previous_period ' \
           "paused }" in weekly  # fmt: skip
    arv = init(["--url", sandbox.url, "--data-set", "dsArv000001"], {"DHIS2_PAT": PAT}).stdout
    assert "setup category_option_combo" in arv and "period_format      \"YYYY'Q'q\"" in arv
    assert "# option combo cocArvSoh01 'Stock on hand'\npush stock_on_hand" in arv
    assert "# TODO: which indicator? option combo cocArvOdd01 'Adult'" in arv


def test_kiribati_s_skeleton_is_golden(update_goldens: bool) -> None:
    text = init(["--metadata", str(DEMO_METADATA_PATH), "--data-set", dc.KIRIBATI_DATA_SET,
                 "--url", "https://hmis.health.gov.ki"]).stdout  # fmt: skip
    _compare(text, GOLDEN / "kiribati.push", update_goldens)


def test_what_init_refuses(tmp_path: Path) -> None:
    assert "give --url" in init(["--data-set", "x"], code=2).output
    missing = init(["--metadata", str(DEMO_METADATA_PATH), "--data-set", "nope"], code=1)
    assert "data set nope is not in the metadata of" in missing.output
    out = tmp_path / "a.push"
    out.write_text("# mine\n")
    base = ["--metadata", str(DEMO_METADATA_PATH), "--data-set", dc.KIRIBATI_DATA_SET]
    assert "exists; give --force" in init([*base, "-o", str(out)], code=1).output
    init([*base, "-o", str(out), "--force"])
    assert out.read_text().startswith("# QX4ZTUbOt3a 'Kiribati stock indicators'")
    live = init(["--url", "http://127.0.0.1:9", "--data-set", "x"], code=2)
    assert "set DHIS2_USER and DHIS2_PASSWORD (or DHIS2_PAT)" in live.output


@pytest.mark.parametrize(
    ("names", "indicator"),
    [
        (("Stock on hand", None), "stock_on_hand"),
        (("Value of stock on hand", None), "value_of_stock_on_hand"),
        (("Days out of stock", None), "days_out_of_stock"),
        (("AMC", "LMIS_AMC"), "average_monthly_consumption"),
        (("Expiring within 3 months", None), "stock_expiring"),
        (("Expired stock", None), "stock_expired"),
        (("Stocked out", None), "stocked_out"),
        (("Months of stock", None), "months_of_stock"),
        (("Stock indicator UC00001", "UC00001"), None),
    ],
)
def test_indicator_guesses(names: tuple[str, str | None], indicator: str | None) -> None:
    assert guess_indicator(*names) == indicator
