"""Item filters on fields of every type (issue 10, point 6): text, check box and number fields
compile to typed plan filters that select the right items in a real database, and an operator
or a literal the field's type does not take is refused at check, naming the operators it takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dhispatch.compiler import compile_source
from dhispatch.dsl.fmt import format_source
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.plan import validate_plan
from dhispatch.runtime.plan.catalogue import FIELD_TYPES
from dhispatch.runtime.plan.catalogue import OPERATORS
from dhispatch.runtime.sources import open_source
from tests.sources.conftest import MakeDb
from tests.sources.test_situations import fields_ledger

HEAD = """dhis2 {
    url           "https://dhis2.example.org"
    auth          token(env("DHIS2_PAT"))
    data_set      "QX4ZTUbOt3a"
    period_type   Monthly
}
source omsupply {
    database "x.sqlite"
    items    %s
    org_unit store.code
}
setup category_option_combo { item_ref universal_code }
push stock_on_hand { category_option "h9mSLj2ZYcK" interval monthly basis previous_month }
"""


def _compile(items: str) -> Any:
    return compile_source(HEAD % items, "t.push")


def _items(items: str) -> list[dict[str, Any]]:
    result = _compile(items)
    assert result.plan is not None, [d.message for d in result.diagnostics]
    validate_plan(result.plan)
    return list(result.plan["source"]["items"])


def _refusals(items: str) -> list[tuple[str, str, str | None]]:
    result = _compile(items)
    assert result.plan is None
    return [(d.code, d.message, d.hint) for d in result.diagnostics]


def test_each_type_compiles_to_a_typed_filter() -> None:
    assert _items('where user_field_1 = "DE_A" and where user_field_4 = true') == [
        {"kind": "field_compare", "field": "user_field_1", "op": "=", "value": "DE_A"},
        {"kind": "field_compare", "field": "user_field_4", "op": "=", "value": True},
    ]
    assert _items("where user_field_5 > 0 and where user_field_7 != false") == [
        {"kind": "field_compare", "field": "user_field_5", "op": ">", "value": 0.0},
        {"kind": "field_compare", "field": "user_field_7", "op": "!=", "value": False},
    ]
    assert _items('where user_field_6 is set and where code != "X"') == [
        {"kind": "field_set", "field": "user_field_6"},
        {"kind": "field_compare", "field": "code", "op": "!=", "value": "X"},
    ]


@pytest.mark.parametrize(
    ("items", "refusal"),
    [
        ("where user_field_4 is set",
         ("E406", "user_field_4 is a boolean field: 'is set' does not apply to it",
          "a boolean field takes: =, !=")),
        ("where user_field_5 is set",
         ("E406", "user_field_5 is a number field: 'is set' does not apply to it",
          "a number field takes: =, !=, >, >=, <, <=")),
        ('where user_field_1 > "A"',
         ("E406", "user_field_1 is a text field: '>' does not apply to it",
          "a text field takes: is set, =, !=")),
        ("where user_field_7 = 1",
         ("E406", "user_field_7 is a boolean field: '1' is not a boolean value",
          "compare it with true or false")),
        ('where user_field_5 >= "3"',
         ("E406", "user_field_5 is a number field: '3' is not a number value",
          "compare it with a number")),
        ("where user_field_2 = yes",
         ("E406", "user_field_2 is a text field: 'yes' is not a text value",
          'compare it with a quoted string, e.g. "X"')),
        ("where user_field_9 = 1",
         ("E402", "unknown item field 'user_field_9'", "did you mean 'user_field_7'?")),
    ],
)  # fmt: skip
def test_check_refuses_what_the_type_does_not_take(
    items: str, refusal: tuple[str, str, str]
) -> None:
    assert _refusals(items) == [refusal]


def test_every_type_has_operators_and_every_operator_parses() -> None:
    assert set(FIELD_TYPES.values()) == set(OPERATORS)
    for op in OPERATORS["number"]:
        assert _items(f"where user_field_5 {op} 2.5")[0]["op"] == op


def test_fmt_keeps_typed_filters() -> None:
    text = HEAD % 'where user_field_5 >= 2.5 and where user_field_4 = true and where code = "A"'
    formatted = format_source(text, "t.push")
    assert 'where user_field_5 >= 2.5 and where user_field_4 = true and where code = "A"' in (
        formatted
    )
    assert format_source(formatted, "t.push") == formatted


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_compiled_filters_select_the_items_by_type(
    dialect: str, make_db: MakeDb, tmp_path: Path
) -> None:
    """The plan the compiler writes selects, on a real database, the items a hand count gives
    (fields_ledger: a = DE_A, ticked 4 and 7, 2.5; b = blank, unticked, 0; c = blank, '1', '3';
    d = none, 'n/a', 7 ticked as 1)."""
    cases = {
        "where user_field_4 = true": ["a", "c"],
        "where user_field_4 != true": ["b"],
        "where user_field_7 = true": ["a", "d"],
        "where user_field_5 > 0": ["a", "c"],
        "where user_field_5 <= 0": ["b"],
        "where user_field_5 = 3": ["c"],
        'where user_field_1 = "DE_A"': ["a"],
        "where user_field_1 is set and where user_field_5 > 1": ["a"],
    }
    with open_source(make_db(fields_ledger(), dialect)) as source:
        for items, want in cases.items():
            plan = _compile(items).plan
            scope = source.scope(ScopeRules.from_json(plan["source"]))
            assert [i.id for i in scope.items] == want, items
