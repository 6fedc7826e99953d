"""The built wheel, installed in a fresh venv outside the checkout, runs every stage's command.

An editable install reads package data straight from the checkout, which is how a missing
schema or template once passed every test and failed every user who ran ``pip install .``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, (
        f"{args[:3]} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv holding only the wheel built from this checkout (and its deps).

    uv builds and installs (seconds, where pip takes a minute of this suite's budget); the wheel
    is the standard one any installer gets from ``pip wheel .``.
    """
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is a test dependency (pyproject [test])"
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    _run([uv, "build", "-q", "--wheel", "--out-dir", str(dist), str(REPO)], work)
    wheels = list(dist.glob("dhispatch-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = work / "venv"
    _run([uv, "venv", "-q", "--python", sys.executable, str(env_dir)], work)
    _run(
        [uv, "pip", "install", "-q", "--python", str(env_dir / "bin" / "python"), str(wheels[0])],
        work,
    )
    return env_dir / "bin"


def _clean_env(tmp: Path) -> dict[str, str]:
    # nothing that could lead the installed command back to the checkout
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {**keep, "HOME": str(tmp), "XDG_CACHE_HOME": str(tmp / "cache")}


def test_the_wheel_holds_its_data_files_and_no_checkout_paths(installed: Path) -> None:
    site = _run(
        [
            str(installed / "python"),
            "-c",
            "import dhispatch, os; print(os.path.dirname(dhispatch.__file__))",
        ],
        installed,
    ).strip()
    package = Path(site)
    assert REPO not in package.parents
    for data in (
        "runtime/plan/plan.v1.json",
        "dsl/grammar.lark",
        "runtime/report/templates/run.html.j2",
        "runtime/report/templates/run.md.j2",
        "runtime/demo/metadata.json",
        "runtime/demo/specs/kiribati.push",
        "runtime/demo/specs/tonga.push",
        "runtime/demo/specs/vanuatu.push",
    ):
        assert (package / data).is_file(), data


def test_demo_check_compile_and_plan_run_from_an_empty_directory(
    installed: Path, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    out = _run([str(installed / "dhispatch"), "demo", "--dir", "demo"], empty, env)
    assert "status" in out and "ok" in out
    demo = empty / "demo"
    spec = demo / "kiribati.push"
    assert spec.is_file()

    _run([str(installed / "dhispatch"), "check", str(spec)], empty, env)
    _run([str(installed / "dhispatch"), "compile", str(spec), "-o", "plan.json"], empty, env)
    plan = json.loads((empty / "plan.json").read_text(encoding="utf-8"))
    assert plan["plan_version"] == "dhispatch/plan/v1"

    env["OMSUPPLY_DB"] = str(demo / "omsupply.sqlite")
    shown = _run(
        [
            str(installed / "dhispatch"),
            "plan",
            "plan.json",
            "--period",
            _demo_period(out),
            "--state",
            str(demo / "state.sqlite"),
            "--json",
        ],
        empty,
        env,
    )
    assert json.loads(shown)  # the journal from the demo's push is read by the installed plan


def _demo_period(demo_output: str) -> str:
    for line in demo_output.splitlines():
        if line.startswith("4/4 pushing period "):
            return line.split()[3]
    raise AssertionError(f"the demo did not say which period it pushed:\n{demo_output}")
