"""The parser: strict grammar, the labelled syntax-error table, spans, and Diagnostics only."""

from __future__ import annotations

import pytest
from lark.exceptions import UnexpectedInput

from dhispatch.dsl import SpecSyntaxError
from dhispatch.dsl import ast
from dhispatch.dsl import parse_spec
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Span
from dhispatch.dsl.diagnostics import render
from dhispatch.dsl.parser import get_parser
from dhispatch.dsl.syntax_errors import SYNTAX_ERRORS
from dhispatch.dsl.syntax_errors import variants
from dhispatch.dsl.syntax_errors import with_variants


def test_grammar_has_no_conflicts_or_collisions_in_strict_mode() -> None:
    assert get_parser(strict=True).options.strict


CASES = [
    (label, variant)
    for label, snippets in SYNTAX_ERRORS.items()
    for snippet in snippets
    for variant in variants(snippet)
]


@pytest.mark.parametrize(("label", "snippet"), CASES, ids=[f"{lb}:{s!r}" for lb, s in CASES])
def test_every_syntax_error_example_gets_its_own_label(label: str, snippet: str) -> None:
    parser = get_parser()
    with pytest.raises(UnexpectedInput) as caught:
        parser.parse(snippet)
    table = with_variants(SYNTAX_ERRORS)
    assert caught.value.match_examples(parser.parse, table, use_accepts=True) == label


def _diags(text: str) -> tuple[Diagnostic, ...]:
    with pytest.raises(SpecSyntaxError) as caught:
        parse_spec(text, "t.push")
    return caught.value.diagnostics


def test_unknown_setting_points_at_it_and_suggests() -> None:
    (diag,) = _diags('dhis2 {\n    url "https://a"\n    dataset "QX4ZTUbOt3a"\n}\n')
    assert (diag.code, diag.span) == ("E102", Span("t.push", 3, 5, 3, 12))
    assert diag.hint == "did you mean 'data_set'?"


def test_several_syntax_errors_are_reported_together() -> None:
    text = 'dhis2 { urll "x" }\nsourc omsupply {}\npush x { intervall monthly }\n'
    assert [(d.code, d.span.line, d.span.column) for d in _diags(text)] == [
        ("E102", 1, 9),
        ("E106", 2, 1),
        ("E105", 3, 10),
    ]


def test_unclosed_block_points_at_its_brace() -> None:
    (diag,) = _diags("push x {\n    interval monthly\n")
    assert (diag.code, diag.span.line, diag.span.column) == ("E101", 1, 8)


def test_spans_follow_lark_conventions() -> None:
    spec = parse_spec("push stock_on_hand { within 30 days }\n", "t.push")
    (push,) = spec.statements
    assert isinstance(push, ast.Push)
    assert push.indicator.span == Span("t.push", 1, 6, 1, 19)
    (within,) = push.settings
    assert within.name_span == Span("t.push", 1, 22, 1, 28)
    assert isinstance(within.value, ast.Num) and within.value.value == 30


def test_strings_unescape_and_comments_are_ignored() -> None:
    spec = parse_spec('spec "a \\"b\\" \\\\c"  # name\n', "t.push")
    (name,) = spec.statements
    assert isinstance(name, ast.SpecName) and name.name.value == 'a "b" \\c'


def test_render_masks_literal_secrets() -> None:
    source = 'auth token("hunter2-canary")\n'
    diag = Diagnostic("E305", "secret", Span("t.push", 1, 12, 1, 28), mask=True)
    text = render(diag, source)
    assert "canary" not in text
    assert "token(****************)" in text
