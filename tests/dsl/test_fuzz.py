"""Fuzz the front door: any text, and mutations of real specs, only ever give Diagnostics."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dhispatch.compiler import compile_source
from dhispatch.dsl import SpecError
from dhispatch.dsl import parse_spec
from dhispatch.dsl.fmt import format_source
from tests.dsl.strategies import spec_texts

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "specs").glob("*.push"))]
ALPHABET = st.sampled_from(
    list('{}()":,.#\n \\"abcdefghijklmnopqrstuvwxyz_0123456789')
    + ["é", "\t", "\x00", "\r", "\x0c", "\u2028"]
)
FRAGMENTS = st.sampled_from(
    ["push", "dhis2", "{", "}", '"', "(", ")", "env(", "\n", "interval", "on day 31", "round 9",
     "{{ item.typo }}", "cron", "where", "is set", "custom_field", "store.", "#", ":", ","]
)  # fmt: skip


def _front(text: str) -> None:
    try:
        parse_spec(text, "f.push")
    except SpecError as exc:
        assert exc.diagnostics
    result = compile_source(text, "f.push")
    assert (result.plan is None) == any(d.severity == "error" for d in result.diagnostics)
    assert "E900" not in {d.code for d in result.diagnostics}, result.diagnostics  # compiler bug
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1 and d.code


@given(st.text(ALPHABET, max_size=200))
def test_arbitrary_text_only_gives_diagnostics(text: str) -> None:
    _front(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.integers(0, 2))
        if action == 0:
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif action == 1:
            text = text[:at] + draw(FRAGMENTS) + text[at:]
        else:
            text = text[:at] + draw(ALPHABET) + text[at + 1 :]
    return text


@given(mutated())
def test_mutated_specs_only_give_diagnostics(text: str) -> None:
    _front(text)


@given(spec_texts())
def test_generated_specs_compile_or_explain(text: str) -> None:
    _front(text)
    format_source(text, "g.push")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(
    st.text(max_size=40).filter(lambda s: "\n" not in s),
    st.sampled_from(["url", "data_set", "timezone", "period_format", "category_option"]),
)
def test_any_string_value_is_checked_before_the_schema_sees_it(value: str, setting: str) -> None:
    # Whatever string a setting holds, the checks refuse it or the plan is schema-valid (no E900).
    text = EXAMPLES[0]
    start = text.index(f"{setting} ")
    first = text.index('"', start)
    end = text.index('"', first + 1)
    _front(text[:first] + _quote(value) + text[end + 1 :])
