"""The check / compile / fmt commands, run as a user runs them (a subprocess, exit codes)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from dhispatch.runtime.plan import validate_plan

ROOT = Path(__file__).parent.parent.parent
SPECS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.push"))
BAD = "tests/golden/bad/many_semantic_errors.push"


def dhispatch(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_accepts_the_example_specs() -> None:
    done = dhispatch("check", *SPECS)
    assert (done.returncode, done.stdout) == (0, "")


def test_compile_twice_gives_identical_valid_plans(tmp_path: Path) -> None:
    for spec in SPECS:
        out = tmp_path / "plan.json"
        first = dhispatch("compile", spec, "-o", str(out))
        assert first.returncode == 0, first.stderr
        second = dhispatch("compile", spec)
        assert second.returncode == 0
        assert out.read_bytes() == second.stdout.encode("utf-8")
        validate_plan(json.loads(second.stdout))


def test_check_reports_errors_as_text_and_json() -> None:
    text = dhispatch("check", BAD)
    assert text.returncode == 1
    assert text.stdout.startswith(f"{BAD}:4:19: error[E302]: plain http")
    assert "Traceback" not in text.stdout + text.stderr
    as_json = dhispatch("check", "--format", "json", BAD)
    assert as_json.returncode == 1
    found = json.loads(as_json.stdout)
    assert [d["code"] for d in found] == ["E302", "E306", "E508", "E512"]
    assert set(found[0]) == {
        "path", "line", "column", "end_line", "end_column", "code", "severity", "message", "hint",
    }  # fmt: skip
    assert (found[2]["line"], found[2]["column"], found[2]["end_column"]) == (17, 6, 18)


def test_check_json_reports_every_syntax_error_of_a_file() -> None:
    done = dhispatch("check", "--format", "json", "tests/golden/bad/syntax_several_errors.push")
    assert done.returncode == 1
    found = [(d["code"], d["line"], d["column"]) for d in json.loads(done.stdout)]
    assert found == [("E102", 6, 5), ("E106", 10, 1), ("E105", 17, 52)]


def test_compile_refuses_a_bad_spec_without_a_traceback() -> None:
    done = dhispatch("compile", BAD)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "no plan written" in done.stderr and "Traceback" not in done.stderr


def test_missing_file_and_usage_errors() -> None:
    missing = dhispatch("check", "no/such.push")
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == "dhispatch: cannot read spec no/such.push: No such file or directory"
    )
    assert dhispatch("check").returncode == 2
    assert dhispatch("check", "--format", "xml", SPECS[0]).returncode == 2


def test_fmt_check_and_rewrite(tmp_path: Path) -> None:
    assert dhispatch("fmt", "--check", *SPECS).returncode == 0
    messy = tmp_path / "m.push"
    messy.write_text("push   received{interval daily   basis current_day} # c\n", encoding="utf-8")
    checked = dhispatch("fmt", "--check", str(messy))
    assert checked.returncode == 1 and "would be reformatted" in checked.stdout
    assert dhispatch("fmt", str(messy)).returncode == 0
    assert messy.read_text(encoding="utf-8") == (
        "push received { interval daily basis current_day }  # c\n"
    )
    broken = tmp_path / "b.push"
    broken.write_text("push {\n", encoding="utf-8")
    done = dhispatch("fmt", str(broken))
    assert done.returncode == 1 and "E110" in done.stderr


def test_parser_cache_is_private_and_a_broken_one_is_rebuilt(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    run = [sys.executable, "-m", "dhispatch.runtime.cli.main", "check", SPECS[0]]
    assert subprocess.run(run, cwd=ROOT, env=env, capture_output=True).returncode == 0
    (cached,) = (tmp_path / "dhispatch").glob("parser-*.pickle")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o700
    cached.write_bytes(b"not a pickle")
    again = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True)
    assert (again.returncode, again.stderr) == (0, "")
    assert cached.read_bytes() != b"not a pickle"


def test_check_with_metadata_runs_the_metadata_checks_too(tmp_path: Path) -> None:
    export = "runtime/demo/metadata.json"
    assert dhispatch("check", "--metadata", export, *SPECS).returncode == 0
    kiribati = (ROOT / "specs/kiribati.push").read_text(encoding="utf-8")
    wrong = tmp_path / "k.push"
    wrong.write_text(kiribati.replace('"h9mSLj2ZYcK"', '"h9mSLj2ZYcX"'), encoding="utf-8")
    assert dhispatch("check", str(wrong)).returncode == 0  # fine without DHIS2's metadata
    done = dhispatch("check", "--format", "json", "--metadata", export, str(wrong))
    assert done.returncode == 1
    (found,) = json.loads(done.stdout)
    assert (found["line"], found["column"]) == (33, 22)
    assert "h9mSLj2ZYcX" in found["message"]
    assert dhispatch("check", "--metadata", "no/such.json", str(wrong)).returncode == 2
