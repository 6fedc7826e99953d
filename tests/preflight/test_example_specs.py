"""Acceptance: the three example specs pass preflight against the demo metadata (file and live
from the sandbox); a broken export is reported at the right spec line:column for each fault."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result

from dhispatch.compiler import compile_source
from dhispatch.runtime.cli.main import cli
from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.generator import generate_demo
from dhispatch.runtime.demo.metadata import DEMO_METADATA_PATH
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox

ROOT = Path(__file__).resolve().parents[2]
SPECS = ("specs/kiribati.push", "specs/tonga.push", "specs/vanuatu.push")
PASSWORD = "preflight-pw"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # spec paths (and so diagnostic paths) are relative, as users type them


@pytest.fixture(scope="module")
def stock_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("stock") / "demo.sqlite"
    generate_demo(str(path), stores=dc.DEMO_STORES, items=dc.DEMO_ITEMS, months=2, seed=7,
                  end=date(2024, 6, 30))  # fmt: skip
    return str(path)


def preflight(*args: str) -> Result:
    return CliRunner().invoke(cli, ["preflight", *args])


def position(spec: str, line_starts: str, token: str) -> str:
    """``path:line:col`` of ``token`` on the first line starting with ``line_starts``."""
    for number, text in enumerate((ROOT / spec).read_text().splitlines(), start=1):
        if text.lstrip().startswith(line_starts):
            return f"{spec}:{number}:{text.index(token) + 1}"
    raise AssertionError(f"{line_starts!r} not in {spec}")


@pytest.mark.parametrize("spec", SPECS)
def test_example_specs_pass_against_the_demo_metadata(spec: str, stock_db: str) -> None:
    alone = preflight(spec, "--metadata", str(DEMO_METADATA_PATH))
    assert alone.exit_code == 0, alone.output
    assert "preflight passed" in alone.stdout
    full = preflight(spec, "--metadata", str(DEMO_METADATA_PATH), "--source", stock_db)
    assert full.exit_code == 0, full.output
    assert "every item and store fits" in full.stdout
    if spec == "specs/kiribati.push":  # codes in custom:Dhis2Code: the stores without one, and why
        unmapped = [dc.store_code(j) for j in range(1, dc.DEMO_STORES + 1)
                    if not dc.store_has_dhis2_code(j)]  # fmt: skip
        assert unmapped and [
            line for line in full.stderr.splitlines() if "no org unit" in line
        ] == [
            f"store {code} has no org unit: no 'Dhis2Code' in its name's properties or custom data"
            for code in unmapped
        ]


def broken_export() -> dict[str, Any]:
    export: dict[str, Any] = json.loads(DEMO_METADATA_PATH.read_text())
    ds = next(d for d in export["dataSets"] if d["id"] == dc.KIRIBATI_DATA_SET)
    ds["periodType"] = "Weekly"  # mismatched period type
    gone = next(e for e in export["dataElements"] if e.get("code") == "UC00001")
    export["dataElements"].remove(gone)  # a missing data element
    ds["dataSetElements"] = [
        x for x in ds["dataSetElements"] if x["dataElement"]["id"] != gone["id"]
    ]
    unassigned = next(o for o in export["organisationUnits"] if o.get("code") == dc.store_code(2))
    ds["organisationUnits"] = [o for o in ds["organisationUnits"] if o["id"] != unassigned["id"]]
    amc = dc.KIRIBATI_COCS["average_monthly_consumption"]  # a COC from the wrong combo
    for combo in export["categoryCombos"]:
        combo["categoryOptionCombos"] = [c for c in combo.get("categoryOptionCombos", [])
                                         if c["id"] != amc]  # fmt: skip
        if combo["id"] == dc.DEFAULT_CATEGORY_COMBO:
            combo["categoryOptionCombos"].append({"id": amc})
    next(c for c in export["categoryOptionCombos"] if c["id"] == amc)["categoryCombo"] = {
        "id": dc.DEFAULT_CATEGORY_COMBO
    }
    return export


def test_broken_metadata_is_reported_at_each_spec_line(tmp_path: Path, stock_db: str) -> None:
    spec = "specs/kiribati.push"
    export_file = tmp_path / "broken.json"
    export_file.write_text(json.dumps(broken_export()))
    result = preflight(spec, "--metadata", str(export_file), "--source", stock_db)
    assert result.exit_code == 1
    heads = [line for line in result.stderr.splitlines() if ": error[" in line]
    expected = {
        "E902": position(spec, "period_format", "period_format"),
        "E903": position(spec, "push stock_on_hand", "push"),
        "E906": position(spec, "push average_monthly_consumption", "category_option"),
        "E908": position(spec, "source", "source"),
    }
    for code, where in expected.items():
        assert any(h.startswith(f"{where}: error[{code}]") for h in heads), (code, where, heads)
    text = result.stderr
    assert "data element UC00001 of item I0001 not found in the DHIS2 metadata" in text
    assert f"of store {dc.store_code(2)} not assigned to data set" in text
    assert "has period type Weekly, but the spec's period is Monthly" in text
    assert "preflight found" in text and "Traceback" not in text
    # Each finding is rendered with its source line and caret, like `dhispatch check`.
    assert '  18 |     period_format      "YYYYMM"' in text or "period_format" in text
    # Without the stock database, what the plan alone determines is still found.
    alone = preflight(spec, "--metadata", str(export_file))
    codes = {h.split("error[")[1][:4] for h in alone.stderr.splitlines() if ": error[" in h}
    assert codes == {"E902"} or codes == {"E902", "E906"}


@pytest.fixture(scope="module")
def demo_sandbox() -> Iterator[Any]:
    metadata = json.loads(DEMO_METADATA_PATH.read_text())
    with start_sandbox(SandboxConfig(metadata=metadata, users={dc.ADMIN_USER: PASSWORD})) as sb:
        yield sb


def live_plan(tmp_path: Path, spec: str, url: str) -> Path:
    compiled = compile_source((ROOT / spec).read_text(), spec)
    assert compiled.plan is not None
    plan = copy.deepcopy(compiled.plan)
    plan["target"]["url"] = url
    plan["target"]["auth"] = {"kind": "basic", "user": {"value": dc.ADMIN_USER},
                              "password": {"env": "PREFLIGHT_PW"}}  # fmt: skip
    path = tmp_path / (Path(spec).stem + ".json")
    path.write_text(json.dumps(plan))
    return path


@pytest.mark.parametrize("spec", SPECS)
def test_live_preflight_against_the_sandbox(spec: str, tmp_path: Path, demo_sandbox: Any) -> None:
    plan = live_plan(tmp_path, spec, demo_sandbox.url)
    result = CliRunner().invoke(cli, ["preflight", str(plan)], env={"PREFLIGHT_PW": PASSWORD})
    assert result.exit_code == 0, result.output
    assert f"fits the metadata of {demo_sandbox.url}" in result.stdout


def test_live_preflight_reports_a_missing_data_set(tmp_path: Path) -> None:
    metadata = json.loads(DEMO_METADATA_PATH.read_text())
    metadata["dataSets"] = [d for d in metadata["dataSets"] if d["id"] != dc.TONGA_DATA_SET]
    with start_sandbox(SandboxConfig(metadata=metadata, users={dc.ADMIN_USER: PASSWORD})) as sb:
        plan = live_plan(tmp_path, "specs/tonga.push", sb.url)
        result = CliRunner().invoke(cli, ["preflight", str(plan)], env={"PREFLIGHT_PW": PASSWORD})
    assert result.exit_code == 1
    where = position("specs/tonga.push", "data_set", "data_set")
    assert f"{where}: error[E901]: data set {dc.TONGA_DATA_SET} does not exist" in result.stderr


def test_unreadable_metadata_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = preflight("specs/tonga.push", "--metadata", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"dhispatch: {bad}:1:2: not valid JSON")
    missing = preflight("specs/tonga.push", "--metadata", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "cannot read metadata file" in missing.stderr
