"""The root of every error dhispatch raises for its users; the CLI catches it once, at its edge.

Each stage defines its own errors next to the code that raises them, all deriving from
``DhispatchError``. Their text is one complete, secret-free line for a user (``str(exc)``);
``exit_code`` is what the CLI exits with (1: a problem was found, 2: the command line asked for
something impossible). Anything else that escapes is a bug and is reported as one.
"""

from __future__ import annotations

from typing import ClassVar


class DhispatchError(Exception):
    """A problem a user can act on; ``str()`` is the whole message, never a secret."""

    exit_code: ClassVar[int] = 1


class UsageError(DhispatchError):
    """The command line (or the caller) asked for something impossible; exit 2."""

    exit_code: ClassVar[int] = 2
