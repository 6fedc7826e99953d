"""Where the journal lives: ``--state``, else the spec's ``journal`` setting, else
``$DHISPATCH_STATE``, else ``$XDG_STATE_HOME/dhispatch/state.sqlite`` — one place whatever
directory a command starts in; a spec without the setting compiles to the same plan as before."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dhispatch.compiler import compile_source
from dhispatch.errors import UsageError
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "specs" / "kiribati.push").read_text(encoding="utf-8")


def plan_with(journal: str | None) -> Plan:
    text = SPEC
    zone = '    timezone           "Pacific/Tarawa"'
    if journal is not None:
        text = text.replace(zone, f'{zone}\n    journal "{journal}"')
    result = compile_source(text, "specs/kiribati.push")
    assert result.plan is not None, result.diagnostics
    return Plan.from_json(result.plan)


def test_the_setting_is_in_the_plan_only_when_given() -> None:
    plain = compile_source(SPEC, "specs/kiribati.push").plan
    assert plain is not None and "journal" not in plain["target"]
    given = plan_with("/srv/dhispatch/ki.sqlite").target
    assert given.journal == "/srv/dhispatch/ki.sqlite"
    # the only difference: a plan of a spec without the setting is what it always was
    assert replace(Plan.from_json(plain).target, journal=given.journal) == given


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_path(None) == tmp_path / "xdg" / "dhispatch" / "state.sqlite"
    monkeypatch.setenv("DHISPATCH_STATE", str(tmp_path / "env.sqlite"))
    assert state_path(None) == tmp_path / "env.sqlite"
    spec = plan_with(str(tmp_path / "spec.sqlite"))
    assert state_path(None, [spec]) == tmp_path / "spec.sqlite"
    assert state_path(str(tmp_path / "flag.sqlite"), [spec]) == tmp_path / "flag.sqlite"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_path(None, [plan_with("~/ki.sqlite")]) == tmp_path / "home" / "ki.sqlite"
    with pytest.raises(UsageError, match="different journals"):
        state_path(None, [spec, plan_with("/elsewhere.sqlite")])


def test_the_default_is_the_platform_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """platformdirs decides the last fallback (Windows: %LOCALAPPDATA%, macOS: Application
    Support); on Linux it is the XDG state directory, ~/.local/state without the variable."""
    from platformdirs import user_state_path

    monkeypatch.delenv("DHISPATCH_STATE", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "state" / "dhispatch" / "state.sqlite"
    assert state_path(None) == expected == user_state_path("dhispatch") / "state.sqlite"
