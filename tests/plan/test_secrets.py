"""A plan JSON holding a secret is refused by JSON path, and no plan error ever quotes one."""

from __future__ import annotations

from typing import Any

import pytest

from dhispatch.compiler import compile_source
from dhispatch.runtime.plan import PlanError
from dhispatch.runtime.plan import parse_plan
from dhispatch.runtime.plan import plan_problems
from dhispatch.runtime.plan.secrets import literal_database_password
from tests.plans import plan_document

CANARY = "ssCanary99@x'y\\z"
BASIC = {"kind": "basic", "user": {"value": "admin"}}
OAUTH = {"kind": "oauth2", "client": {"value": "c"}, "user": {"value": "u"},
         "password": {"env": "PW"}}  # fmt: skip

LITERAL_SECRETS: list[dict[str, Any]] = [
    {"target": {"auth": {**BASIC, "password": {"value": CANARY}}}},
    {"target": {"auth": {**BASIC, "password": CANARY}}},
    {"target": {"auth": {**BASIC, "password": {"env": "PW", "value": CANARY}}}},
    {"target": {"auth": {"kind": "token", "token": {"value": CANARY}}}},
    {"target": {"auth": {**OAUTH, "secret": [CANARY]}}},
    {"target": {"auth": {**BASIC, "password": {"env": "PW"}, "passwd": CANARY}}},
    {"source": {"database": {"value": f"postgresql://omsupply:{CANARY}@db/omsupply"}}},
    {"source": {"database": {"value": f"host=db dbname=om password='{CANARY}'"}}},
]


@pytest.mark.parametrize("partial", LITERAL_SECRETS, ids=range(len(LITERAL_SECRETS)))
def test_a_literal_secret_is_refused_without_printing_it(partial: dict[str, Any]) -> None:
    doc = plan_document(partial)
    with pytest.raises(PlanError) as refused:
        parse_plan(doc)
    text = str(refused.value)
    lines = plan_problems(doc)
    assert text.startswith("invalid plan: $.") and lines
    for shown in (text, repr(refused.value.args), *lines):
        assert "ssCanary99" not in shown and "Canary" not in shown


def test_environment_references_are_fine() -> None:
    parse_plan(plan_document({"target": {"auth": {**BASIC, "password": {"env": "PW"}}}}))


@pytest.mark.parametrize(
    ("database", "literal"),
    [
        ("postgresql://u:p%40ss@h/db", True),
        ("postgresql://u@h/db", False),
        ("postgresql://h/db?sslmode=require&password=x", True),
        ("host=h password=x", True),
        ("host=h dbname=x", False),
        ("omsupply.sqlite", False),
        ("dir with password=in the name.sqlite", True),  # never mind: refused, never printed
    ],
)
def test_literal_database_password(database: str, literal: bool) -> None:
    assert literal_database_password(database) is literal


def test_the_compiler_refuses_a_keyword_dsn_with_a_password() -> None:
    text = (
        'spec "x"\ndhis2 { url "https://d.example.org" auth token(env("T")) '
        'data_set "QX4ZTUbOt3a" period_format "YYYYMM" }\n'
        f'source omsupply {{ database "host=db password={CANARY[:10]}" org_unit store.code }}\n'
        "setup category_option_combo { item_ref universal_code }\n"
        'push stock_on_hand { category_option "h9mSLj2ZYcK" interval monthly basis '
        "previous_month }\n"
    )
    result = compile_source(text, "x.push")
    assert [d.code for d in result.diagnostics] == ["E305"] and result.plan is None
