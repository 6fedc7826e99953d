"""One Diagnostic type for every stage's findings, and the one place that renders it.

Spans follow Lark's conventions: 1-based ``line``/``column``, ``end_column`` exclusive, so a
token's position copies over without off-by-one conversions. Rendering is a pure function of
(diagnostic, source text); colour is added only at the terminal edge, never baked into messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Span:
    """A region of one source file: 1-based line and column, end column exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, path: str, line: int, column: int, width: int = 1) -> Span:
        return cls(path, line, column, line, column + max(width, 1))

    @classmethod
    def parse_origin(cls, origin: str) -> Span:
        """Read a plan ``origin`` (``specs/x.push:12:3``) back into a one-character span."""
        path, line, column = origin.rsplit(":", 2)
        return cls.point(path, int(line), int(column))

    @property
    def origin(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding about a spec (or a plan pointing back at one): data, not a formatted string."""

    code: str
    message: str
    span: Span
    severity: Severity = "error"
    hint: str | None = None
    # A literal secret under the span: the renderer stars it out of the quoted source line.
    mask: bool = False

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.path, self.span.line, self.span.column, self.code)

    def to_json(self) -> dict[str, Any]:
        """The machine form printed by ``check --format json``."""
        span = asdict(self.span)
        return {
            "path": span["path"],
            "line": span["line"],
            "column": span["column"],
            "end_line": span["end_line"],
            "end_column": span["end_column"],
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


def render(diagnostic: Diagnostic, source: str | None) -> str:
    """``path:line:col: error[E###]: message``, the source line, a caret underline, the hint."""
    span = diagnostic.span
    head = f"{span.path}:{span.line}:{span.column}: {diagnostic.severity}[{diagnostic.code}]: "
    lines = [head + diagnostic.message]
    # Lines as the parser counts them: only \n ends a line (not \f, \v or U+2028).
    source_lines = source.split("\n") if source is not None else []
    if 1 <= span.line <= len(source_lines):
        text = source_lines[span.line - 1].rstrip("\r").expandtabs(1)
        if diagnostic.mask:
            stop = span.end_column if span.end_line == span.line else len(text) + 1
            text = (
                text[: span.column - 1]
                + "*" * len(text[span.column - 1 : stop - 1])
                + text[stop - 1 :]
            )
        gutter = f"{span.line:>4} | "
        lines.append(gutter + text)
        start = max(span.column, 1)
        # A span running past its first line is underlined to the end of that line.
        end = span.end_column if span.end_line == span.line else len(text) + 1
        width = max(end - start, 1)
        lines.append(" " * (len(gutter) - 2) + "| " + " " * (start - 1) + "^" + "~" * (width - 1))
    if diagnostic.hint:
        lines.append(f"  hint: {diagnostic.hint}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str]) -> str:
    """Render several diagnostics (sorted by position), each against its own file's text."""
    ordered = sorted(diagnostics, key=Diagnostic.sort_key)
    return "\n".join(render(d, sources.get(d.span.path)) for d in ordered)


def has_errors(diagnostics: Sequence[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)
