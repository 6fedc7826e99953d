"""``dhispatch demo-data`` and ``dhispatch indicators`` end to end (click runner, real SQLite)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from click.testing import CliRunner

from dhispatch.runtime.cli.main import cli
from dhispatch.runtime.indicators import INDICATORS


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_demo_data_then_indicators(tmp_path: Path) -> None:
    db = str(tmp_path / "country.sqlite")
    code, out, _ = run(
        "demo-data",
        "-o",
        db,
        "--stores",
        "3",
        "--items",
        "4",
        "--months",
        "2",
        "--seed",
        "5",
        "--end",
        "2024-02-29",
    )
    assert code == 0
    assert "3 stores, 4 items, 2024-01-01 .. 2024-02-29" in out

    code, out, _ = run(
        "indicators",
        "--source",
        db,
        "--at",
        "2024-02-29",
        "--tz",
        "Pacific/Tarawa",
        "--org-unit",
        "custom:Dhis2Code",
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 * 4 * len(INDICATORS)
    assert set(rows[0]) == {
        "store_code", "org_unit", "item_code", "indicator", "value", "no_value_because"
    }  # fmt: skip
    # months of stock has no value where nothing was consumed, and says why
    assert {r["no_value_because"] for r in rows if not r["value"]} <= {
        "no consumption in the look-back window (AMC 0): months of stock undefined"
    }
    assert {r["store_code"] for r in rows} == {"S001", "S002", "S003"}
    # identity on every pair: end = beginning + received - issued + adjustments + repack net
    # (repacks net to zero units), so the columns of one pair must balance within rounding
    by_pair: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        by_pair.setdefault((r["store_code"], r["item_code"]), {})[r["indicator"]] = (
            float(r["value"]) if r["value"] else float("nan")
        )
    assert len(by_pair) == 12
    for values in by_pair.values():
        flows = (
            values["stock_beginning_of_month"]
            + values["received"]
            - values["issued"]
            + values["adjustments"]
        )
        assert abs(values["stock_end_of_month"] - flows) < 1e-6

    code, out, _ = run(
        "indicators",
        "--source",
        db,
        "--at",
        "2024-02-29",
        "--indicator",
        "stock_on_hand",
        "--indicator",
        "months_of_stock",
        "--store",
        "S002",
        "--item",
        "I0001",
        "--format",
        "json",
        "--months",
        "1",
    )
    assert code == 0
    records = json.loads(out)
    assert [r["indicator"] for r in records] == ["stock_on_hand", "months_of_stock"]
    assert records[0]["store_code"] == "S002" and records[0]["item_code"] == "I0001"
    assert isinstance(records[0]["value"], float)


def test_usage_errors_exit_2_and_problems_exit_1(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    assert (
        run(
            "demo-data",
            "-o",
            db,
            "--stores",
            "1",
            "--items",
            "1",
            "--months",
            "1",
            "--end",
            "2024-01-31",
        )[0]
        == 0
    )
    code, _, err = run(
        "indicators", "--source", db, "--at", "2024-01-31", "--indicator", "stock_onhand"
    )
    assert code == 2 and "did you mean stock_on_hand?" in err
    code, _, err = run("indicators", "--source", db, "--at", "31/01/2024")
    assert code == 2 and "is not a date" in err
    code, _, err = run("indicators", "--source", db, "--at", "2024-01-31", "--store", "S999")
    assert code == 2 and "no store with code S999" in err
    code, _, err = run("indicators", "--source", db, "--at", "2024-01-31", "--tz", "Mars/Base")
    assert code == 2 and "unknown time zone" in err
    code, _, err = run(
        "indicators", "--source", str(tmp_path / "none.sqlite"), "--at", "2024-01-31"
    )
    assert code == 1 and err.startswith("dhispatch: stock database") and "Traceback" not in err
    code, out, err = run(
        "indicators",
        "--source",
        "postgresql://u:CanaryPassw0rd@127.0.0.1:1/x",
        "--at",
        "2024-01-31",
    )
    assert code == 1 and "CanaryPassw0rd" not in out + err
    code, _, err = run("demo-data", "-o", str(tmp_path / "no" / "dir.sqlite"))
    assert code == 1 and "does not exist" in err


def test_demo_data_never_replaces_what_it_was_not_asked_to(tmp_path: Path) -> None:
    small = ("--stores", "1", "--items", "1", "--months", "1", "--end", "2024-01-31")
    real = tmp_path / "production-copy.sqlite"
    real.write_bytes(b"a real open mSupply database")
    code, _, err = run("demo-data", "-o", str(real), *small)
    assert code == 1 and "already exists" in err and "--force" in err
    assert real.read_bytes() == b"a real open mSupply database"

    folder = tmp_path / "folder"
    folder.mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    to_file, to_device, to_folder = (tmp_path / n for n in ("to-file", "to-device", "to-dir"))
    to_file.symlink_to(real)
    to_device.symlink_to("/dev/null")
    to_folder.symlink_to(folder)
    for path, kind in [(folder, "a directory"), (fifo, "a FIFO"), (to_file, "a symbolic link"),
                       (to_device, "a symbolic link"), (to_folder, "a symbolic link")]:  # fmt: skip
        for force in ((), ("--force",)):
            code, _, err = run("demo-data", "-o", str(path), *small, *force)
            assert code == 1 and f"is {kind}" in err, (path, err)
    assert real.read_bytes() == b"a real open mSupply database" and to_file.is_symlink()
    assert fifo.is_fifo() and to_device.is_symlink() and not any(folder.iterdir())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".demo-")] == []

    code, out, _ = run("demo-data", "-o", str(real), *small, "--force")
    assert code == 0 and "wrote" in out and real.read_bytes().startswith(b"SQLite format 3")


def test_database_passwords_never_reach_an_error_line(tmp_path: Path) -> None:
    canary = "Canary99"
    for database in (
        f"postgresql://postgres:ss@{canary}@127.0.0.1:1/omsupply",  # '@' in the password
        f"postgresql://postgres:ss@{canary}/x@127.0.0.1:1/omsupply",
        f"postgres://u:{canary}@127.0.0.1:1/x?sslmode=disable",
        f"postgresql://127.0.0.1:1/x?sslmode=disable&password={canary}",
        f"host=127.0.0.1 port=1 dbname=x password={canary}",  # libpq keyword strings
        f"host=127.0.0.1 port=1 password='{canary} with\\' spaces' dbname=x",
        f"dbname=x password = {canary}",
    ):
        code, out, err = run("indicators", "--source", database, "--at", "2024-01-31")
        assert code == 1 and err.startswith("dhispatch: ") and "Traceback" not in err, err
        assert canary not in out + err, err
    code, _, err = run("demo-data", "-o", f"postgresql://u:ss@{canary}@127.0.0.1:1/x")
    assert code == 1 and canary not in err


def test_a_refused_date_prints_one_line_and_no_output(tmp_path: Path) -> None:
    """A date after the newest movement (or after today) is refused before any output: no CSV
    header, no lone '[' of a JSON array on stdout, one line on stderr."""
    db = str(tmp_path / "c.sqlite")
    code, _, err = run("demo-data", "-o", db, "--stores", "1", "--items", "2", "--months", "1",
                       "--seed", "1", "--end", "2024-01-31")  # fmt: skip
    assert code == 0, err
    for fmt in ("csv", "json"):
        code, out, err = run("indicators", "--source", db, "--at", "2024-02-10", "--format", fmt)
        assert (code, out) == (1, "")
        assert err.startswith("dhispatch: reference date 2024-02-10 is after the data")
        assert len(err.strip().splitlines()) == 1
