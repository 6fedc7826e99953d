"""Foreign text made safe to show: the one sanitiser at every rendering edge.

DHIS2 messages, store and item names from the stock database and DHIS2 metadata are written by
others. Printed raw they can drive the terminal: an OSC sequence writes the clipboard or the
window title, ``\\r`` or ``\\n`` starts a fake line ("all values accepted"), bidi controls reorder
what is read. ``printable`` removes escape sequences and control characters (C0, DEL, C1, bidi
and line separators) and turns line breaks and tabs into spaces, so a foreign string is one
inert line; the CLI, the reports and the run summaries pass every foreign string through it.
"""

from __future__ import annotations

import re
from typing import Any

# CSI (ESC [ or 0x9B … final byte) and the string sequences OSC, DCS, SOS, PM, APC up to their
# terminator (BEL or ST), or to the end of the text when unterminated.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)",
    re.DOTALL,
)
_BREAKS = "\t\n\v\f\r\x85\u2028\u2029"
_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def printable(text: Any) -> str:
    """``text`` as one line without escape sequences or control characters."""
    cleaned = _SEQUENCE.sub("", str(text))
    return _CONTROLS.sub(lambda m: " " if m.group() in _BREAKS else "", cleaned)
