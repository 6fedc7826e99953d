"""Generated valid specs of every shape compile to schema-valid plans, unchanged by ``fmt``."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dhispatch.compiler import compile_source
from dhispatch.dsl.fmt import format_source
from dhispatch.runtime.plan import INDICATORS
from dhispatch.runtime.plan import validate_plan
from dhispatch.runtime.plan.catalogue import MODES
from dhispatch.runtime.plan.catalogue import TEXT_FIELDS

PERIODS = [("period_type Monthly", "Monthly"), ('period_format "YYYYMM"', "Monthly"),
           ('period_format "YYYYMMDD"', "Daily"), ("period_type Quarterly", "Quarterly"),
           ("period_format \"YYYY'W'w\"", "Weekly")]  # fmt: skip
AUTHS = [
    'basic(user: "admin", password: env("P"))',
    'token(env("PAT"))',
    'oauth2(client: env("C"), secret: env("S"), user: "u", password: env("P"))',
]
INTERVALS = ["daily", "weekly", "weekly on sunday", "monthly", "monthly on day 28",
             "first_day_of_month", "last_day_of_month", 'cron "30 2 * * *"']  # fmt: skip
PARAMS = {
    "soh": st.sampled_from(["soh total", "soh available"]),
    "within_days": st.integers(1, 3660).map(lambda n: f"within {n} days"),
    "months": st.integers(1, 60).map(lambda n: f"months {n}"),
    "days_per_month": st.sampled_from(["days_per_month 30", "days_per_month 30.4375"]),
    "adjust_for_stockouts": st.just("adjust_for_stockouts"),
}


@st.composite
def valid_specs(draw: st.DrawFn) -> str:
    mode = draw(st.sampled_from(MODES))
    period, period_type = draw(st.sampled_from(PERIODS))
    scheme = draw(st.sampled_from(["code", "uid"]))
    target = [
        f'url "{draw(st.sampled_from(["https://d.example.org", "http://localhost:8080"]))}"',
        f"auth {draw(st.sampled_from(AUTHS))}",
        'data_set "QX4ZTUbOt3a"',
        f"id_scheme {scheme}",
        period,
        *draw(st.lists(st.sampled_from(["round", "round 3", 'timezone "Asia/Tokyo"', "disabled",
                                         "on_vanish delete", "org_unit_id_scheme code"]),
                       unique_by=lambda s: s.split()[0], max_size=3)),
    ]  # fmt: skip
    databases = ['env("DB")', '"x.sqlite"', '"postgresql://h/db"']
    org_units = ["store.code", "name.code", 'mapping "m.csv"']
    source = [
        "database " + draw(st.sampled_from(databases)),
        "org_unit " + draw(st.sampled_from(org_units)),
    ]
    if draw(st.booleans()):
        source.append("items where universal_code is set and where custom(user_field_7)")
    item_ref = "" if mode == "data_element_per_item" else " { item_ref custom_field user_field_3 }"
    lines = [
        "dhis2 { " + " ".join(draw(st.permutations(target))) + " }",
        "source omsupply { " + " ".join(source) + " }",
        f"setup {mode}{item_ref}",
    ]
    bases = ["previous_period", "current_day"] + (
        ["previous_month"] if period_type == "Monthly" else []
    )
    for i in range(draw(st.integers(1, len(TEXT_FIELDS)))):
        indicator = draw(st.sampled_from(list(INDICATORS)))
        settings = [f"interval {draw(st.sampled_from(INTERVALS))}",
                    f"basis {draw(st.sampled_from(bases))}"]  # fmt: skip
        if mode == "category_option_combo":
            settings.append(f'category_option "coc{i:08d}"')
        elif mode == "data_element_per_item":
            settings.append(f"custom_field {TEXT_FIELDS[i]}")
        elif i > 0:
            element = f"de{i:09d}" if scheme == "uid" else f"DE_{i}"
            settings.append(
                f'data_element "{draw(st.sampled_from([element, element + "{{ item.code }}"]))}"'
            )
        for param in INDICATORS[indicator].params:
            if draw(st.booleans()):
                settings.append(draw(PARAMS[param]))
        if draw(st.booleans()):
            settings.append("paused")
        lines.append(f"push {indicator} {{ " + " ".join(draw(st.permutations(settings))) + " }")
    return "\n".join(lines) + "\n"


def _meaning(plan: dict[str, Any]) -> Any:
    """The plan without positions (origins) and without the digest of the text."""
    if isinstance(plan, dict):
        return {
            k: _meaning(v) for k, v in plan.items() if k not in ("origin", "origins", "metadata")
        }
    if isinstance(plan, list):
        return [_meaning(v) for v in plan]
    return plan


@given(valid_specs())
def test_valid_specs_compile_to_valid_plans_that_fmt_does_not_change(text: str) -> None:
    result = compile_source(text, "v.push")
    assert result.plan is not None, [d.message for d in result.diagnostics]
    validate_plan(result.plan)
    assert len(result.plan["steps"]) == text.count("\npush ")
    formatted = compile_source(format_source(text, "v.push"), "v.push")
    assert formatted.plan is not None
    assert _meaning(formatted.plan) == _meaning(result.plan)
