"""Report rendering: HTML is autoescaped, Markdown tables survive pipes, unknown runs are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import Settlement
from dhispatch.runtime.report import ReportError
from dhispatch.runtime.report import render_run


def _journal_with_run(path: Path) -> tuple[Journal, int]:
    j = Journal.open(path)
    run = j.start_run("demo", "a" * 64, "push")
    payload = [{"dataElement": "DE1", "period": "202401", "orgUnit": "OU1", "value": "5",
                "store": "<b>S1</b>", "item": "I|1", "indicator": "stock_on_hand",
                "origin": "specs/x.push:3:1"}]  # fmt: skip
    bid = j.add_batch(run, "demo", "DS", "CREATE_AND_UPDATE", {}, payload)
    conflict = ConflictRow(bid, run, 0, "<b>S1</b>", "I|1", "stock_on_hand", "specs/x.push:3:1",
                           "E7600", "<script>alert(1)</script> | bad")  # fmt: skip
    answer = Settlement(frozenset(), (conflict,), frozenset({0}), http_status=409,
                        counts=(0, 0, 1, 0), seconds=0.2)  # fmt: skip
    j.batch_settled(j.due_batches("demo")[0], run, answer)
    summary = {"periods": ["202401"], "values": 1, "refused": 1,
               "per_store": {"<b>S1</b>": {"stock_on_hand": 1}},
               "timings": {"indicators": 0.1, "payload": 0.01, "journal": 0.0, "http": 0.2,
                           "total": 0.4}}  # fmt: skip
    j.finish_run(run, "conflicts", summary)
    return j, run


def test_html_is_escaped_and_complete(tmp_path: Path) -> None:
    j, run = _journal_with_run(tmp_path / "s.sqlite")
    with j:
        page = render_run(j, run, "html")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;S1&lt;/b&gt;" in page and "specs/x.push:3:1" in page and "E7600" in page
    assert "conflicts" in page and "0.200 s" in page


def test_markdown_escapes_pipes(tmp_path: Path) -> None:
    j, run = _journal_with_run(tmp_path / "s.sqlite")
    with j:
        md = render_run(j, run, "md")
    row = next(line for line in md.splitlines() if "E7600" in line)
    assert "I\\|1" in row and "\\| bad" in row and row.count(" | ") == 7  # the cause's 8 cells


def test_unknown_run_and_format(tmp_path: Path) -> None:
    j, run = _journal_with_run(tmp_path / "s.sqlite")
    with j:
        with pytest.raises(ReportError, match=f"no run 99 .*latest runs: {run}"):
            render_run(j, 99)
        with pytest.raises(ReportError, match="unknown report format"):
            render_run(j, run, "pdf")


EVIL_STORE = '<img src=x onerror="alert(1)">|S2\x1b]52;c;cHduZWQ=\x07'
EVIL_ITEM = "I2`*_[x](javascript:alert(1))\r\n| forged | row |"
EVIL_MESSAGE = "<script>alert(2)</script>\x1b[2J\rall values accepted\n| ok |"


def _journal_with_hostile_names(path: Path) -> tuple[Journal, int]:
    j = Journal.open(path)
    run = j.start_run("demo", "a" * 64, "push")
    payload = [{"dataElement": "DE2", "period": "202401", "orgUnit": "OU2", "value": "5",
                "store": EVIL_STORE, "item": EVIL_ITEM, "indicator": "stock_on_hand",
                "origin": "specs/x.push:3:1"}]  # fmt: skip
    bid = j.add_batch(run, "demo", "DS", "CREATE_AND_UPDATE", {}, payload)
    conflict = ConflictRow(bid, run, 0, EVIL_STORE, EVIL_ITEM, "stock_on_hand",
                           "specs/x.push:3:1", "E76\x1b[0m00", EVIL_MESSAGE)  # fmt: skip
    answer = Settlement(frozenset(), (conflict,), frozenset({0}), http_status=409,
                        counts=(0, 0, 1, 0), seconds=0.2)  # fmt: skip
    j.batch_settled(j.due_batches("demo")[0], run, answer)
    summary = {"periods": ["202401"], "values": 1, "refused": 1, "error": EVIL_MESSAGE,
               "per_store": {EVIL_STORE: {"stock_on_hand": 1}}}  # fmt: skip
    j.finish_run(run, "conflicts", summary)
    return j, run


def _unescaped_pipes(line: str) -> int:
    return sum(1 for i, c in enumerate(line) if c == "|" and (i == 0 or line[i - 1] != "\\"))


def test_markdown_shows_hostile_names_as_text(tmp_path: Path) -> None:
    j, run = _journal_with_hostile_names(tmp_path / "s.sqlite")
    with j:
        md = render_run(j, run, "md")
    assert "<script" not in md and "<img" not in md and "[x](javascript" not in md
    assert "\\[x\\](javascript" in md  # a link shown as text, not made
    assert "&lt;script&gt;" in md and "&lt;img src=x onerror=" in md
    assert not any(c in md for c in "\x1b\x07\r")  # one line per row, no escape sequences
    row = next(line for line in md.splitlines() if "E7600" in line)
    assert _unescaped_pipes(row) == 9  # the eight cells of a cause row, nothing forged
    store_row = next(line for line in md.splitlines() if "S2" in line and "E7600" not in line)
    assert _unescaped_pipes(store_row) == 3
    assert not any(line.startswith(("all values", "| ok", "| forged")) for line in md.splitlines())


def test_html_shows_hostile_names_as_inert_text(tmp_path: Path) -> None:
    j, run = _journal_with_hostile_names(tmp_path / "s.sqlite")
    with j:
        page = render_run(j, run, "html")
    assert "<script>alert" not in page and "<img src" not in page
    assert not any(c in page for c in "\x1b\x07\r")
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;|S2" in page
