"""The one-runner-at-a-time lock: a file lock (``filelock``) beside the journal's real file.

The lock file is named after the journal's resolved path (symlinks followed), so two runners that
reach one journal by different paths — a symlink, ``..``, a relative path — take the same lock
(a lock keyed by the path string let both push, and every cell went out twice). It is not the
journal file itself: closing any descriptor of that file would drop SQLite's own POSIX locks.
``filelock`` takes ``flock`` on POSIX and ``msvcrt.locking`` on Windows, where many mSupply
servers run. The holder's pid goes in a sidecar file (``….lock.pid``), not in the lock file:
Windows forbids reading a locked region, and the pid is only a hint for the message.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from filelock import FileLock
from filelock import Timeout

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
        self._holder = self.path.with_name(self.path.name + ".pid")
        # not thread-local: a console's worker thread may release what its main thread took
        self._lock = FileLock(self.path, timeout=0, thread_local=False)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def acquire(self) -> None:
        """Take the lock, or raise JournalError naming the holder's pid."""
        if self._lock.is_locked:
            return
        try:
            self._lock.acquire(blocking=False)
        except Timeout:
            raise JournalError(
                f"another dhispatch runner (pid {self._holder_pid()}) holds {self.path}; "
                "only one push may use a journal at a time",
                "locked",
            ) from None
        except OSError as exc:
            raise explain(exc, self.path, "lock") from exc
        with suppress(OSError):  # the pid is a hint for the message; the lock is what counts
            self._holder.write_text(str(os.getpid()), encoding="ascii")

    def release(self) -> None:
        if self._lock.is_locked:
            with suppress(OSError):
                self._holder.unlink()
            self._lock.release(force=True)

    def _holder_pid(self) -> str:
        try:
            return self._holder.read_text(encoding="ascii").strip() or "?"
        except (OSError, UnicodeDecodeError):
            return "?"
