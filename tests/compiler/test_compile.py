"""compile_source: the contract other stages code against, and the semantics of the plan."""

from __future__ import annotations

import json
from pathlib import Path

from dhispatch.compiler import CompileResult
from dhispatch.compiler import compile_source
from dhispatch.compiler import plan_to_json
from dhispatch.runtime.demo import identifiers as demo_country
from dhispatch.runtime.plan import INDICATORS
from dhispatch.runtime.plan import validate_plan
from dhispatch.runtime.plan.loader import plan_schema

ROOT = Path(__file__).parent.parent.parent

HEAD = """dhis2 {
    url           "https://dhis2.example.org"
    auth          basic(user: "admin", password: env("DHIS2_PASSWORD"))
    data_set      "QX4ZTUbOt3a"
    period_type   Monthly
}
source omsupply {
    database "data/x.sqlite"
    org_unit mapping "ou.csv"
}
"""


def _compile(text: str) -> CompileResult:
    return compile_source(text, "t.push")


def _plan(text: str) -> dict:  # type: ignore[type-arg]
    result = _compile(text)
    assert result.plan is not None, result.diagnostics
    validate_plan(result.plan)
    return result.plan


def _spec(name: str) -> dict:  # type: ignore[type-arg]
    path = f"specs/{name}.push"
    result = compile_source((ROOT / path).read_text(encoding="utf-8"), path)
    assert result.plan is not None
    return result.plan


def test_example_specs_match_the_demo_country() -> None:
    kiribati, tonga, vanuatu = _spec("kiribati"), _spec("tonga"), _spec("vanuatu")
    assert kiribati["target"]["data_set"] == demo_country.KIRIBATI_DATA_SET
    assert {s["indicator"]: s["category_option_combo"] for s in kiribati["steps"]} == (
        demo_country.KIRIBATI_COCS
    )
    assert kiribati["target"]["id_schemes"] == {
        "data_element": "CODE",
        "org_unit": "CODE",
        "category_option_combo": "UID",
    }
    assert tonga["target"]["data_set"] == demo_country.TONGA_DATA_SET
    assert [s["data_element"]["field"] for s in tonga["steps"]] == ["user_field_1", "user_field_2"]
    assert tonga["steps"][1]["params"] == {"within_days": 90}
    assert vanuatu["target"]["data_set"] == demo_country.VANUATU_DATA_SET
    assert vanuatu["target"]["period_type"] == "Daily"
    assert vanuatu["steps"][1]["data_element"] == {
        "kind": "template",
        "template": "VAL_{{ item.code }}",
    }


def test_plan_bytes_are_deterministic_and_carry_no_absolute_path() -> None:
    text = (ROOT / "specs/kiribati.push").read_text(encoding="utf-8")
    first = plan_to_json(compile_source(text, "specs/kiribati.push").plan or {})
    second = plan_to_json(compile_source(text, "specs/kiribati.push").plan or {})
    assert first == second
    assert str(ROOT) not in first
    assert json.loads(first)["metadata"]["spec_path"] == "specs/kiribati.push"


def test_every_indicator_is_known_with_its_parameters() -> None:
    assert len(INDICATORS) == 13
    enum = plan_schema()["$defs"]["step"]["properties"]["indicator"]["enum"]
    assert sorted(enum) == sorted(INDICATORS)
    pushes = "\n".join(
        f'push {name} {{ category_option "h9mSLj2ZY{i:02d}" interval monthly basis current_day }}'
        for i, name in enumerate(INDICATORS)
    )
    plan = _plan(HEAD + "setup category_option_combo { item_ref code }\n" + pushes)
    assert [s["indicator"] for s in plan["steps"]] == list(INDICATORS)


def test_parameters_setup_modes_and_switches() -> None:
    text = HEAD.replace(
        "}\nsource", "    disabled\n    id_scheme code\n    round 2\n    on_vanish zero\n}\nsource"
    ) + (
        "setup single_data_element { item_ref custom_field user_field_6 }\n"
        "push months_of_stock { interval weekly on friday basis previous_period soh available"
        " months 6 days_per_month 30.5 adjust_for_stockouts paused }\n"
        'push average_monthly_consumption { data_element "AMC" interval cron "0 6 * * 1"'
        " basis current_day }\n"
    )
    plan = _plan(text)
    assert plan["target"]["enabled"] is False
    assert plan["target"]["rounding"] == 2
    assert plan["vanished"] == "zero"
    assert plan["target"]["auth"]["user"] == {"value": "admin"}
    assert plan["source"]["org_unit"] == {"kind": "mapping_file", "path": "ou.csv"}
    first, second = plan["steps"]
    assert first["params"] == {
        "soh": "available",
        "months": 6,
        "days_per_month": 30.5,
        "adjust_for_stockouts": True,
    }
    assert first["paused"] is True
    assert first["interval"] == {"kind": "weekly", "weekday": "friday"}
    assert first["data_element"] == {"kind": "item_field", "field": "user_field_6"}
    assert second["data_element"] == {"kind": "fixed", "id": "AMC"}
    assert second["interval"] == {"kind": "cron", "expression": "0 6 * * 1"}


def test_one_indicator_pushed_twice_gets_a_suffixed_step_id() -> None:
    text = HEAD + (
        "setup category_option_combo { item_ref universal_code }\n"
        'push stock_on_hand { category_option "h9mSLj2ZYcK" interval monthly basis current_day }\n'
        'push stock_on_hand { category_option "Hbi7XjOkvRn" interval daily basis current_day }\n'
    )
    assert [s["id"] for s in _plan(text)["steps"]] == ["stock_on_hand", "stock_on_hand_2"]


def test_warnings_do_not_block_the_plan_and_loopback_http_is_fine() -> None:
    text = HEAD.replace("https://dhis2.example.org", "http://127.0.0.1:8080") + (
        "setup data_element_per_item\n"
        "push received { custom_field user_field_3 interval monthly on day 31 basis current_day }\n"
    )
    result = _compile(text)
    assert [d.code for d in result.diagnostics] == ["W512"]
    assert result.plan is not None and result.plan["target"]["insecure"] is False


def test_insecure_allows_plain_http_to_a_remote_host() -> None:
    text = HEAD.replace("https://", "http://").replace("}\nsource", "    insecure\n}\nsource") + (
        "setup data_element_per_item\n"
        "push received { custom_field user_field_3 interval daily basis current_day }\n"
    )
    assert _plan(text)["target"]["insecure"] is True


def test_a_file_with_several_mistakes_reports_all_and_no_plan() -> None:
    text = HEAD.replace('"QX4ZTUbOt3a"', '"bad"') + (
        "setup category_option_combo\n"
        'push stock_on_hnd { interval monthly basis current_day data_element "{{ item.typo }}" }\n'
    )
    result = _compile(text)
    assert result.plan is None
    assert [d.code for d in result.diagnostics] == ["E306", "E502", "E504", "E508", "E507", "E603"]


def test_secrets_never_appear_in_diagnostics() -> None:
    text = HEAD.replace('env("DHIS2_PASSWORD")', '"canary-secret-123"')
    result = _compile(text)
    assert result.plan is None
    assert "canary" not in json.dumps([d.to_json() for d in result.diagnostics])
