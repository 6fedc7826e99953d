"""The console password: given plain (``DHISPATCH_CONSOLE_PASSWORD``) or as a salted scrypt hash
(``DHISPATCH_CONSOLE_PASSWORD_HASH``), compared in constant time.

The hash format is ``scrypt$N$r$p$SALT$KEY`` with SALT and KEY in unpadded URL-safe base64 and
KEY = ``hashlib.scrypt(password, salt=SALT, n=N, r=r, p=p, dklen=32)``; ``dhispatch console
--hash-password`` prints one (N = 2**14, r = 8, p = 1, a 16-byte random salt).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from dhispatch.runtime.console.errors import PasswordHashError

N, R, P, DKLEN = 2**14, 8, 1, 32
_MAX_N = 2**20  # a hash asking for more would make each login take seconds and much memory


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The documented hash of ``password`` (a fresh random salt unless given)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=DKLEN)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def check_hash_format(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """The parts of a stored hash, or PasswordHashError saying what is wrong (never its text)."""
    parts = stored.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PasswordHashError(
            "DHISPATCH_CONSOLE_PASSWORD_HASH is not scrypt$N$r$p$SALT$KEY "
            "(make one with: dhispatch console --hash-password)"
        )
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise PasswordHashError(
            "DHISPATCH_CONSOLE_PASSWORD_HASH has a malformed number or base64 part"
        ) from None
    if n < 2 or n > _MAX_N or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or not key:
        raise PasswordHashError(
            "DHISPATCH_CONSOLE_PASSWORD_HASH has scrypt parameters out of range "
            f"(N a power of two up to {_MAX_N}, r 1..32, p 1..16)"
        )
    return n, r, p, salt, key


class Password:
    """What a login is checked against: the plain password or its hash (never shown)."""

    def __init__(self, *, plain: str | None = None, hashed: str | None = None) -> None:
        if (plain is None) == (hashed is None):
            raise ValueError("give exactly one of plain and hashed")
        self._plain = plain
        self._hash = check_hash_format(hashed) if hashed is not None else None

    def __repr__(self) -> str:
        return "Password(***)"

    def matches(self, given: str) -> bool:
        if self._hash is not None:
            n, r, p, salt, key = self._hash
            derived = hashlib.scrypt(
                given.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(key),
                maxmem=256 * 1024 * 1024,
            )  # fmt: skip
            return hmac.compare_digest(derived, key)
        assert self._plain is not None
        return hmac.compare_digest(given.encode("utf-8"), self._plain.encode("utf-8"))
