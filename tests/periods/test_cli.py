"""``dhispatch period``: dates to IDs, --parse IDs to dates, clear errors with exit 1."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from dhispatch.runtime.cli.main import cli


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["period", *args])
    return result.exit_code, result.stdout, result.stderr


def test_dates_to_ids_one_line_each() -> None:
    code, out, err = invoke("Weekly", "2024-12-31", "2021-01-01", "2012-12-30")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "2025W1 2024-12-30 2025-01-05",
        "2020W53 2020-12-28 2021-01-03",
        "2012W52 2012-12-24 2012-12-30",
    ]


@pytest.mark.parametrize(
    ("ptype", "day", "line"),
    [
        ("FinancialNov", "2023-01-01", "2023Nov 2022-11-01 2023-10-31"),
        ("SixMonthlyNov", "2022-01-01", "2022NovS1 2021-11-01 2022-04-30"),
        ("QuarterlyNov", "2022-11-01", "2023NovQ1 2022-11-01 2023-01-31"),
        ("BiWeekly", "2021-01-01", "2020BiW27 2020-12-28 2021-01-10"),
        ("BiMonthly", "2022-03-01", "202202B 2022-03-01 2022-04-30"),
        ("Daily", "2024-02-29", "20240229 2024-02-29 2024-02-29"),
    ],
)
def test_core_forms_on_the_command_line(ptype: str, day: str, line: str) -> None:
    assert invoke(ptype, day) == (0, line + "\n", "")


def test_parse_ids_to_dates() -> None:
    code, out, _ = invoke("FinancialNov", "--parse", "2010Nov")
    assert (code, out) == (0, "2010Nov 2009-11-01 2010-10-31\n")
    code, out, _ = invoke("Weekly", "--parse", "2024W01", "2020W53")
    assert (code, out) == (0, "2024W1 2024-01-01 2024-01-07\n2020W53 2020-12-28 2021-01-03\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Fortnightly", "2024-01-01"], "dhispatch: unknown period type 'Fortnightly'\n"),
        (["weekly", "2024-01-01"],
         "dhispatch: unknown period type 'weekly' (did you mean Weekly?)\n"),
        (["Monthly", "2024-02-30"],
         "dhispatch: '2024-02-30' is not a date (expected YYYY-MM-DD)\n"),
        (["Monthly", "20240201"], "dhispatch: '20240201' is not a date (expected YYYY-MM-DD)\n"),
        (["Weekly", "--parse", "2015W54"],
         "dhispatch: '2015W54' does not exist: 2015 has only 53 Weekly weeks\n"),
        (["Monthly", "--parse", "2024W1"], "dhispatch: '2024W1' is a Weekly period, not Monthly\n"),
        (["Monthly", "--parse", "2011Q12"], "dhispatch: '2011Q12' is not a DHIS2 period ID\n"),
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_line_and_exit_1(args: list[str], message: str) -> None:
    assert invoke(*args) == (1, "", message)


def test_one_bad_date_means_no_partial_output() -> None:
    code, out, err = invoke("Monthly", "2024-01-15", "tomorrow", "2024-13-01")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "dhispatch: 'tomorrow' is not a date (expected YYYY-MM-DD)",
        "dhispatch: '2024-13-01' is not a date (expected YYYY-MM-DD)",
    ]


def test_missing_dates_is_a_usage_error() -> None:
    code, _, err = invoke("Monthly")
    assert code == 2 and "Missing argument 'DATE...'" in err


def test_installed_entry_point() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dhispatch.runtime.cli.main",
            "period",
            "SixMonthlyApril",
            "2022-01-01",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "2021AprilS2 2021-10-01 2022-03-31\n",
        "",
    )
