"""The documented error types of the spec front end; nothing else escapes ``parse_spec``.

SpecError                 a spec that cannot be compiled; ``.diagnostics`` says why
├── SpecSyntaxError       the text does not follow the grammar
└── SpecSemanticError     it parses, but the compiler's checks found errors
"""

from __future__ import annotations

from collections.abc import Iterable

from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.errors import DhispatchError


class SpecError(DhispatchError):
    """A spec with errors; the diagnostics are data, render them with ``render_all``."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics, key=Diagnostic.sort_key))
        first = self.diagnostics[0] if self.diagnostics else None
        summary = f"{first.span.origin}: {first.message}" if first else "spec error"
        more = len(self.diagnostics) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))


class SpecSyntaxError(SpecError):
    """The spec text does not follow the grammar."""


class SpecSemanticError(SpecError):
    """The spec parses but breaks a rule the compiler checks."""
