"""A string-aware character scan of spec text: comments, and braces outside strings."""

from __future__ import annotations

from dataclasses import dataclass

from dhispatch.dsl.diagnostics import Span


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``#`` comment; ``own_line`` when nothing but blanks precede it on its line."""

    text: str
    line: int
    column: int
    own_line: bool


def _code_and_comment(line: str) -> tuple[str, int | None]:
    """The code part of one line and the 0-based column of its comment (strings are one-line)."""
    in_string = False
    i = 0
    while i < len(line):
        char = line[i]
        if in_string:
            if char == "\\":
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "#":
            return line[:i], i
        i += 1
    return line, None


def comments(text: str) -> list[Comment]:
    """Every comment of the text, in order."""
    found: list[Comment] = []
    for number, line in enumerate(text.split("\n"), start=1):
        code, at = _code_and_comment(line)
        if at is not None:
            found.append(Comment(line[at:].rstrip(), number, at + 1, not code.strip()))
    return found


def unclosed_brace(text: str, path: str) -> Span | None:
    """The span of the first ``{`` never closed, ignoring braces inside strings and comments."""
    stack: list[tuple[int, int]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        code, _ = _code_and_comment(line)
        in_string = False
        for col, char in enumerate(code, start=1):
            if char == '"' and (col == 1 or code[col - 2] != "\\"):
                in_string = not in_string
            elif not in_string and char == "{":
                stack.append((number, col))
            elif not in_string and char == "}" and stack:
                stack.pop()
    if not stack:
        return None
    first_line, first_col = stack[0]
    return Span.point(path, first_line, first_col)
