"""``--env-file FILE``: variables (credentials, the stock database) from a dotenv file, so cron
and systemd need no shell profile. Values are never printed, not even in errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

from dotenv import dotenv_values
from dotenv import load_dotenv
from dotenv.parser import parse_stream

from dhispatch.errors import UsageError


def load_env_file(path: str) -> list[str]:
    """Set the file's variables that the environment does not already hold (the environment
    wins, as with python-dotenv and Docker); the names set. A line that is not ``NAME=VALUE``
    is a UsageError naming its line number only (it may hold a secret)."""
    text = _read(path)
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise UsageError(
                f"--env-file {path}: line {binding.original.line} is not NAME=VALUE "
                "(the line is not shown: it may hold a secret)"
            )
    names = [n for n, v in dotenv_values(stream=io.StringIO(text), interpolate=False).items()
             if v is not None and n not in os.environ]  # fmt: skip
    # override=False: the environment wins, in the values and in ${VAR} interpolation alike
    load_dotenv(stream=io.StringIO(text), override=False, interpolate=True)
    return names


def _read(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--env-file {path}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"--env-file {path}: {exc.strerror or exc}") from None
