"""Load a push plan: JSON → schema validation → version check; the runtime's only input format.

The schema file belongs to the compiler (it is what the compiler promises to emit), but the
runtime reads it as data, located beside its own package, so that it never imports compiler code.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

PLAN_VERSION = "dhispatch/plan/v1"


class PlanError(Exception):
    """A plan file that cannot be used: unreadable, not JSON, schema-invalid or of another version.

    ``problems`` lists one line per schema error, keyed by JSON path (``$.steps[0].basis: …``).
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join((self.args[0], *(f"  {p}" for p in self.problems)))


def schema_path() -> Path:
    spec = importlib.util.find_spec("dhispatch.compiler")
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations))) / "schema" / "plan.v1.json"


@lru_cache(maxsize=1)
def plan_validator() -> Draft202012Validator:
    """The Draft 2020-12 validator for plans, with format checking switched on."""
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate_plan(plan: Any) -> None:
    """Raise PlanError listing every schema problem, sorted by JSON path."""
    if isinstance(plan, dict) and plan.get("plan_version") not in (None, PLAN_VERSION):
        raise PlanError(
            f"unsupported plan_version {plan.get('plan_version')!r}; this dhispatch reads "
            f"{PLAN_VERSION!r} (recompile the spec with this version)"
        )
    errors = sorted(plan_validator().iter_errors(plan), key=lambda e: e.json_path)
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        problems = tuple(f"{e.json_path}: {e.message}" for e in errors)
        raise PlanError(f"invalid plan: {best.json_path}: {best.message}", problems)


def load_plan(path: str | Path) -> dict[str, Any]:
    """Read and validate a plan file; every failure is a PlanError with a readable message."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read plan {path}: {exc.strerror or exc}") from exc
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    validate_plan(plan)
    assert isinstance(plan, dict)
    return plan
