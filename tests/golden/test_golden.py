"""Golden files: every good spec → its plan JSON; every bad spec → its rendered diagnostics."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from dhispatch.compiler import compile_source
from dhispatch.compiler import plan_to_json
from dhispatch.dsl.codes import CODES
from dhispatch.dsl.diagnostics import render_all
from dhispatch.runtime.plan import validate_plan

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
OK = sorted(HERE.glob("ok/*.push")) + sorted((ROOT / "specs").glob("*.push"))
BAD = sorted(HERE.glob("bad/*.push"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _compare(actual: str, golden: Path, update: bool) -> None:
    if update or not golden.exists():
        golden.write_text(actual, encoding="utf-8")
        if not update:
            pytest.fail(f"golden {golden.name} was missing; written, review it")
        return
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), "golden", "actual"
            )
        )
        pytest.fail(f"{golden.name} differs (rerun with --update-goldens if intended):\n{diff}")


@pytest.mark.parametrize("spec", OK, ids=[p.stem for p in OK])
def test_good_spec_compiles_to_its_plan(spec: Path, update_goldens: bool) -> None:
    text = spec.read_text(encoding="utf-8")
    result = compile_source(text, _rel(spec))
    assert result.plan is not None, render_all(result.diagnostics, {_rel(spec): text})
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    validate_plan(json.loads(plan_to_json(result.plan)))
    _compare(plan_to_json(result.plan), HERE / "ok" / f"{spec.stem}.plan.json", update_goldens)


@pytest.mark.parametrize("spec", BAD, ids=[p.stem for p in BAD])
def test_bad_spec_renders_its_diagnostics(spec: Path, update_goldens: bool) -> None:
    text = spec.read_text(encoding="utf-8")
    result = compile_source(text, _rel(spec))
    assert result.diagnostics, "a bad spec produced no diagnostic"
    assert all(d.code in CODES for d in result.diagnostics)
    rendered = render_all(result.diagnostics, {_rel(spec): text}) + "\n"
    assert "canary" not in rendered  # literal secrets are starred out of quoted lines
    _compare(rendered, HERE / "bad" / f"{spec.stem}.errors.txt", update_goldens)


def test_every_documented_code_has_a_bad_golden() -> None:
    seen = set()
    for spec in BAD:
        seen |= {d.code for d in compile_source(spec.read_text(encoding="utf-8"), "x").diagnostics}
    untested = set(CODES) - seen - {"E100", "E900"}  # fallback label, internal error
    assert untested == set()


def test_readme_lists_every_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The spec language") :]
    assert [code for code in CODES if f"| {code} |" not in section] == []


def test_readme_example_spec_compiles() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The spec language") :]
    example = section.split("```\n", 2)[1]
    result = compile_source(example, "README.md")
    assert result.plan is not None, render_all(result.diagnostics, {"README.md": example})
    assert result.plan["target"]["enabled"] is False
