"""Issue 12 point 1: the spec's attribute option combo is sent, and DHIS2 stores the values under
it — not under the default combo (643/643 values were, on 2.36, 2.37, 2.40 and 2.43)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import demo_metadata
from dhispatch.runtime.journal import Journal
from tests.e2e.conftest import END
from tests.e2e.conftest import MAY
from tests.e2e.conftest import PASSWORD
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import expected_cells
from tests.e2e.conftest import plan_file

FUNDING = "ccFUNDING01"  # an attribute category combo of the Kiribati data set
FUNDER_A, FUNDER_B = "aocFUNDERA1", "aocFUNDERB1"
COC_CODES = {"stock_on_hand": "SOH", "average_monthly_consumption": "AMC",
             "days_out_of_stock": "DOS"}  # fmt: skip


def funded_metadata() -> dict[str, Any]:
    """The demo export with the Kiribati data set under a funding attribute combo (its option
    combos with codes, and Kiribati's disaggregations with codes too)."""
    meta = copy.deepcopy(demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS))
    meta["categoryCombos"].append({
        "id": FUNDING, "code": "FUNDING", "name": "Funding", "dataDimensionType": "ATTRIBUTE",
        "categoryOptionCombos": [{"id": FUNDER_A}, {"id": FUNDER_B}],
    })  # fmt: skip
    for uid, code in ((FUNDER_A, "FUND_A"), (FUNDER_B, "FUND_B")):
        meta["categoryOptionCombos"].append(
            {"id": uid, "code": code, "name": code, "categoryCombo": {"id": FUNDING}}
        )
    by_uid = {uid: COC_CODES[key] for key, uid in dc.KIRIBATI_COCS.items()}
    for coc in meta["categoryOptionCombos"]:
        coc.setdefault("code", by_uid.get(coc["id"]))
    (kiribati,) = [d for d in meta["dataSets"] if d["id"] == dc.KIRIBATI_DATA_SET]
    kiribati["categoryCombo"] = {"id": FUNDING}
    return meta


@pytest.fixture(params=["2.36", "2.37", "2.40", "2.43"])
def funded_sandbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    config = SandboxConfig(metadata=funded_metadata(), version=request.param,
                           users={dc.ADMIN_USER: PASSWORD}, today=END)  # fmt: skip
    with start_sandbox(config) as running:
        yield running


def funded_plan(url: str, db: Path, tmp: Path, *, codes: bool = False) -> Path:
    path = plan_file("kiribati", url, db, tmp)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["target"]["attribute_option_combo"] = FUNDER_A
    if codes:  # option combos by code: the AOC must then be sent as its code (≤2.42 reads it so)
        doc["target"]["id_schemes"]["category_option_combo"] = "CODE"
        for step in doc["steps"]:
            step["category_option_combo"] = COC_CODES[step["indicator"]]
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("codes", [False, True], ids=["uid", "code"])
def test_values_are_stored_under_the_spec_s_attribute_option_combo(
    codes: bool, small_country: Country, funded_sandbox: Any, tmp_path: Path
) -> None:
    plan = funded_plan(funded_sandbox.url, small_country.db, tmp_path, codes=codes)
    state = tmp_path / "state.sqlite"
    summary = json.loads(cli(["push", str(plan), "--period", "202405", "--state", str(state),
                              "--json"], small_country.db).output)  # fmt: skip
    expected = expected_cells("kiribati", small_country.db, *MAY)
    stored = funded_sandbox.values()
    assert summary["status"] == "ok" and summary["sent"] == len(expected) == len(stored) > 30
    assert {v["attributeOptionCombo"] for v in stored} == {FUNDER_A}
    assert {(v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"], v["value"])
            for v in stored} == expected  # fmt: skip
    with Journal.open(state, readonly=True) as journal:
        assert {k.aoc for k in journal.cells("kiribati-national", target_id=1)} == {FUNDER_A}
    # the same cells under another attribute option combo are other cells: sent anew
    doc = json.loads(plan.read_text(encoding="utf-8"))
    doc["target"]["attribute_option_combo"] = FUNDER_B
    plan.write_text(json.dumps(doc), encoding="utf-8")
    again = json.loads(cli(["push", str(plan), "--period", "202405", "--state", str(state),
                            "--json"], small_country.db).output)  # fmt: skip
    assert again["new"] == again["sent"] == len(expected)
    assert {v["attributeOptionCombo"] for v in funded_sandbox.values()} == {FUNDER_A, FUNDER_B}
