"""Parse spec text into the AST: a cached LALR parser, and Lark's errors turned into Diagnostics.

After a syntax error the parser resumes at the next line that starts a top-level statement in
column 1 (earlier text blanked so positions stay true), so one run reports several mistakes.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark import Token
from lark.exceptions import UnexpectedCharacters
from lark.exceptions import UnexpectedInput
from lark.exceptions import UnexpectedToken

from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Span
from dhispatch.dsl.errors import SpecSyntaxError
from dhispatch.dsl.scan import unclosed_brace
from dhispatch.dsl.syntax_errors import LABELS
from dhispatch.dsl.syntax_errors import SYNTAX_ERRORS
from dhispatch.dsl.syntax_errors import with_variants
from dhispatch.dsl.transformer import ToAst

MAX_SYNTAX_ERRORS = 20
STATEMENT_KEYWORDS = ("spec", "dhis2", "target", "source", "setup", "push", "alerts")
# A line starting in column 1 with a word is taken for a statement (settings are indented).
_RESUME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")
_FRIENDLY = {
    "NAME": "a name",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "$END": "end of file",
    "CUSTOM_FIELD": "'custom_field'",
    "COMPARE": "a comparison (=, !=, >, >=, <, <=)",
}
# Which block a setting keyword belongs to, for "did you put it in the wrong block?" hints.
BLOCK_OF = {
    **dict.fromkeys(
        ["url", "auth", "data_set", "id_scheme", "org_unit_id_scheme", "period_format",
         "category_option_combo_id_scheme", "period_type", "round", "timezone", "enabled",
         "disabled", "insecure", "on_vanish", "attribute_option_combo", "journal",
         "complete_data_set", "keep_payloads"], "dhis2"),
    **dict.fromkeys(["database", "items", "org_unit"], "source"),
    "item_ref": "setup",
    **dict.fromkeys(
        ["category_option", "custom_field", "data_element", "interval", "basis", "within",
         "months", "days_per_month", "adjust_for_stockouts", "soh", "paused"], "push"),
    **dict.fromkeys(
        ["webhook", "email_to", "email_from", "smtp", "smtp_user", "smtp_password",
         "offline_hours", "stale_days"], "alerts"),
}  # fmt: skip


_BLOCKS = ("dhis2", "source", "setup", "push", "alerts")  # labels of unknown block settings

_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "basic",
    "propagate_positions": True,
    "maybe_placeholders": False,
}


@lru_cache(maxsize=2)
def get_parser(strict: bool = False) -> Lark:
    """The LALR parser, built once per process and its tables cached per user between runs.

    Building the tables costs about 0.3 s, loading them about 15 ms, and ``dhispatch check`` runs
    on every commit. The cache lives in the user's own cache directory (never inside the package,
    never in a shared temp directory, since it is a pickle), written atomically, keyed by the
    grammar text and the Lark and Python versions; any problem with it just means a rebuild.
    """
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    if strict:
        return Lark(grammar, strict=True, **_OPTIONS)
    key = hashlib.sha256(
        "\0".join((grammar, repr(sorted(_OPTIONS.items())), lark.__version__, sys.version)).encode()
    ).hexdigest()[:24]
    cache = _cache_dir()
    path = cache / f"parser-{key}.pickle" if cache is not None else None
    if path is not None:
        try:
            with path.open("rb") as f:
                loaded = Lark.load(f)
            assert isinstance(loaded, Lark)
            return loaded
        except Exception:  # noqa: BLE001 - a missing or unreadable cache only costs a rebuild
            pass
    parser = Lark(grammar, **_OPTIONS)
    if path is not None:
        _save(parser, path)
    return parser


def _cache_dir() -> Path | None:
    """The user's cache directory (``platformdirs``: ``$XDG_CACHE_HOME/dhispatch``, else
    ``~/.cache/dhispatch`` on Linux; ``%LOCALAPPDATA%\\dhispatch\\Cache`` on Windows)."""
    from platformdirs import user_cache_path

    folder = user_cache_path("dhispatch", appauthor=False)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def _save(parser: Lark, path: Path) -> None:
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
            parser.save(f)
        os.replace(f.name, path)  # readers see the old file or the whole new one
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(f.name)


def parse_spec(text: str, path: str) -> ast.Spec:
    """Parse a spec; raise SpecSyntaxError carrying every syntax diagnostic found."""
    parser = get_parser()
    try:
        tree = parser.parse(text)
    except UnexpectedInput:
        raise SpecSyntaxError(syntax_diagnostics(text, path)) from None
    spec = ToAst(path).transform(tree)
    assert isinstance(spec, ast.Spec)
    return spec


def syntax_diagnostics(text: str, path: str) -> list[Diagnostic]:
    """All syntax errors of a text, resuming at later top-level statements after each."""
    parser = get_parser()
    lines = text.split("\n")  # Lark counts lines by \n only
    found: list[Diagnostic] = []
    start = 0  # 0-based index of the first line of the chunk being parsed
    while len(found) < MAX_SYNTAX_ERRORS:
        chunk = "\n".join("" if i < start else line for i, line in enumerate(lines))
        try:
            parser.parse(chunk)
            break
        except UnexpectedInput as exc:
            diag = diagnose(exc, chunk, path)
            found.append(diag)
            resume = _resume_line(lines, diag.span, start)
            if resume is None:
                break
            start = resume
    return found


def _resume_line(lines: list[str], span: Span, start: int) -> int | None:
    for i in range(max(start + 1, span.line - 1), len(lines)):
        line_no = i + 1
        found = _RESUME.match(lines[i])
        if found and found.group(1) not in BLOCK_OF and (line_no > span.line or span.column == 1):
            return i
    return None


def diagnose(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    """One Diagnostic for a Lark error: labelled, positioned, with a hint where we can give one."""
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(exc, text, path)
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    expected = _expected(exc)
    if token.type == "$END":
        return _unexpected_end(text, path, expected)
    span = Span(
        path,
        token.line or 1,
        token.column or 1,
        token.end_line or token.line or 1,
        token.end_column or (token.column or 1) + max(len(token), 1),
    )
    label = exc.match_examples(get_parser().parse, with_variants(SYNTAX_ERRORS), use_accepts=True)
    return _labelled(label or _label_from_expected(expected), exc, span, expected)


def _label_from_expected(expected: list[str]) -> str | None:
    """The block an error is in, from what the parser would accept there.

    LALR reports an error before reducing the previous setting, so the failing state depends on
    which setting came before; the accepted keywords say which block we are in regardless.
    """
    keywords = set(_keywords(expected))
    if "data_set" in keywords:
        return "dhis2"
    if "org_unit" in keywords and "database" in keywords:
        return "source"
    if "basis" in keywords:
        return "push"
    if "item_ref" in keywords:
        return "setup"
    if "push" in keywords and "dhis2" in keywords:
        return "statement"
    return None


def _expected(exc: UnexpectedToken) -> list[str]:
    names: dict[str, str] = {}
    for terminal in get_parser().terminals:
        if terminal.pattern.type == "str":
            names[terminal.name] = f"'{terminal.pattern.value}'"
    shown = {_FRIENDLY.get(t) or names.get(t) or t for t in exc.accepts or exc.expected}
    return sorted(shown)


def _show(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "STRING":
        return f"string {token}"
    if token.type == "NUMBER":
        return f"number {token}"
    return f"'{token}'"


def _keywords(expected: list[str]) -> list[str]:
    return [e.strip("'") for e in expected if e.startswith("'")]


def _suggest(word: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _one_of(expected: list[str]) -> str:
    return "expected " + (expected[0] if len(expected) == 1 else "one of: " + ", ".join(expected))


def _previous_token(exc: UnexpectedToken) -> str | None:
    state: Any = exc.state
    for value in reversed(getattr(state, "value_stack", None) or []):
        if isinstance(value, Token):
            return str(value)
        return None
    return None


def _labelled(
    label: str | None, exc: UnexpectedToken, span: Span, expected: list[str]
) -> Diagnostic:
    token = exc.token
    shown = _show(token)
    word = str(token)
    if "a quoted string" in expected and token.type in ("NAME", "NUMBER") and label != "statement":
        previous = _previous_token(exc)
        after = f" after '{previous}'" if previous else ""
        return Diagnostic(
            "E108",
            f"expected a quoted string{after}, found {shown}",
            span,
            hint=f'write it in double quotes: "{word}"',
        )
    if label in _BLOCKS and token.type in ("STRING", "NUMBER"):
        code, _ = LABELS[label]
        message = f"unexpected {shown} in the {label} block"
        return Diagnostic(code, message, span, hint=_one_of(expected))
    if label in _BLOCKS:
        code, _ = LABELS[label]
        hint = _suggest(word, _keywords(expected))
        home = BLOCK_OF.get(word)
        if hint is None and home is not None and home != label:
            hint = f"'{word}' is a setting of the {home} block"
        if hint is None and word in STATEMENT_KEYWORDS:
            hint = f"'{word}' starts a statement: is a '}}' missing before it?"
        message = f"unknown setting {shown} in the {label} block"
        return Diagnostic(code, message, span, hint=hint or _one_of(expected))
    if label == "statement":
        hint = _suggest(word, list(STATEMENT_KEYWORDS))
        if hint is None and word in BLOCK_OF:
            hint = f"'{word}' belongs inside a {BLOCK_OF[word]} {{ … }} block"
        message = (
            f"unexpected {shown}; expected a statement: spec, dhis2, target, source, setup, push"
            " or alerts"
        )
        return Diagnostic("E106", message, span, hint=hint)
    previous = _previous_token(exc)
    after = f" after '{previous}'" if previous else ""
    if label == "value":
        return Diagnostic("E107", f"{_one_of(expected)}{after}, found {shown}", span)
    if label in ("name", "call", "filter", "org_unit", "brace"):
        code, what = LABELS[label]
        return Diagnostic(code, f"{what}: {_one_of(expected)}{after}, found {shown}", span)
    return Diagnostic("E100", f"unexpected {shown}{after}; {_one_of(expected)}", span)


def _unexpected_end(text: str, path: str, expected: list[str]) -> Diagnostic:
    if "'}'" in expected:
        brace = unclosed_brace(text, path)
        if brace is not None:
            return Diagnostic(
                "E101",
                "this block is never closed: the file ends before its '}'",
                brace,
                hint="add '}' at the end of the block",
            )
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    column = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return Diagnostic(
        "E101", f"unexpected end of file; {_one_of(expected)}", Span.point(path, line, column)
    )


def _bad_character(exc: UnexpectedCharacters, text: str, path: str) -> Diagnostic:
    char = exc.char
    span = Span.point(path, exc.line, exc.column)
    if char == '"':
        rest = text.split("\n")[exc.line - 1][exc.column - 1 :]
        span = Span(path, exc.line, exc.column, exc.line, exc.column + len(rest.rstrip()))
        return Diagnostic(
            "E109",
            "unterminated string",
            span,
            hint='a string ends with " on the same line; only \\" and \\\\ escapes are allowed',
        )
    return Diagnostic("E109", f"unexpected character {char!r}", span)
