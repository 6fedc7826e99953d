"""The files in ``deploy/``: the systemd units pass ``systemd-analyze verify`` without a warning,
and every command they and the Dockerfile start is one dhispatch accepts.

There is no Docker daemon on the build machine, so the Dockerfile is checked by what it says:
every file it copies exists in the checkout (and the symbolic links among them resolve inside
what is copied), its command line parses as a dhispatch command, and its HEALTHCHECK asks the
address ``--health`` listens on.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dhispatch.runtime.cli.main import cli
from dhispatch.runtime.health import parse_address

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ("dhispatch.service", "dhispatch-run.service", "dhispatch-run.timer")
INSTALLED = "/opt/dhispatch/bin/dhispatch"


def parses(args: list[str]) -> click.Context:
    """The command's options and arguments as dhispatch's CLI parses them (nothing runs)."""
    name, *rest = args
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, f"dhispatch has no command {name!r}"
    return command.make_context(name, rest)


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def test_the_systemd_units_verify_cleanly(tmp_path: Path) -> None:
    """The units as shipped, with ExecStart pointing at this checkout's dhispatch (verify checks
    that the program exists and is executable)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is part of the build machine (systemd)"
    ours = shutil.which("dhispatch", path=str(Path(sys.executable).parent))
    assert ours is not None
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(INSTALLED, ours), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


@pytest.mark.parametrize("name", ["dhispatch.service", "dhispatch-run.service"])
def test_each_unit_starts_a_dhispatch_command_that_parses(name: str) -> None:
    service = unit(name)["Service"]
    program, *args = shlex.split(service["ExecStart"])
    assert program == INSTALLED
    ctx = parses(args)
    assert ctx.params["log_format"] == "text"  # journald stamps lines itself
    if args[0] == "serve":
        host, _ = parse_address(ctx.params["health_at"])
        assert host == "127.0.0.1"
    else:
        assert args[:2] == ["run", "--once"] and service["Type"] == "oneshot"
    assert "%S/dhispatch/state.sqlite" in service["Environment"]


def test_the_timer_starts_the_one_shot_service() -> None:
    timer = unit("dhispatch-run.timer")["Timer"]
    assert timer["Unit"] == "dhispatch-run.service" and (DEPLOY / timer["Unit"]).exists()
    assert timer["Persistent"] == "true"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", "\n".join(x for x in text.splitlines() if not x.startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_every_file_the_dockerfile_copies_exists_and_its_links_resolve_inside() -> None:
    copied: list[Path] = []
    for word, rest in dockerfile():
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the checkout"
                copied.append(ROOT / source)
    names = {p.name for p in copied}
    assert {"pyproject.toml", "LICENSE", "dhispatch", "dsl", "compiler", "runtime"} <= names
    for top in (p for p in copied if p.is_dir()):
        for link in (p for p in top.rglob("*") if p.is_symlink()):
            target = link.resolve()
            assert any(target == c or c in target.parents for c in copied), (
                f"{link.relative_to(ROOT)} points outside what the image copies"
            )


def test_the_image_runs_a_dhispatch_command_that_parses_with_its_health_check() -> None:
    steps = dict(dockerfile())
    assert json.loads(steps["ENTRYPOINT"]) == ["dhispatch"]
    args = json.loads(steps["CMD"])
    ctx = parses(args)
    assert args[0] == "serve" and ctx.params["log_format"] == "json"
    host, port = parse_address(ctx.params["health_at"])
    assert f"http://{host}:{port}/health" in steps["HEALTHCHECK"]
    assert steps["USER"] == "dhispatch" and "DHISPATCH_STATE=/var/lib/dhispatch/" in steps["ENV"]
