"""The one sanitiser of foreign text: escape sequences and control characters never survive."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime.printable import printable

CASES = [
    ("plain text, ünïcode ✓", "plain text, ünïcode ✓"),
    ("a\x1b]52;c;cHduZWQ=\x07b", "ab"),  # OSC 52: write the clipboard (BEL-terminated)
    ("a\x1b]0;title\x1b\\b", "ab"),  # OSC 0: window title (ST-terminated)
    ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # hyperlink
    ("a\x1b[2J\x1b[31mred\x1b[0mb", "aredb"),  # CSI: clear screen, colours
    ("a\x9b31mb\x9d0;t\x9cc", "abc"),  # the C1 forms of CSI, OSC and ST
    ("a\x1b]0;never terminated", "a"),
    ("ok\rdhispatch: all values accepted", "ok dhispatch: all values accepted"),
    ("one\r\ntwo\tthree\x0bfour\x0cfive\x85six\u2028seven", "one  two three four five six seven"),
    ("a\x00b\x07c\x08d\x7fe\x1bf", "abcdef"),
    ("abc\u202edcba\u2066x\u2069\u200e", "abcdcbax"),  # bidi overrides and isolates
    (None, "None"),
    (12.5, "12.5"),
]


@pytest.mark.parametrize(("raw", "shown"), CASES)
def test_printable(raw: object, shown: str) -> None:
    assert printable(raw) == shown


@given(st.text())
def test_nothing_that_drives_a_terminal_survives(text: str) -> None:
    out = printable(text)
    assert re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out) is None
    assert printable(out) == out
