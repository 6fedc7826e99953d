"""Issue 13 point 5: with ``complete_data_set``, every (period, org unit) whose values DHIS2
was proven to hold is registered complete — once, on each generation — one with a value not held
is not, a registration DHIS2 refuses is recorded with why, and one whose answer proved nothing
keeps its slot due until a later run registers it. ``log`` and the report show them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import demo_metadata
from dhispatch.runtime.journal import Journal
from tests.e2e.conftest import END
from tests.e2e.conftest import PASSWORD
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import plan_file
from tests.faults.proxy import fault_proxy

PLAN = "kiribati-national"
REGISTRATIONS = "/api/completeDataSetRegistrations"
NOW = "2024-06-02T00:00:00"  # the 202405 slot of Kiribati's monthly steps is due


def sandbox_with(version: str, metadata: dict[str, Any] | None = None) -> Any:
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    config = SandboxConfig(metadata=metadata or demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS),
                           version=version, users={dc.ADMIN_USER: PASSWORD}, today=END)  # fmt: skip
    return start_sandbox(config)


def completing_plan(url: str, db: Path, tmp: Path) -> Path:
    path = plan_file("kiribati", url, db, tmp)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["target"]["complete_registration"] = True
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def registered_in(sandbox: Any, period: str = "202405") -> set[str]:
    """The org units (UIDs) the sandbox holds a registration of Kiribati's data set for."""
    with httpx.Client(base_url=sandbox.url, auth=(dc.ADMIN_USER, PASSWORD)) as http:
        body = http.get(REGISTRATIONS, params={"dataSet": dc.KIRIBATI_DATA_SET,
                                               "period": period}).json()  # fmt: skip
    return {r["organisationUnit"] for r in body["completeDataSetRegistrations"]}


@pytest.fixture(params=["2.36", "2.37", "2.40", "2.43"])
def versioned(request: pytest.FixtureRequest) -> Iterator[Any]:
    with sandbox_with(request.param) as running:
        yield running


def test_every_confirmed_org_unit_is_registered_once(
    small_country: Country, versioned: Any, tmp_path: Path
) -> None:
    plan = completing_plan(versioned.url, small_country.db, tmp_path)
    state = ["--state", str(tmp_path / "state.sqlite")]
    first = json.loads(cli(["push", str(plan), "--period", "202405", "--json", *state],
                           small_country.db).output)  # fmt: skip
    with_values = {v["orgUnit"] for v in versioned.values()}
    assert first["status"] == "ok" and len(with_values) == 4
    assert registered_in(versioned) == with_values
    assert first["registered"] == 4 and first["registrations_refused"] == 0
    requests = versioned.request_count()
    again = json.loads(cli(["push", str(plan), "--period", "202405", "--json", *state],
                           small_country.db).output)  # fmt: skip
    assert again["registered"] == 0 and again["unchanged"] == first["values"]
    assert (
        versioned.request_count() - requests == 1
    )  # system/info: nothing sent, none re-registered
    with Journal.open(tmp_path / "state.sqlite", readonly=True) as journal:
        rows = journal.registrations()
    assert {(r.period, r.status, r.run_id) for r in rows} == {("202405", "registered", 1)}
    log = cli(["log", *state], small_country.db).output
    assert f"{PLAN} → target 1  202405: 4 org unit(s) registered complete" in log
    report = cli(["report", "1", *state], small_country.db).output
    assert "## Completeness registrations" in report and report.count("| registered |") == 4


def test_an_org_unit_with_a_value_not_held_is_not_registered(
    small_country: Country, tmp_path: Path
) -> None:
    """The store whose org unit the data set is not assigned to: 2.43 refuses its values (and so
    it is not registered); 2.40 stores them but refuses the registration, recorded with why."""
    meta = copy.deepcopy(demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS))
    (kiribati,) = [d for d in meta["dataSets"] if d["id"] == dc.KIRIBATI_DATA_SET]
    dropped = "ou000000001"  # store S001's org unit
    kiribati["organisationUnits"] = [o for o in kiribati["organisationUnits"] if o["id"] != dropped]
    for version in ("2.40", "2.43"):
        with sandbox_with(version, meta) as sandbox:
            plan = completing_plan(sandbox.url, small_country.db, tmp_path)
            state = ["--state", str(tmp_path / f"{version}.sqlite")]
            out = cli(["push", str(plan), "--period", "202405", "--json", *state],
                      small_country.db, code=None)  # fmt: skip
            summary, _ = json.JSONDecoder().raw_decode(out.output, out.output.index("{"))
            held = {v["orgUnit"] for v in sandbox.values()}
            assert dropped not in registered_in(sandbox)
            assert registered_in(sandbox) == held - {dropped} and len(held - {dropped}) == 3
            log = cli(["log", *state], small_country.db).output
            assert (dropped in held) is (version == "2.40")
            if dropped in held:  # values stored: the registration itself was refused
                assert summary["registrations_refused"] == 1
                assert f"is not assigned to organisation unit {dropped}" in log
            else:
                assert summary["refused"] > 0 and summary["registrations_refused"] == 0


def test_a_registration_without_proof_keeps_its_slot_due_until_registered(
    small_country: Country, tmp_path: Path
) -> None:
    with sandbox_with("2.40") as sandbox, fault_proxy(sandbox.url) as proxy:
        plan = completing_plan(proxy.url, small_country.db, tmp_path)
        run = ["run", "--once", str(plan), "--now", NOW, "--state", str(tmp_path / "s.sqlite"),
               "--json", "--retry-delay", "0"]  # fmt: skip
        proxy.inject_at(REGISTRATIONS, "webmessage-409")
        first = json.loads(cli(run, small_country.db).output)
        assert first["sent"] > 30 and first["registered"] == 0
        assert first["registrations_refused"] == 4 and registered_in(sandbox) == set()
        second = json.loads(cli(run, small_country.db).output)  # the slot is still due
        assert second["periods"] == ["202405"] and second["sent"] == 0
        assert second["registered"] == 4 and len(registered_in(sandbox)) == 4
        third = cli(run, small_country.db).output
        assert "nothing due" in third
