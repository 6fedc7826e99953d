"""``--env-file``: dotenv lines set the variables the environment does not hold (the environment
wins), interpolation works, and a line that is not NAME=VALUE is named by number only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dhispatch.errors import UsageError
from dhispatch.runtime.cli.env_file import load_env_file


def test_the_file_sets_what_the_environment_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DHX_USER", "DHX_PASSWORD", "DHX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DHX_USER", "from-the-environment")
    path = tmp_path / "x.env"
    path.write_text('# comment\nDHX_USER=from-the-file\nexport DHX_PASSWORD="p w#1"\n'
                    "DHX_URL=https://${DHX_USER}@example.org\nEMPTY_NAME_ONLY\n",
                    encoding="utf-8")  # fmt: skip
    try:
        assert load_env_file(str(path)) == ["DHX_PASSWORD", "DHX_URL"]
        assert os.environ["DHX_USER"] == "from-the-environment"
        assert os.environ["DHX_PASSWORD"] == "p w#1"
        assert os.environ["DHX_URL"] == "https://from-the-environment@example.org"
        assert "EMPTY_NAME_ONLY" not in os.environ
    finally:
        for name in ("DHX_PASSWORD", "DHX_URL"):
            os.environ.pop(name, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"OK=1\nsecret-canary-value here\n", "line 2 is not NAME=VALUE"),
     (b"PASSWORD=canary\xff\n", "not UTF-8")],
)  # fmt: skip
def test_a_bad_file_is_one_line_without_its_content(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.env"
    path.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        load_env_file(str(path))
    assert message in str(caught.value) and "canary" not in str(caught.value)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file"):
        load_env_file(str(tmp_path / "absent.env"))
