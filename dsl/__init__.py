"""The spec language: grammar, parser and the frozen AST with source spans."""

from __future__ import annotations

from dhispatch.dsl.errors import SpecError
from dhispatch.dsl.errors import SpecSemanticError
from dhispatch.dsl.errors import SpecSyntaxError
from dhispatch.dsl.parser import parse_spec

__all__ = ["SpecError", "SpecSemanticError", "SpecSyntaxError", "parse_spec"]
