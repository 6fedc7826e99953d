"""The one-runner-at-a-time lock: an ``flock`` on a lock file beside the journal's real file.

The lock file is named after the journal's resolved path (symlinks followed), so two runners that
reach one journal by different paths — a symlink, ``..``, a relative path — take the same lock
(a lock keyed by the path string let both push, and every cell went out twice). It is not the
journal file itself: closing any descriptor of that file would drop SQLite's own POSIX locks.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from dhispatch.runtime.journal.errors import JournalError
from dhispatch.runtime.journal.errors import explain


def lock_path_of(journal: Path) -> Path:
    """``<real path of the journal>.lock``."""
    real = Path(os.path.realpath(journal))
    return real.with_name(real.name + ".lock")


class RunnerLock:
    """Held from ``acquire`` until ``release`` (or the process ends)."""

    def __init__(self, journal: Path) -> None:
        self.path = lock_path_of(journal)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise JournalError naming the holder's pid."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise explain(exc, self.path, "lock") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise JournalError(
                f"another dhispatch runner (pid {holder}) holds {self.path}; "
                "only one push may use a journal at a time",
                "locked",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
