"""Issue 13 point 3: one spec, several DHIS2 targets — ``--target NAME`` picks one, ``run``
pushes to every enabled one, the journal keeps each target's state apart — and ``--env-file``
supplying the secrets of a run that has no shell profile (cron, systemd)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.journal import Journal
from tests.e2e.conftest import CANARY
from tests.e2e.conftest import END
from tests.e2e.conftest import MAY
from tests.e2e.conftest import PASSWORD
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import compile_spec
from tests.e2e.conftest import expected_cells

NOW = "2024-06-02T00:00:00"  # the 202405 slot of kiribati's monthly steps is due


@pytest.fixture
def two_sandboxes() -> Iterator[tuple[Any, Any]]:
    from dhispatch.runtime.demo.metadata import demo_metadata
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    config = SandboxConfig(metadata=demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS),
                           users={dc.ADMIN_USER: PASSWORD}, today=END)  # fmt: skip
    with start_sandbox(config) as production, start_sandbox(config) as staging:
        yield production, staging


def two_target_plan(tmp: Path, production: str, staging: str, **staging_extra: Any) -> Path:
    """Kiribati with its dhis2 block split into a production and a staging target."""
    plan = compile_spec("kiribati")
    target = plan.pop("target")
    plan["targets"] = [
        {**target, "name": "production", "url": production},
        {**target, "name": "staging", "url": staging, **staging_extra},
    ]
    plan["source"]["database"] = {"env": "OMSUPPLY_DB"}
    path = tmp / "two.plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def test_target_picks_one_and_run_pushes_to_every_enabled_target(
    small_country: Country, two_sandboxes: tuple[Any, Any], tmp_path: Path
) -> None:
    production, staging = two_sandboxes
    plan = two_target_plan(tmp_path, production.url, staging.url)
    state = tmp_path / "state.sqlite"
    base = ["--state", str(state)]
    refused = cli(["push", str(plan), "--period", "202405", *base], small_country.db, code=2)
    assert "names several targets (production, staging): choose one with --target" in (
        refused.output)  # fmt: skip
    assert production.request_count() == staging.request_count() == 0
    unknown = cli(["push", str(plan), "--target", "prod", *base], small_country.db, code=2)
    assert "has no target 'prod' (its targets: production, staging)" in unknown.output
    export = str(Path(demo_metadata_path()))
    cli(["preflight", str(plan), "--metadata", export], small_country.db, code=2)
    checked = cli(["preflight", str(plan), "--metadata", export, "--target", "staging"],
                  small_country.db)  # fmt: skip
    assert "preflight passed" in checked.output

    cli(["push", str(plan), "--period", "202405", "--target", "staging", *base], small_country.db)
    expected = expected_cells("kiribati", small_country.db, *MAY)
    assert len(staging.values()) == len(expected) > 30 and production.values() == []

    # run --once: every enabled target; staging's state is its own, so it has nothing to send
    out = cli(["run", "--once", str(plan), "--now", NOW, "--json", *base], small_country.db)
    runs = [json.loads(chunk) for chunk in _json_objects(out.output)]
    by_target = {r["target"]: r for r in runs}
    assert set(by_target) == {"production", "staging"}
    assert by_target["production"]["sent"] == len(expected)
    assert by_target["staging"]["sent"] == 0 and by_target["staging"]["unchanged"] == len(expected)
    assert len(production.values()) == len(expected)
    with Journal.open(state, readonly=True) as journal:
        names = journal.target_names()
        assert sorted(names.values()) == ["production", "staging"]
        for target_id in names:
            assert len(journal.cells("kiribati-national", target_id=target_id)) == len(expected)

    log = cli(["log", "--target", "staging", "--json", *base], small_country.db)
    assert [r["target"]["name"] for r in json.loads(log.output)] == ["staging", "staging"]
    nameless = cli(["log", "--target", "nope", *base], small_country.db, code=2)
    assert "no target named 'nope' (named targets: production, staging)" in nameless.output
    report = cli(["report", "last", "--target", "production", *base], small_country.db)
    assert "schedule" in report.output


def test_run_skips_a_disabled_target(
    small_country: Country, two_sandboxes: tuple[Any, Any], tmp_path: Path
) -> None:
    production, staging = two_sandboxes
    plan = two_target_plan(tmp_path, production.url, staging.url, enabled=False)
    state = tmp_path / "state.sqlite"
    out = cli(["run", "--once", str(plan), "--now", NOW, "--json", "--state", str(state)],
              small_country.db)  # fmt: skip
    assert [json.loads(c)["target"] for c in _json_objects(out.output)] == ["production"]
    assert staging.request_count() == 0 and production.values()


def test_env_file_supplies_the_secrets_without_printing_them(
    small_country: Country, two_sandboxes: tuple[Any, Any], tmp_path: Path
) -> None:
    production, staging = two_sandboxes
    plan = two_target_plan(tmp_path, production.url, staging.url)
    env_file = tmp_path / "dhispatch.env"
    env_file.write_text(
        f"# written by the installer\nDHIS2_USER={dc.ADMIN_USER}\n"
        f"export DHIS2_PASSWORD='{PASSWORD}'\nOMSUPPLY_DB=\"{small_country.db}\"\n",
        encoding="utf-8",
    )
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("DHIS2_", "OMSUPPLY"))}

    def dhispatch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dhispatch.runtime.cli.main", *args],
            capture_output=True, text=True, env=bare, timeout=120, check=False,
        )  # fmt: skip

    state = str(tmp_path / "state.sqlite")
    without = dhispatch("push", str(plan), "--target", "production", "--period", "202405",
                        "--state", state)  # fmt: skip
    assert without.returncode != 0 and production.values() == []
    runs = [
        dhispatch("push", str(plan), "--target", "production", "--period", "202405", "--state",
                  state, "--env-file", str(env_file)),
        dhispatch("test-connection", str(plan), "--target", "staging", "--env-file",
                  str(env_file), "--state", state),
        dhispatch("run", "--once", str(plan), "--now", NOW, "--state", state, "--env-file",
                  str(env_file)),
    ]  # fmt: skip
    assert [r.returncode for r in runs] == [0, 0, 0], [r.stderr for r in runs]
    assert len(production.values()) == len(staging.values()) > 30
    for r in [without, *runs]:
        assert CANARY not in r.stdout + r.stderr
    # a broken line is named by its number, never shown (it may hold a secret)
    env_file.write_text(f"DHIS2_PASSWORD {PASSWORD}\n", encoding="utf-8")
    broken = dhispatch("push", str(plan), "--target", "staging", "--env-file", str(env_file))
    assert broken.returncode == 2
    assert "line 1 is not NAME=VALUE" in broken.stderr and CANARY not in broken.stderr
    missing = dhispatch("push", str(plan), "--target", "staging", "--env-file", "/nonexistent")
    assert missing.returncode == 2 and "No such file" in missing.stderr


def demo_metadata_path() -> Path:
    from dhispatch.runtime.demo import metadata

    return Path(metadata.__file__).with_name("metadata.json")


def _json_objects(text: str) -> list[str]:
    """The top-level JSON objects printed one after another (``--json`` of several runs)."""
    decoder, found, i = json.JSONDecoder(), [], 0
    while (start := text.find("{", i)) != -1:
        obj, end = decoder.raw_decode(text, start)
        found.append(json.dumps(obj))
        i = end
    return found
