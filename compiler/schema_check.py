"""The plan schema validator the compiler checks its output with (loaded once, lazily)."""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).parent / "schema" / "plan.v1.json"


@lru_cache(maxsize=1)
def plan_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@lru_cache(maxsize=1)
def plan_validator() -> Any:
    """Draft 2020-12 with format checking on, as the runtime's loader uses."""
    # Imported by name: jsonschema ships no type stubs, and only compile (not check) needs it.
    validator = importlib.import_module("jsonschema").Draft202012Validator
    return validator(plan_schema(), format_checker=validator.FORMAT_CHECKER)
