"""DHIS2 versions the sandbox emulates, and the four import generations they fall into (§0)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dhispatch.errors import DhispatchError

# The patch release reported for a bare "2.NN" (a recent patch of each line).
_DEFAULT_PATCH = {36: 13, 37: 10, 38: 7, 39: 6, 40: 4, 41: 3, 42: 1, 43: 0, 44: 0}
SUPPORTED_MINORS = tuple(_DEFAULT_PATCH)


class VersionError(DhispatchError):
    """An unsupported or malformed version string."""


@dataclass(frozen=True, slots=True)
class Version:
    """An emulated server version, e.g. 2.40.4."""

    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        m = re.fullmatch(r"2\.(\d+)(?:\.(\d+))?(?:\.\d+)?(?:-SNAPSHOT)?", text.strip())
        if not m or int(m[1]) not in _DEFAULT_PATCH:
            known = ", ".join(f"2.{v}" for v in SUPPORTED_MINORS)
            raise VersionError(f"unsupported DHIS2 version {text!r} (supported: {known})")
        minor = int(m[1])
        return cls(minor, int(m[2]) if m[2] is not None else _DEFAULT_PATCH[minor])

    def __str__(self) -> str:
        return f"2.{self.minor}.{self.patch}"

    @property
    def generation(self) -> int:
        """36 (≤2.36), 37, 40 (2.38–2.42) or 43 (2.43+): the import behaviour of §0."""
        if self.minor <= 36:
            return 36
        if self.minor == 37:
            return 37
        return 40 if self.minor <= 42 else 43

    @property
    def wrapped(self) -> bool:
        """Import responses come in a WebMessage (2.38+)."""
        return self.minor >= 38

    @property
    def unchanged_ignored(self) -> bool:
        """DHIS2-15254: unchanged values are ignored on 2.38.6+, 2.39.5+, 2.40.3+, 2.41, 2.42."""
        if self.generation != 40:
            return False
        return {38: self.patch >= 6, 39: self.patch >= 5, 40: self.patch >= 3}.get(self.minor, True)

    @property
    def has_api_tokens(self) -> bool:
        return self.minor >= 37

    @property
    def has_uaa(self) -> bool:
        """The legacy /uaa/oauth/token password grant exists up to 2.41."""
        return self.minor <= 41

    @property
    def login_page(self) -> str:
        if self.minor <= 40:
            return "/dhis-web-commons/security/login.action"
        return "/dhis-web-login" if self.minor <= 42 else "/login/"
