"""Small value checks several blocks share: UIDs, codes, names from a closed list."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dhispatch.compiler.vocabulary import hint_for
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic

UID = re.compile(r"[A-Za-z][A-Za-z0-9]{10}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_uid(text: str) -> bool:
    return UID.fullmatch(text) is not None


def check_uid(value: ast.Str, what: str) -> Iterator[Diagnostic]:
    """E306 not a DHIS2 UID (11 characters, a letter then letters or digits)."""
    if not is_uid(value.value):
        yield Diagnostic(
            "E306",
            f"{what} {value.value!r} is not a DHIS2 UID",
            value.span,
            hint="a UID is 11 characters: a letter, then 10 letters or digits",
        )


def check_identifier(value: ast.Str, what: str, scheme: str) -> Iterator[Diagnostic]:
    """A UID when the scheme is uid; a non-empty code (E314) when it is code."""
    if scheme == "uid":
        yield from check_uid(value, what)
    elif not value.value.strip():
        yield Diagnostic("E314", f"{what} is empty", value.span, hint="a DHIS2 code is non-empty")


def check_choice(
    value: ast.Name, known: tuple[str, ...], code: str, what: str
) -> Iterator[Diagnostic]:
    """``code``: a name that is not one of the allowed ones, with a suggestion."""
    if value.value not in known:
        yield Diagnostic(
            code, f"unknown {what} '{value.value}'", value.span, hint=hint_for(value.value, known)
        )


def check_env(env: ast.Env) -> Iterator[Diagnostic]:
    """E315 an env() reference whose name no environment variable can have."""
    if ENV_NAME.fullmatch(env.var.value) is None:
        yield Diagnostic(
            "E315",
            f"{env.var.value!r} is not an environment variable name",
            env.var.span,
            hint="letters, digits and _, not starting with a digit",
        )
