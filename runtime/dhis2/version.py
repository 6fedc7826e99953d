"""A DHIS2 server's version as ``/api/system/info`` reports it, and what it means for the counts
of an import (reference §0, §4; dhis2-core ``DefaultDataValueSetService``, ``DataEntrySummary``).

The sandbox has its own copy of these facts (``runtime.sandbox.versions``, which refuses versions
it cannot emulate); the client must read any version a real server reports, so it parses leniently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^\s*2\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """``2.<minor>.<patch>``; ``patch`` 0 when the server gave none."""

    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str | None) -> ServerVersion | None:
        """``2.40.4``, ``2.41-SNAPSHOT``, ``2.36.13.1`` …; None when it is not a 2.x version."""
        match = _VERSION.match(text or "")
        if match is None:
            return None
        return cls(int(match[1]), int(match[2] or 0))

    def __str__(self) -> str:
        return f"2.{self.minor}.{self.patch}"

    @property
    def generation(self) -> int:
        """36 (≤2.36: bare summary, ``{object, value}`` conflicts, derived ignored count), 37
        (bare summary, indexes), 40 (2.38–2.42 WebMessage) or 43 (2.43+ SQL pipeline)."""
        if self.minor <= 36:
            return 36
        if self.minor == 37:
            return 37
        return 40 if self.minor <= 42 else 43

    @property
    def unchanged_ignored(self) -> bool:
        """An unchanged re-sent value counts as ignored (DHIS2-15254: 2.38.6+, 2.39.5+, 2.40.3+,
        2.41, 2.42); before, it counts as updated. 2.43+ counts it as updated again."""
        if self.generation != 40:
            return False
        return {38: self.patch >= 6, 39: self.patch >= 5, 40: self.patch >= 3}.get(self.minor, True)
