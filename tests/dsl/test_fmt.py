"""``fmt``: canonical, idempotent, keeps every comment and never changes what the spec says."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import given

from dhispatch.dsl import parse_spec
from dhispatch.dsl.fmt import format_source
from dhispatch.dsl.scan import comments
from tests.dsl.strategies import spec_texts

ROOT = Path(__file__).parent.parent.parent


def shape(node: Any) -> Any:
    """A node with every span (and the path) dropped, for comparing meaning."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            (f.name, shape(getattr(node, f.name)))
            for f in dataclasses.fields(node)
            if f.name not in ("span", "name_span", "path")
        )
    if isinstance(node, tuple):
        return tuple(shape(x) for x in node)
    return node


@given(spec_texts())
def test_fmt_is_idempotent_and_keeps_meaning_and_comments(text: str) -> None:
    once = format_source(text, "a.push")
    assert format_source(once, "a.push") == once
    assert shape(parse_spec(once, "a.push")) == shape(parse_spec(text, "a.push"))
    assert _fragments(once) == _fragments(text)


def _fragments(text: str) -> list[str]:
    # Two trailing comments of constructs that fmt joins onto one line become one comment line.
    return sorted(f.strip() for c in comments(text) for f in c.text.split("#") if f.strip())


def test_example_specs_are_in_canonical_form() -> None:
    for spec in sorted((ROOT / "specs").glob("*.push")):
        text = spec.read_text(encoding="utf-8")
        assert format_source(text, str(spec)) == text, spec.name


def test_fmt_lays_out_blocks_and_keeps_comments_where_they_were() -> None:
    text = (
        '# head\nspec "x"\ndhis2 { url "https://a.example.org"  # main\n'
        ' data_set "QX4ZTUbOt3a" round }\n'
        "push stock_on_hand {interval monthly\n basis current_day}\n"
        "push received { interval daily basis current_day }  # daily\n# end\n"
    )
    assert format_source(text, "a.push") == (
        "# head\n"
        'spec "x"\n'
        "\n"
        "dhis2 {\n"
        '    url      "https://a.example.org"  # main\n'
        '    data_set "QX4ZTUbOt3a"\n'
        "    round\n"
        "}\n"
        "\n"
        "push stock_on_hand { interval monthly basis current_day }\n"
        "push received { interval daily basis current_day }  # daily\n"
        "\n"
        "# end\n"
    )


def test_target_blocks_are_laid_out_like_the_dhis2_block_and_keep_their_meaning() -> None:
    text = (ROOT / "tests" / "golden" / "ok" / "targets.push").read_text(encoding="utf-8")
    once = format_source(text, "t.push")
    assert format_source(once, "t.push") == once
    assert shape(parse_spec(once, "t.push")) == shape(parse_spec(text, "t.push"))
    assert 'target "staging" {\n    url       "https://staging.hmis.example.org"\n' in once
    assert _fragments(once) == _fragments(text)
