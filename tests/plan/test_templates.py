"""Data-element templates whose cost has no bound are refused by the loader and never rendered;
every template the bound accepts renders within it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime.cells import ValueBuildError
from dhispatch.runtime.cells import render_template
from dhispatch.runtime.plan import PlanError
from dhispatch.runtime.plan import parse_plan
from dhispatch.runtime.plan.templates import MAX_FIXED
from dhispatch.runtime.plan.templates import MAX_GROWTH
from dhispatch.runtime.plan.templates import template_problems
from tests.plans import plan_document

UNBOUNDED = [
    "{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}",
    "{{ item.code * 999999999 }}",
    "{{ item.code.ljust(999999999) }}",
    "{{ item.code|center(999999999) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ lipsum(99999) }}",
    "{{ item.code|replace('', '-') }}",
    "{{ item.code" + "|replace('A', 'AAAA')" * 3 + " }}",
    "{% set x = item.code %}{{ x }}",
    "{{ " + "(" * 200 + "1" + ")" * 200 + " }}",
    "VAL_" * 300,
]


@dataclass(frozen=True)
class Item:
    code: str
    name: str = "name"
    universal_code: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


def _plan_with(template: str) -> dict[str, object]:
    return plan_document({"steps": [{"data_element": {"kind": "template", "template": template}}]})


@pytest.mark.parametrize("template", UNBOUNDED, ids=range(len(UNBOUNDED)))
def test_a_plan_json_with_an_unbounded_template_is_refused(template: str) -> None:
    started = time.monotonic()
    with pytest.raises(PlanError, match=r"\$\.steps\[0\]\.data_element\.template: "):
        parse_plan(_plan_with(template))
    assert time.monotonic() - started < 2


def test_a_template_beyond_the_bound_is_never_rendered() -> None:
    # small enough not to hurt if it did render: it must be refused all the same
    with pytest.raises(ValueBuildError, match="multiplication"):
        render_template("{{ item.code * 1000 }}", Item("I1"), "stock_on_hand")
    with pytest.raises(ValueBuildError, match="calls"):
        render_template("{{ item.code.ljust(1000) }}", Item("I1"), "stock_on_hand")


def test_templates_of_real_specs_pass() -> None:
    ok = "{% if indicator == 'stock_on_hand' %}SOH{% else %}{{ indicator|upper }}{% endif %}"
    plan = parse_plan(_plan_with(ok + "_{{ item.code|replace('-', '_')|truncate(20) }}"))
    assert plan.steps[0].data_element.template is not None


PIECES = st.sampled_from(
    [
        "{{ item.code }}", "{{ item.name|upper }}", "{{ indicator }}", "_",
        "{{ item.code|replace('A', 'AA') }}", "{{ item.user_field_1|default(item.code) }}",
        "{{ item.code ~ item.name }}", "{{ item.name[:3]|lower }}", "{{ item.code|reverse }}",
        "{% if item.code > item.name %}{{ item.name }}{% else %}x{% endif %}",
        "{{ item.code|replace('AB', 'ABABAB') }}", "{{ (item.code, indicator) }}",
        "{{ item.code|title|trim }}", "{{ item.name|truncate(9) }}", "{{ item }}",
    ]
)  # fmt: skip
FIELD = st.text(alphabet="ABß-_ ", max_size=40)


@given(st.lists(PIECES, min_size=1, max_size=12), FIELD, FIELD, FIELD)
def test_an_accepted_template_renders_within_its_bound(
    pieces: list[str], code: str, name: str, field_1: str
) -> None:
    template = "".join(pieces)
    assume(not template_problems(template))  # refused ones are never rendered (tests above)
    item = Item(code or "C", name, None, {"user_field_1": field_1})
    out = render_template(template, item, "stock_on_hand") or ""
    longest = max(len(code or "C"), len(name), len(field_1), len("stock_on_hand"))
    assert len(out) <= MAX_GROWTH * longest + MAX_FIXED
