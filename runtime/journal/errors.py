"""The journal's one error, and the cause of a SQLite or OS failure named in one line.

A full disk, a read-only file system, a corrupt file or a journal written by a newer dhispatch are
each said for what they are (exit 1), never "internal error: OperationalError" (exit 3).
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from dhispatch.errors import DhispatchError

CAUSES = ("disk full", "read-only", "corrupt", "newer schema", "missing", "locked", "unusable")


class JournalError(DhispatchError):
    """The state database cannot be used: ``cause`` is one of ``CAUSES`` (another runner holding
    the lock is ``locked``)."""

    def __init__(self, message: str, cause: str = "unusable") -> None:
        super().__init__(message)
        self.cause = cause


def explain(exc: BaseException, path: Path, doing: str = "use") -> JournalError:
    """The JournalError of a SQLite or OS error met while ``doing`` something with ``path``."""
    text = str(exc)
    low = text.lower()
    code = exc.errno if isinstance(exc, OSError) else None
    if "disk is full" in low or "disk full" in low or code == errno.ENOSPC:
        return JournalError(
            f"cannot {doing} the journal {path}: the disk holding it is full (free space and "
            "run again; nothing recorded so far is lost)",
            "disk full",
        )
    if "disk i/o error" in low or code == errno.EIO or code == errno.EFBIG:
        return JournalError(
            f"cannot {doing} the journal {path}: the disk failed a write ({text}): it is full, "
            "over a size limit, or failing; nothing recorded so far is lost",
            "disk full",
        )
    if "readonly" in low or "read-only" in low or code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return JournalError(
            f"cannot {doing} the journal {path}: it is read-only ({text}); a push must be able "
            "to write it (log, report and plan only read)",
            "read-only",
        )
    if "malformed" in low or "not a database" in low or "corrupt" in low:
        return JournalError(
            f"the journal {path} is corrupt ({text}): restore it from a backup, or move it "
            "aside to start a new one (which resends everything once)",
            "corrupt",
        )
    if "locked" in low or "busy" in low:
        return JournalError(
            f"cannot {doing} the journal {path}: another process keeps it locked ({text})",
            "locked",
        )
    return JournalError(f"cannot {doing} the journal {path}: {text}")


def is_storage_error(exc: BaseException) -> bool:
    """Errors ``explain`` can name (sqlite3 and OS errors)."""
    return isinstance(exc, sqlite3.Error | OSError)
