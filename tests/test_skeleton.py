"""The skeleton's promises: the CLI starts, the plan schema is a valid Draft 2020-12 schema."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
from jsonschema import Draft202012Validator

from dhispatch.runtime.plan import PlanError
from dhispatch.runtime.plan import schema_path
from dhispatch.runtime.plan import validate_plan


def test_plan_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(schema_path().read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_unknown_plan_version_is_refused() -> None:
    try:
        validate_plan({"plan_version": "dhispatch/plan/v2"})
    except PlanError as exc:
        assert "unsupported plan_version" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("v2 plan accepted")


def test_cli_help_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage: dhispatch" in out.stdout


def test_postgres_is_real(postgres_db: str) -> None:
    with psycopg.connect(postgres_db) as conn:
        version = conn.execute("select version()").fetchone()
    assert version is not None and "PostgreSQL" in version[0]
